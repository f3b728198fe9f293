package chat

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/proto"
)

func testGate(t *testing.T) *gate {
	cfg, err := Config{Dir: "unused"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return newGate(cfg, budget{left: cfg.JumpBudget})
}

// allowed counts how many of n messages from member id at Lamport time l
// pass at time now.
func allowed(g *gate, id proto.ID, l uint64, n int, now time.Time) int {
	ok := 0
	for range n {
		if g.fromMember(id, l, now) {
			ok++
		}
	}
	return ok
}

// A member's pushes pass at PeerRate after a burst of PeerBurst; the
// answers to our sync request pass on top, within its range and time.
func TestMemberRate(t *testing.T) {
	g := testGate(t)
	id := proto.ID(uuid.New())
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if n := allowed(g, id, 1, 100, t0); n != DefaultPeerBurst {
		t.Errorf("burst: %d passed, want %d", n, DefaultPeerBurst)
	}
	if n := allowed(g, id, 1, 100, t0.Add(10*time.Second)); n != 20 {
		t.Errorf("10 s later: %d passed, want 20", n)
	}
	now := t0.Add(10 * time.Second)
	g.asked(id, 100, 200, now)
	if n := allowed(g, id, 50, 10, now); n != 0 {
		t.Errorf("outside the range we asked for: %d passed, want 0", n)
	}
	if n := allowed(g, id, 150, 100, now); n != DefaultMaxPerRound {
		t.Errorf("answers: %d passed, want %d", n, DefaultMaxPerRound)
	}
	g.asked(id, 100, 200, now)
	if n := allowed(g, id, 150, 10, now.Add(DefaultSyncInterval+time.Millisecond)); n != 4 {
		t.Errorf("answers after the interval: %d passed, want 4 (the member's rate for 2 s)", n)
	}
}

// An author's messages pass at AuthorRate after a burst, whoever relays
// them; authors are independent.
func TestAuthorRate(t *testing.T) {
	g := testGate(t)
	a, b := uuid.New(), uuid.New()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for range 100 {
		if g.fromAuthor(a, t0) {
			n++
		}
	}
	if n != DefaultAuthorBurst || !g.fromAuthor(b, t0) || g.fromAuthor(a, t0) || !g.fromAuthor(a, t0.Add(time.Second)) {
		t.Errorf("author a: %d of 100 in a burst (want %d); b and a second later must pass", n, DefaultAuthorBurst)
	}
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

// A member that asks for sync fifty times at once gets SyncBurst answers.
func TestSyncRequestsLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, chats, bad := mixedRoom(t, coretest.Options{Nodes: 2}, Config{SyncInterval: time.Hour},
			func(i int) bool { return i == 1 })
		net.WaitMembers(DefaultName)
		for i := range 10 {
			mustPost(t, chats[0], fmt.Sprint(i))
		}
		for range 50 {
			bad[1].claim(t, net.Node(0).ID, 0)
		}
		time.Sleep(time.Second / 4)
		if s := chats[0].Stats(); s.SyncsServed != DefaultSyncBurst || s.SyncLimited != 50-DefaultSyncBurst {
			t.Errorf("answered %d, refused %d sync requests; want %d and %d", s.SyncsServed, s.SyncLimited, DefaultSyncBurst, 50-DefaultSyncBurst)
		}
	})
}
