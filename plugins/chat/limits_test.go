package chat

import (
	"testing"

	"github.com/google/uuid"
)

// The refused set keeps the last refusedLen IDs and answers by range.
func TestRefusedSet(t *testing.T) {
	r := refusedSet{at: map[[16]byte]int{}}
	first := uuid.New()
	r.add(idAt{id: first, lamport: 5})
	for i := range refusedLen - 1 {
		r.add(idAt{id: uuid.New(), lamport: uint64(100 + i)})
	}
	in := func(lo, hi uint64) []uuid.UUID {
		var ids []uuid.UUID
		for _, x := range r.list() {
			if x.lamport >= lo && x.lamport <= hi {
				ids = append(ids, x.id)
			}
		}
		return ids
	}
	if ids := in(0, 10); len(ids) != 1 || ids[0] != first {
		t.Fatalf("in [0, 10]: %v, want the first", ids)
	}
	r.add(idAt{id: first, lamport: 5}) // again: no second slot
	r.add(idAt{id: uuid.New(), lamport: 7})
	if ids := in(0, 10); len(ids) != 1 || ids[0] == first {
		t.Errorf("in [0, 10] once full: %v, want only the newest", ids)
	}
	if len(r.at) != refusedLen {
		t.Errorf("%d IDs held, want %d", len(r.at), refusedLen)
	}
}
