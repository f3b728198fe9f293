package chat

// refusedLen is how many IDs refused for good our sync requests say we
// have.
const refusedLen = 1024

// gate holds what the chat remembers of the messages it refused. It is
// bounded, and the Chat's mutex guards it.
type gate struct {
	refused refusedSet
}

func newGate() *gate {
	return &gate{refused: refusedSet{at: map[[16]byte]int{}}}
}

// refusedSet holds the last refusedLen messages refused or deleted for
// good (under the retention floor, or an author's oldest beyond its
// quota). Our sync requests put them in their filters, so that members do
// not send them again and again, each time ahead of what we lack.
type refusedSet struct {
	ring [refusedLen]idAt
	next int
	at   map[[16]byte]int // ID -> its slot
}

// add remembers x, forgetting the oldest entry when full.
func (r *refusedSet) add(x idAt) {
	if _, ok := r.at[x.id]; ok {
		return
	}
	if old := r.ring[r.next]; r.at[old.id] == r.next {
		delete(r.at, old.id)
	}
	r.ring[r.next], r.at[x.id] = x, r.next
	r.next = (r.next + 1) % refusedLen
}

// list returns a copy of the set.
func (r *refusedSet) list() []idAt {
	out := make([]idAt, 0, len(r.at))
	for _, slot := range r.at {
		out = append(out, r.ring[slot])
	}
	return out
}
