package chat

import (
	"bytes"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ageSteps is how finely MaxAge is measured: the store notes its clock
// once per step of MaxAge/ageSteps (7.2 hours by default), so a message
// goes between MaxAge and MaxAge plus one step after it was stored, and
// the clock bucket holds at most about ageSteps notes.
const ageSteps = 100

// outcome says what became of a message given to add.
type outcome int

const (
	stored    outcome = iota
	duplicate         // already held
	tooOld            // at or below the retention floor, or the oldest message at once
	overQuota         // its author's oldest message at once
)

// added is what add did.
type added struct {
	outcome outcome
	evicted []idAt // other messages of the same author deleted for its quota
	pruned  int    // messages deleted by retention
	clock   uint64 // the store's clock after
}

// idAt is a message ID with its Lamport time.
type idAt struct {
	id      [16]byte
	lamport uint64
}

// add stores m (body is its encoding) durably, then enforces its author's
// quota and retention, oldest first, in the same transaction; a large
// excess (an old file's first write) is deleted over several. jump, if not
// nil, is the jump budget to store with it.
func (s *store) add(m *Message, body []byte, now time.Time, jump *budget) (added, error) {
	var a added
	k := keyOf(m)
	more := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		md := readMeta(tx)
		a.clock = md.clock
		if tx.Bucket(bucketIDs).Get(m.ID[:]) != nil {
			a.outcome = duplicate
			return nil
		}
		if m.Lamport <= md.floor {
			a.outcome = tooOld
			return nil
		}
		if jump != nil {
			md.jumpLeft, md.jumpAt, md.jumpSet = jump.left, uint64(jump.at.UnixNano()), true
		}
		if err := tx.Bucket(bucketMessages).Put(k, body); err != nil {
			return err
		}
		if err := index(tx, k, len(body), &md); err != nil {
			return err
		}
		if err := s.quota(tx, k, &md, &a); err != nil {
			return err
		}
		var err error
		if more, err = s.retain(tx, now, &md, &a); err != nil {
			return err
		}
		if tx.Bucket(bucketIDs).Get(m.ID[:]) == nil && a.outcome == stored {
			a.outcome = tooOld
		}
		a.clock = md.clock
		return md.write(tx)
	})
	for err == nil && more {
		err = s.db.Update(func(tx *bolt.Tx) error {
			md := readMeta(tx)
			var err error
			if more, err = s.retain(tx, now, &md, &a); err != nil {
				return err
			}
			return md.write(tx)
		})
	}
	if err == nil && a.outcome == stored && !s.holds(m) {
		a.outcome = tooOld // retention took it in a later batch
	}
	return a, err
}

// holds reports whether m is still stored; an error says no.
func (s *store) holds(m *Message) bool {
	ok, _ := s.has(m.ID)
	return ok
}

// quota deletes the oldest messages of the author of the message just
// added (order key k) while the author is over MaxAuthorMessages or
// MaxAuthorBytes. If that deletes k itself, the outcome is overQuota.
func (s *store) quota(tx *bolt.Tx, k []byte, md *meta, a *added) error {
	author := keyAuthor(k)
	c := tx.Bucket(bucketAuthors).Cursor()
	for {
		n, b := usage(tx, author)
		if n <= uint64(s.lim.MaxAuthorMessages) && b <= uint64(s.lim.MaxAuthorBytes) {
			return nil
		}
		ak, _ := c.Seek(author)
		if ak == nil || !bytes.HasPrefix(ak, author) {
			return nil // cannot happen: usage counts what authors holds
		}
		old := bytes.Clone(ak[len(author):])
		if err := remove(tx, old, md); err != nil {
			return err
		}
		if bytes.Equal(old, k) {
			a.outcome = overQuota
			continue
		}
		a.evicted = append(a.evicted, idAt{id: [16]byte(keyID(old)), lamport: keyLamport(old)})
	}
}

// retain deletes the oldest messages while the store is over MaxMessages
// or MaxBytes or holds messages older than MaxAge, at most batch of them,
// and reports whether more must go. It deletes whole Lamport times and
// raises the floor past them: a time at or below the floor is refused from
// then on, so that sync does not bring back what retention deleted.
func (s *store) retain(tx *bolt.Tx, now time.Time, md *meta, a *added) (more bool, err error) {
	aged, err := s.ageFloor(tx, now, md.clock)
	if err != nil {
		return false, err
	}
	md.floor = max(md.floor, aged)
	c := tx.Bucket(bucketMessages).Cursor()
	deleted := 0
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		l := keyLamport(k)
		if l > md.floor && md.count <= uint64(s.lim.MaxMessages) && md.bytes <= uint64(s.lim.MaxBytes) {
			return false, nil
		}
		if deleted == batch {
			return true, nil
		}
		if err := remove(tx, bytes.Clone(k), md); err != nil {
			return false, err
		}
		md.floor = max(md.floor, l)
		deleted++
		a.pruned++
	}
	return false, nil
}

// ageFloor keeps the clock bucket's notes and returns the clock of the
// newest note that is over MaxAge old (0 if none), deleting the notes up
// to it: every Lamport time at or below it was reached longer than MaxAge
// ago. A note is (the first write of a step, the clock after the step's
// last write): so it counts as taken a step after its time, and a message
// goes between MaxAge and MaxAge plus one step after it was stored, never
// before.
func (s *store) ageFloor(tx *bolt.Tx, now time.Time, clock uint64) (uint64, error) {
	step := s.lim.MaxAge / ageSteps
	b := tx.Bucket(bucketClock)
	c := b.Cursor()
	k, _ := c.Last()
	if k == nil || now.Sub(time.Unix(0, int64(u64(k)))) >= step {
		k = be64(uint64(now.UnixNano()))
	}
	if err := b.Put(bytes.Clone(k), be64(clock)); err != nil {
		return 0, err
	}
	cut := now.Add(-s.lim.MaxAge - step).UnixNano()
	var floor uint64
	var old [][]byte
	for k, v := c.First(); k != nil && int64(u64(k)) <= cut; k, v = c.Next() {
		floor = u64(v)
		old = append(old, bytes.Clone(k))
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return floor, nil
}

// remove deletes the message under order key k from every bucket.
func remove(tx *bolt.Tx, k []byte, md *meta) error {
	msgs := tx.Bucket(bucketMessages)
	size := uint64(len(msgs.Get(k)))
	if err := msgs.Delete(k); err != nil {
		return err
	}
	if err := tx.Bucket(bucketIDs).Delete(keyID(k)); err != nil {
		return err
	}
	author := keyAuthor(k)
	if err := tx.Bucket(bucketAuthors).Delete(append(bytes.Clone(author), k...)); err != nil {
		return err
	}
	n, b := usage(tx, author)
	if err := setUsage(tx, author, n-min(n, 1), b-min(b, size)); err != nil {
		return err
	}
	md.count -= min(md.count, 1)
	md.bytes -= min(md.bytes, size)
	return nil
}
