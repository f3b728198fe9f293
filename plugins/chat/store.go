package chat

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// StoreFile is the name of the history database inside Config.Dir.
const StoreFile = "chat.db"

// bucket holds the history: order key (see Message.key) to encoded message.
var bucket = []byte("messages")

// store keeps the history in bbolt. Every add is its own transaction, and a
// bbolt commit is fsynced before it returns: a message we acknowledged (an
// API answer, a sync answer) survives a kill -9 or a power cut.
type store struct{ db *bolt.DB }

// openStore opens (or creates) dir/chat.db and returns the messages it holds
// in history order. A second process on the same file fails after a second
// instead of waiting forever for the lock.
func openStore(dir string) (*store, []Message, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("chat: %w", err)
	}
	path := filepath.Join(dir, StoreFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, nil, fmt.Errorf("chat: opening %s: %w", path, err)
	}
	var msgs []Message
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			m, err := decodeMessage(v)
			if err != nil {
				// A record we wrote ourselves; it could only be damaged by
				// something outside walkie. Skip it rather than refuse to
				// start: peers will send it again.
				return nil
			}
			msgs = append(msgs, m)
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("chat: reading %s: %w", path, err)
	}
	return &store{db: db}, msgs, nil
}

// add writes one message durably.
func (s *store) add(m *Message) error {
	k := m.key()
	v := m.encode()
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Put(k[:], v)
	})
}

func (s *store) close() error { return s.db.Close() }
