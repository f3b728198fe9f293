package chat

import (
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/walkie-p2p/walkie/proto"
)

// The limits on what members send (docs/security.md, "Chat limits"). They
// know an author and a member only by ID, not by what proves it, so that
// they hold as they are once messages are signed.
const (
	maxPeers   = 256             // members tracked: core keeps at most 256 verified peers
	maxAuthors = 1024            // authors whose rate is tracked; the table is cleared when full
	highWindow = 5 * time.Minute // how long what a member showed of its clock counts
	refusedLen = 1024            // IDs refused for good that our sync requests say we have
)

// member is what the gate knows of one member (the peer that sent a
// datagram, whoever wrote the message).
type member struct {
	push, sync *rate.Limiter
	credit     int       // answers to our last sync request to it still expected
	lo, hi     uint64    // that request's range
	until      time.Time // when they stop being expected
	high       uint64    // the largest Lamport time it showed us within highWindow
	highAt     time.Time
}

// gate holds the rate limits, the clock reference and the jump budget. It
// is bounded: maxPeers members, maxAuthors authors, refusedLen IDs. The
// Chat's mutex guards it.
type gate struct {
	cfg     Config
	members map[proto.ID]*member
	authors map[uuid.UUID]*rate.Limiter
	refused refusedSet
	budget  budget
}

func newGate(cfg Config, b budget) *gate {
	return &gate{cfg: cfg, members: map[proto.ID]*member{}, authors: map[uuid.UUID]*rate.Limiter{},
		refused: refusedSet{at: map[[16]byte]int{}}, budget: b}
}

// member returns id's entry, making one (and dropping another if the table
// is full: members come and go, the table must not grow).
func (g *gate) member(id proto.ID) *member {
	m := g.members[id]
	if m == nil {
		if len(g.members) >= maxPeers {
			for k := range g.members {
				delete(g.members, k)
				break
			}
		}
		m = &member{
			push: rate.NewLimiter(rate.Limit(g.cfg.PeerRate), g.cfg.PeerBurst),
			sync: rate.NewLimiter(rate.Limit(g.cfg.SyncRate), g.cfg.SyncBurst),
		}
		g.members[id] = m
	}
	return m
}

// saw notes that member id showed a Lamport time l: in a message, or as a
// bound of its clock in a sync request.
func (g *gate) saw(id proto.ID, l uint64, now time.Time) {
	m := g.member(id)
	if now.Sub(m.highAt) > highWindow {
		m.high = 0
	}
	m.high, m.highAt = max(m.high, l), now
}

// vouched is the second-highest of what distinct members showed of their
// clocks within highWindow: a value that one member alone cannot raise.
func (g *gate) vouched(now time.Time) uint64 {
	var first, second uint64
	for _, m := range g.members {
		if now.Sub(m.highAt) > highWindow {
			continue
		}
		switch {
		case m.high > first:
			first, second = m.high, first
		case m.high > second:
			second = m.high
		}
	}
	return second
}

// reference is the clock reference: our own clock, or what two members
// vouch for if that is more.
func (g *gate) reference(clock uint64, now time.Time) uint64 {
	return max(clock, g.vouched(now))
}

// admitTime checks a Lamport time l against the reference. A time at most
// MaxAhead past our clock is admitted. One further ahead is admitted only
// if two members vouch for the room being that far (l at most MaxAhead
// past the reference) and the jump budget pays for the whole move of the
// clock; then jump is true and the budget is spent.
func (g *gate) admitTime(clock, l uint64, now time.Time) (jump, ok bool) {
	if l <= clock+g.cfg.MaxAhead {
		return false, true
	}
	ref := g.vouched(now)
	if ref <= clock || l > ref+g.cfg.MaxAhead {
		return false, false
	}
	return true, g.budget.spend(l-clock, g.cfg.JumpBudget, now)
}

// fromMember reports whether a message with Lamport time l from member id
// may pass: as one of the answers to our last sync request to it (in its
// range, in time), or within the member's rate.
func (g *gate) fromMember(id proto.ID, l uint64, now time.Time) bool {
	m := g.member(id)
	if m.credit > 0 && !now.After(m.until) && l >= m.lo && l <= m.hi {
		m.credit--
		return true
	}
	return m.push.AllowN(now, 1)
}

// asked notes that we sent member id a sync request for [lo, hi]: it may
// answer with MaxPerRound messages during one SyncInterval.
func (g *gate) asked(id proto.ID, lo, hi uint64, now time.Time) {
	m := g.member(id)
	m.credit, m.lo, m.hi, m.until = g.cfg.MaxPerRound, lo, hi, now.Add(g.cfg.SyncInterval)
}

// syncAllowed reports whether a sync request of member id may be answered.
func (g *gate) syncAllowed(id proto.ID, now time.Time) bool {
	return g.member(id).sync.AllowN(now, 1)
}

// fromAuthor reports whether a new message by author may pass its rate.
func (g *gate) fromAuthor(author uuid.UUID, now time.Time) bool {
	l := g.authors[author]
	if l == nil {
		if len(g.authors) >= maxAuthors {
			clear(g.authors) // a fresh limiter is a full one: this only ever lets more through
		}
		l = rate.NewLimiter(rate.Limit(g.cfg.AuthorRate), g.cfg.AuthorBurst)
		g.authors[author] = l
	}
	return l.AllowN(now, 1)
}

// budget is the jump budget: how far vouched messages may still move the
// clock. It refills at JumpBudget per JumpPeriod, up to JumpBudget, and is
// kept in the store so that a restart does not refill it.
type budget struct {
	left uint64    // at time at
	at   time.Time // when it was last spent
}

// now returns what is left at time t.
func (b budget) now(capacity uint64, t time.Time) uint64 {
	if !t.After(b.at) {
		return b.left
	}
	refill := float64(capacity) * float64(t.Sub(b.at)) / float64(JumpPeriod)
	if refill >= float64(capacity-min(capacity, b.left)) {
		return capacity
	}
	return b.left + uint64(refill)
}

// spend takes n from the budget if it holds that much.
func (b *budget) spend(n, capacity uint64, t time.Time) bool {
	left := b.now(capacity, t)
	if n > left {
		return false
	}
	b.left, b.at = left-n, t
	return true
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
