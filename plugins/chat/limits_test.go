package chat

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/proto"
)

func testGate(t *testing.T) *gate {
	cfg, err := Config{Dir: "unused"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return newGate(cfg, budget{left: cfg.JumpBudget})
}

// One member alone cannot raise the vouched value; two can; what members
// showed counts for highWindow only.
func TestVouched(t *testing.T) {
	g := testGate(t)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	liar, h1, h2 := proto.ID(uuid.New()), proto.ID(uuid.New()), proto.ID(uuid.New())
	g.saw(liar, 1<<40, t0)
	if v := g.vouched(t0); v != 0 {
		t.Errorf("one liar: vouched %d, want 0", v)
	}
	g.saw(h1, 5000, t0)
	g.saw(h2, 4990, t0)
	g.saw(h2, 10, t0) // lower times do not lower a member's high
	if v := g.vouched(t0); v != 5000 {
		t.Errorf("a liar and two honest members: vouched %d, want 5000", v)
	}
	if _, ok := g.admitTime(0, 1<<40, t0); ok {
		t.Error("the liar's time passed")
	}
	if jump, ok := g.admitTime(0, 5003, t0); !jump || !ok {
		t.Errorf("an honest time near the vouched one: jump %v, ok %v; want a paid jump", jump, ok)
	}
	if _, ok := g.admitTime(5003, 5003+DefaultMaxAhead+1, t0); ok {
		t.Error("a time past MaxAhead without vouching passed")
	}
	g.saw(h1, 6000, t0.Add(highWindow))
	if v := g.vouched(t0.Add(highWindow + time.Second)); v != 0 {
		t.Errorf("after highWindow: vouched %d, want 0 (one member left in the window)", v)
	}
}

// The jump budget refills at JumpBudget per JumpPeriod, up to JumpBudget.
func TestBudget(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	b := budget{left: 1000, at: t0}
	if !b.spend(900, 1000, t0) || b.spend(200, 1000, t0) {
		t.Fatalf("spent 900 then 200 of 1000: %+v", b)
	}
	if got := b.now(1000, t0.Add(JumpPeriod/10)); got != 200 {
		t.Errorf("a tenth of a period later: %d left, want 200", got)
	}
	if got := b.now(1000, t0.Add(5*JumpPeriod)); got != 1000 {
		t.Errorf("five periods later: %d left, want 1000", got)
	}
}

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
