package chat

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/walkie-p2p/walkie/community"
)

// StoreFile is the name of the history database inside Config.Dir.
const StoreFile = "chat.db"

// Buckets of chat.db. Version 1 had only messages; version 2 adds the
// others, built from it when an old file opens (migrate). A message's
// encoding is its body: signed (chat protocol version 2), or unsigned, as
// chat protocol version 1 stored it; both versions of the file hold either.
var (
	bucketMessages = []byte("messages") // order key (Message.key) -> encoded message
	bucketIDs      = []byte("ids")      // message ID -> 1: what we hold (bbolt's Get cannot tell an empty value from none)
	bucketAuthors  = []byte("authors")  // author ‖ order key -> nothing: each author's messages, in order
	bucketUsage    = []byte("usage")    // author -> messages ‖ bytes (two uint64): an author's share
	bucketClock    = []byte("clock")    // unix ns -> the store's clock then: what MaxAge measures with
	bucketMeta     = []byte("meta")     // the meta* keys -> uint64
)

// Keys of the meta bucket; every value is a big-endian uint64.
var (
	metaVersion  = []byte("version")
	metaCount    = []byte("count")     // messages in the store
	metaBytes    = []byte("bytes")     // their encoded bytes
	metaClock    = []byte("clock")     // the largest Lamport time ever stored
	metaFloor    = []byte("floor")     // retention deleted every message at or below this time
	metaJumpLeft = []byte("jump-left") // the jump budget left (absent: full)
	metaJumpAt   = []byte("jump-at")   // when it was last spent, unix ns
	bucketsV2    = [][]byte{bucketIDs, bucketAuthors, bucketUsage, bucketClock, bucketMeta}
	storeVersion = uint64(2)
)

// poisoned is the Lamport time above which a message found in an old file
// is dropped when it opens: no honest room gets there (at a million
// messages a second it would take 142 years), only the attack that locked
// rooms before the clock had limits (MaxLamport itself).
const poisoned = MaxLamport / 2

// batch is how many records one transaction migrates or deletes, so that a
// large old file never needs one huge transaction in memory.
const batch = 1000

// store keeps the history in bbolt and reads it on demand: nothing of it
// stays in memory. Every add is its own transaction, and a bbolt commit is
// fsynced before it returns: a message we acknowledged (an API answer, a
// sync answer) survives a kill -9 or a power cut.
type store struct {
	db  *bolt.DB
	lim Config       // the retention and quota fields
	cid community.ID // the room's: signed messages' IDs derive from it
}

// meta is the meta bucket's contents.
type meta struct {
	count, bytes, clock, floor uint64
	jumpLeft, jumpAt           uint64
	jumpSet                    bool // jumpLeft was stored
}

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func readMeta(tx *bolt.Tx) meta {
	b := tx.Bucket(bucketMeta)
	m := meta{count: u64(b.Get(metaCount)), bytes: u64(b.Get(metaBytes)), clock: u64(b.Get(metaClock)),
		floor: u64(b.Get(metaFloor)), jumpAt: u64(b.Get(metaJumpAt))}
	if v := b.Get(metaJumpLeft); v != nil {
		m.jumpLeft, m.jumpSet = u64(v), true
	}
	return m
}

func (m meta) write(tx *bolt.Tx) error {
	b := tx.Bucket(bucketMeta)
	for k, v := range map[string]uint64{string(metaCount): m.count, string(metaBytes): m.bytes,
		string(metaClock): m.clock, string(metaFloor): m.floor, string(metaJumpAt): m.jumpAt} {
		if err := b.Put([]byte(k), be64(v)); err != nil {
			return err
		}
	}
	if m.jumpSet {
		return b.Put(metaJumpLeft, be64(m.jumpLeft))
	}
	return nil
}

// Parts of an order key.
func keyLamport(k []byte) uint64 { return binary.BigEndian.Uint64(k[:8]) }
func keyAuthor(k []byte) []byte  { return k[8:24] }
func keyID(k []byte) []byte      { return k[24:keyLen] }

// openStore opens (or creates) dir/chat.db, migrating a version 1 file. A
// second process on the same file fails after a second instead of waiting
// forever for the lock.
func openStore(dir string, lim Config) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	path := filepath.Join(dir, StoreFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("chat: opening %s: %w", path, err)
	}
	s := &store{db: db, lim: lim, cid: community.IDFromName(lim.Name)}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("chat: reading %s: %w", path, err)
	}
	return s, nil
}

// migrate builds the version 2 buckets from the messages of an older file
// (or creates them in a new one), in batches. It starts over if a previous
// run was cut short: the version is written last. Every message is kept,
// unsigned ones too, but for records that do not decode (only damage
// outside walkie makes them; peers send them again) and poisoned ones.
// Retention applies from the next write on.
func (s *store) migrate() error {
	var version uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketMessages); err != nil {
			return err
		}
		if b := tx.Bucket(bucketMeta); b != nil {
			version = u64(b.Get(metaVersion))
		}
		if version >= storeVersion {
			return nil
		}
		for _, name := range bucketsV2 {
			if tx.Bucket(name) != nil {
				if err := tx.DeleteBucket(name); err != nil {
					return err
				}
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || version >= storeVersion {
		return err
	}
	var after []byte // the last key migrated
	for done := false; !done; {
		err := s.db.Update(func(tx *bolt.Tx) error {
			md := readMeta(tx)
			msgs := tx.Bucket(bucketMessages)
			c := msgs.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			var drop [][]byte
			n := 0
			for ; k != nil && n < batch; k, v = c.Next() {
				n++
				after = bytes.Clone(k)
				m, err := decodeStored(s.cid, v)
				if err != nil || m.Lamport > poisoned || len(k) != keyLen || !bytes.Equal(k, keyOf(&m)) {
					drop = append(drop, after)
					continue
				}
				if err := index(tx, k, len(v), &md); err != nil {
					return err
				}
			}
			done = k == nil
			for _, k := range drop {
				if err := msgs.Delete(k); err != nil {
					return err
				}
			}
			if done {
				if err := tx.Bucket(bucketMeta).Put(metaVersion, be64(storeVersion)); err != nil {
					return err
				}
			}
			return md.write(tx)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// keyOf returns m's order key as a slice.
func keyOf(m *Message) []byte {
	k := m.key()
	return k[:]
}

// index adds the message stored under order key k (size bytes) to the
// other buckets and to md.
func index(tx *bolt.Tx, k []byte, size int, md *meta) error {
	if err := tx.Bucket(bucketIDs).Put(keyID(k), []byte{1}); err != nil {
		return err
	}
	if err := tx.Bucket(bucketAuthors).Put(append(bytes.Clone(keyAuthor(k)), k...), nil); err != nil {
		return err
	}
	n, b := usage(tx, keyAuthor(k))
	if err := setUsage(tx, keyAuthor(k), n+1, b+uint64(size)); err != nil {
		return err
	}
	md.count++
	md.bytes += uint64(size)
	md.clock = max(md.clock, keyLamport(k))
	return nil
}

// usage returns an author's messages and bytes in the store.
func usage(tx *bolt.Tx, author []byte) (n, b uint64) {
	v := tx.Bucket(bucketUsage).Get(author)
	if len(v) != 16 {
		return 0, 0
	}
	return u64(v[:8]), u64(v[8:])
}

func setUsage(tx *bolt.Tx, author []byte, n, b uint64) error {
	if n == 0 {
		return tx.Bucket(bucketUsage).Delete(author)
	}
	return tx.Bucket(bucketUsage).Put(author, binary.BigEndian.AppendUint64(be64(n), b))
}

// has reports whether the store holds a message with id.
func (s *store) has(id uuid.UUID) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketIDs).Get(id[:]) != nil
		return nil
	})
	return ok, err
}

// meta returns the meta bucket's contents.
func (s *store) meta() (meta, error) {
	var md meta
	err := s.db.View(func(tx *bolt.Tx) error { md = readMeta(tx); return nil })
	return md, err
}

// page returns up to limit messages before the order key before (from the
// newest if before is nil), in history order, and whether older ones exist.
func (s *store) page(before []byte, limit int) (msgs []Message, more bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMessages).Cursor()
		var k, v []byte
		if before == nil {
			k, v = c.Last()
		} else if k, _ = c.Seek(before); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && len(msgs) < limit; k, v = c.Prev() {
			if m, err := decodeStored(s.cid, v); err == nil {
				msgs = append(msgs, m)
			}
		}
		more = k != nil
		return nil
	})
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, more, err
}

// all returns the whole history, in order.
func (s *store) all() ([]Message, error) {
	var msgs []Message
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMessages).ForEach(func(_, v []byte) error {
			if m, err := decodeStored(s.cid, v); err == nil {
				msgs = append(msgs, m)
			}
			return nil
		})
	})
	return msgs, err
}

func (s *store) close() error { return s.db.Close() }
