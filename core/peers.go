package core

import (
	"crypto/ed25519"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/walkie-p2p/walkie/proto"
)

// peer is a verified peer: it proved that it receives packets at addr, by
// answering our request or by echoing a token we sent there. The worker
// owns it; only seen is read by other goroutines (Status).
type peer struct {
	id          proto.ID
	addr        netip.AddrPort // where we reach it: the source of its packets
	lan         netip.AddrPort // its own LAN address, as it told us
	communities []proto.ID
	token       []byte // the last token it issued to us, echoed in our requests
	added       time.Time
	lastHeard   time.Time
	seen        atomic.Int64 // lastHeard in Unix nanoseconds, for the published view
	lastSent    time.Time
	cursor      int           // round-robin position of the next invitee we name to it
	symmetric   bool          // it said its NAT is symmetric
	nat         proto.NATHint // its NAT, as it announced it: passed on when we introduce it
	natAt       time.Time     // when it announced nat
	ticket      proto.Ticket  // its signed word for where port prediction may aim at it (punch.go)
	quiet       bool          // it pays for every packet: walk to it only when nobody else is left
	reach       proto.Reach   // the IP families it sends to (family.go)
	seed        bool          // it speaks the seed protocol: seed nodes may be introduced to it (seed.go)
	roamed      bool          // its sealed packets came from addr, which it has not proved yet (roam)
	punctures   *rate.Limiter // puncture requests we honour from it
	// doubt: we slept since we last heard it (wake); until it answers a
	// request we sent since, what arrives from it does not count as
	// hearing it: it may have waited in our socket buffer while the peer
	// gave up on us.
	doubt bool
	// key and sess: a peer that proved its key in a handshake has both;
	// what we send it is sealed in sess. prev is the session sess replaced,
	// which still opens what was in flight until prevUntil.
	key       ed25519.PublicKey
	sess      *session
	prev      *session
	prevUntil time.Time
}

// authenticated reports whether the peer proved its key.
func (p *peer) authenticated() bool { return p.sess != nil }

// heard records that the peer spoke at now; not while we doubt it (see
// confirm).
func (p *peer) heard(now time.Time) {
	if p.doubt {
		return
	}
	p.lastHeard = now
	p.seen.Store(now.UnixNano())
}

// confirm records that the peer answered a request of ours, or finished
// a handshake with us, at now: whatever we doubted, it hears us now.
func (p *peer) confirm(now time.Time) {
	p.doubt = false
	p.heard(now)
}

// candidate is a peer somebody introduced to us that has not proved anything
// yet: a place to walk to, never a peer.
type candidate struct {
	id       proto.ID
	lan, wan netip.AddrPort
	added    time.Time
}

// invitee is a peer an introducer told us about and asked to puncture toward
// us: its puncture is expected from lan or wan until `until`.
type invitee struct {
	lan, wan netip.AddrPort
	until    time.Time
}

// peerTable holds verified peers by ID, and bounded sets of candidates and
// expected invitees. The worker owns it: nothing else reads its maps, and
// other goroutines see it only through the view the worker publishes. Every
// change that a view shows bumps ver, so the worker republishes only when
// something changed.
type peerTable struct {
	max, maxCand int
	// perPrefix caps the verified peers of one IPv4 /24 or IPv6 /48 (0: no
	// cap); byPrefix counts them. Local-scope addresses (a LAN) are not
	// capped. See admit for the eviction that makes room.
	perPrefix int
	byPrefix  map[netip.Prefix]int
	// live: a peer heard from this recently keeps its entry against claims
	// (its ID proved at another address, or another ID proved at its
	// address). Set to KeepAlive by New; 0 turns the protection off.
	live     time.Duration
	ver      uint64 // bumped by every change a view shows
	added    uint64 // peers and candidates that were new to the table
	byID     map[proto.ID]*peer
	byAddr   map[netip.AddrPort]*peer
	order    []*peer // sorted by ID: stable round-robin introductions
	cands    map[proto.ID]*candidate
	invitees map[proto.ID]*invitee
	removed  []*peer   // since the worker last took them (gone): their sessions must go too
	grace    time.Time // until then, doubted peers do not expire (doubt)
}

func newPeerTable(max, maxCand, perPrefix int) *peerTable {
	return &peerTable{
		max: max, maxCand: maxCand, perPrefix: perPrefix, byPrefix: map[netip.Prefix]int{},
		byID:     map[proto.ID]*peer{},
		byAddr:   map[netip.AddrPort]*peer{},
		cands:    map[proto.ID]*candidate{},
		invitees: map[proto.ID]*invitee{},
	}
}

func (t *peerTable) len() int { return len(t.order) }

func (t *peerTable) full() bool { return len(t.order) >= t.max }

// peers returns the verified peers, sorted by ID. The caller must not keep
// or change the slice.
func (t *peerTable) peers() []*peer { return t.order }

// get returns the verified peer with ID id, or nil.
func (t *peerTable) get(id proto.ID) *peer { return t.byID[id] }

// at returns the verified peer reached at addr, or nil.
func (t *peerTable) at(addr netip.AddrPort) *peer { return t.byAddr[addr] }

// proven reports whether peer id is in the table and proved its key.
func (t *peerTable) proven(id proto.ID) bool {
	p := t.byID[id]
	return p != nil && p.authenticated()
}

// candidates is how many introduced peers wait to be walked to.
func (t *peerTable) candidates() int { return len(t.cands) }

// upsert records that peer id proved itself at addr. It returns the peer and
// whether it is new, or nil when the table is full or the claim collides
// with a live peer (see live).
func (t *peerTable) upsert(id proto.ID, addr netip.AddrPort, now time.Time, punctureRate float64) (*peer, bool) {
	if p, ok := t.byID[id]; ok {
		if p.addr != addr {
			// The peer moved (new NAT mapping, new network): follow the
			// proof to the new address, but only once the old one has gone
			// quiet. Otherwise anybody who proves its own address could
			// take over a live peer's entry by claiming its ID.
			if now.Sub(p.lastHeard) < t.live {
				return nil, false
			}
			if q := t.byAddr[addr]; q != nil && q != p {
				if now.Sub(q.lastHeard) < t.live {
					return nil, false
				}
				t.remove(q.id)
			}
			delete(t.byAddr, p.addr)
			t.count(p.addr, -1)
			t.count(addr, 1)
			p.addr = addr
			t.byAddr[addr] = p
			t.ver++
		}
		p.heard(now)
		return p, false
	}
	if q := t.byAddr[addr]; q != nil {
		// Another identity at the same address: the old one is gone (a
		// restart without its data directory, or a reused NAT port) once
		// it has gone quiet; while it is live, the newcomer waits.
		if now.Sub(q.lastHeard) < t.live {
			return nil, false
		}
		t.remove(q.id)
	}
	if !t.admit(addr) {
		return nil, false
	}
	return t.add(id, addr, now, punctureRate), true
}

// add inserts a new peer.
func (t *peerTable) add(id proto.ID, addr netip.AddrPort, now time.Time, punctureRate float64) *peer {
	p := &peer{id: id, addr: addr, added: now, reach: peerReach(0, addr),
		cursor:    rand.IntN(len(t.order) + 1), // start the round-robin anywhere
		punctures: rate.NewLimiter(rate.Limit(punctureRate), int(2*punctureRate)+1)}
	p.heard(now)
	t.byID[id] = p
	t.byAddr[addr] = p
	t.count(addr, 1)
	i, _ := slices.BinarySearchFunc(t.order, id, func(p *peer, id proto.ID) int { return compareID(p.id, id) })
	t.order = slices.Insert(t.order, i, p)
	delete(t.cands, id)
	t.ver++
	t.added++
	return p
}

// announce records what p says of itself in a request: its LAN address, its
// NAT, its families, whether it is quiet, and its communities (copied: the
// request is the decoder's scratch).
func (t *peerTable) announce(p *peer, req *proto.IntroRequest, now time.Time) {
	lan, cs := req.LAN, req.Communities
	p.nat, p.natAt, p.symmetric = req.NAT, now, req.Symmetric || isHard(req.NAT)
	p.quiet, p.reach, p.seed = req.Quiet, peerReach(req.Reach, p.addr), req.Seed
	t.setLAN(p, lan)
	t.setCommunities(p, cs)
}

// setLAN records p's LAN address.
func (t *peerTable) setLAN(p *peer, lan netip.AddrPort) {
	if p.lan != lan {
		p.lan = lan
		t.ver++
	}
}

// setCommunities records the communities p announces (copied).
func (t *peerTable) setCommunities(p *peer, cs []proto.ID) {
	if !slices.Equal(p.communities, cs) {
		p.communities = append(p.communities[:0:0], cs...) // a fresh array: published views share the old one
		t.ver++
	}
}

// remove forgets peer id.
func (t *peerTable) remove(id proto.ID) {
	p, ok := t.byID[id]
	if !ok {
		return
	}
	delete(t.byID, id)
	if t.byAddr[p.addr] == p {
		delete(t.byAddr, p.addr)
	}
	t.count(p.addr, -1)
	t.order = slices.DeleteFunc(t.order, func(q *peer) bool { return q == p })
	t.removed = append(t.removed, p)
	t.ver++
}

// gone returns the peers removed since the last call.
func (t *peerTable) gone() []*peer {
	g := t.removed
	t.removed = t.removed[:0:0]
	return g
}

// move records that p is now reached at addr; a peer that was there goes.
func (t *peerTable) move(p *peer, addr netip.AddrPort) {
	if p.addr == addr {
		return
	}
	if q := t.byAddr[addr]; q != nil && q != p {
		t.remove(q.id)
	}
	if t.byAddr[p.addr] == p {
		delete(t.byAddr, p.addr)
	}
	t.count(p.addr, -1)
	t.count(addr, 1)
	p.addr = addr
	t.byAddr[addr] = p
	t.ver++
}

// authenticate records that peer id proved key at addr in a handshake that
// made sess. A proof beats a claim: the peer moves to addr at once, and
// whoever else claimed addr goes. It returns the peer and whether it is
// new, or nil when the table is full.
func (t *peerTable) authenticate(id proto.ID, key ed25519.PublicKey, sess *session, addr netip.AddrPort, now time.Time, punctureRate float64) (*peer, bool) {
	p, isNew := t.byID[id], false
	if p == nil {
		if q := t.byAddr[addr]; q != nil {
			t.remove(q.id)
		}
		if !t.admit(addr) {
			return nil, false
		}
		p, isNew = t.add(id, addr, now, punctureRate), true
	}
	t.move(p, addr)
	if p.sess != nil && p.sess != sess {
		p.prev, p.prevUntil = p.sess, now.Add(keepReplaced)
	}
	p.key, p.sess = key, sess
	p.confirm(now)
	t.ver++
	return p, isNew
}

// expire drops peers, candidates and invitees that have timed out. It
// returns the dropped peers and how many invitees never became
// peers (failed punctures).
func (t *peerTable) expire(now time.Time, peerTimeout time.Duration) (gone []*peer, failed int) {
	for _, p := range t.order {
		if p.doubt && now.Before(t.grace) {
			continue // the repair after a wake is still asking it
		}
		if now.Sub(p.lastHeard) > peerTimeout {
			gone = append(gone, p)
		}
	}
	for _, p := range gone {
		t.remove(p.id)
	}
	for id, c := range t.cands {
		if now.Sub(c.added) > peerTimeout {
			delete(t.cands, id)
			t.ver++
		}
	}
	for id, inv := range t.invitees {
		if now.After(inv.until) {
			delete(t.invitees, id)
			failed++
		}
	}
	return gone, failed
}

// addCandidate remembers an introduced peer, unless it is known or the set is
// full (then a random old one makes room: fresh introductions are likelier
// to be alive).
func (t *peerTable) addCandidate(id proto.ID, lan, wan netip.AddrPort, now time.Time) {
	if _, ok := t.byID[id]; ok {
		return
	}
	t.ver++
	if c, ok := t.cands[id]; ok {
		c.lan, c.wan, c.added = lan, wan, now
		return
	}
	if len(t.cands) >= t.maxCand {
		for k := range t.cands { // map order is random enough
			delete(t.cands, k)
			break
		}
	}
	t.cands[id] = &candidate{id: id, lan: lan, wan: wan, added: now}
	t.added++
}

// candidateViews lists the candidates for a view.
func (t *peerTable) candidateViews() []candView {
	out := make([]candView, 0, len(t.cands))
	for _, c := range t.cands {
		out = append(out, candView{id: c.id, lan: c.lan, wan: c.wan, added: c.added})
	}
	return out
}

// takeCandidate removes and returns a random candidate.
func (t *peerTable) takeCandidate() (*candidate, bool) {
	for id, c := range t.cands {
		delete(t.cands, id)
		t.ver++
		return c, true
	}
	return nil, false
}

// expectInvitee remembers that id will puncture toward us. The set is
// bounded by maxCand as well.
func (t *peerTable) expectInvitee(id proto.ID, lan, wan netip.AddrPort, until time.Time) {
	if _, ok := t.invitees[id]; !ok && len(t.invitees) >= t.maxCand {
		for k := range t.invitees {
			delete(t.invitees, k)
			break
		}
	}
	t.invitees[id] = &invitee{lan: lan, wan: wan, until: until}
}

// inviteeAt returns the ID of an expected invitee that may send from addr.
func (t *peerTable) inviteeAt(addr netip.AddrPort, now time.Time) (proto.ID, bool) {
	for id, inv := range t.invitees {
		if (inv.wan == addr || inv.lan == addr) && !now.After(inv.until) {
			return id, true
		}
	}
	return proto.ID{}, false
}

// inviteeMoved records that an expected invitee's packets come from addr
// (port prediction found its port).
func (t *peerTable) inviteeMoved(id proto.ID, addr netip.AddrPort) {
	if inv, ok := t.invitees[id]; ok {
		inv.wan = addr
	}
}

// met forgets an expected invitee that became a peer, and reports whether
// it was one: a puncture that worked.
func (t *peerTable) met(id proto.ID) bool {
	if _, ok := t.invitees[id]; ok {
		delete(t.invitees, id)
		return true
	}
	return false
}

// walkTarget returns a random verified peer to walk to, or nil: one that
// is not quiet, unless all are (a quiet peer pays for every packet).
func (t *peerTable) walkTarget() *peer {
	loud := 0
	for _, p := range t.order {
		if !p.quiet {
			loud++
		}
	}
	if loud == 0 {
		return t.random()
	}
	i := rand.IntN(loud)
	for _, p := range t.order {
		if p.quiet {
			continue
		}
		if i == 0 {
			return p
		}
		i--
	}
	return nil
}

// random returns a random verified peer, or nil.
func (t *peerTable) random() *peer {
	if len(t.order) == 0 {
		return nil
	}
	return t.order[rand.IntN(len(t.order))]
}

// nextInvitee picks the peer to introduce to p: round-robin over the table,
// so that p meets every one of our peers in as many walks, where a random
// pick would repeat itself (coupon collector). Pairs whose puncture cannot
// work are skipped: two peers behind symmetric NATs, and peers of families
// that cannot reach each other (family.go).
func (t *peerTable) nextInvitee(p *peer) *peer {
	n := len(t.order)
	for range n {
		p.cursor = (p.cursor + 1) % n
		if q := t.order[p.cursor]; q != p && punchable(p, q) && pairable(p, q) {
			return q
		}
	}
	return nil
}

// punchable reports whether an introduction of a and b can end with them
// hearing each other. Not if both are behind symmetric NATs: each
// punctures toward a port the other's NAT never opened. A symmetric peer
// with a cone peer fails too when the cone filters by address and port,
// but works with a full cone, and votes cannot tell those apart: that pair
// is tried.
func punchable(a, b *peer) bool {
	return !(a.symmetric && b.symmetric)
}

// sample appends to dst up to n random verified peers other than except: n
// picks from a random start with a random stride coprime to the table size
// (no repeats, no allocation of a permutation).
func (t *peerTable) sample(dst []*peer, n int, except *peer) []*peer {
	size := len(t.order)
	out := dst[:0]
	if size == 0 {
		return out
	}
	start, stride := rand.IntN(size), 1+rand.IntN(size)
	for gcd(stride, size) != 1 {
		stride++
	}
	for i := 0; i < size && len(out) < n; i++ {
		if q := t.order[(start+i*stride)%size]; q != except {
			out = append(out, q)
		}
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func compareID(a, b proto.ID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
