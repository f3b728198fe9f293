package core

import (
	"encoding/hex"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/walkie-p2p/walkie/proto"
	"github.com/walkie-p2p/walkie/proto/seed"
)

// The seed protocol: the bencoded datagrams of the 2016 app walkie descends
// from (proto/seed, docs/protocol.md "The seed protocol"). They arrive on
// our main socket (first byte 'd'; walkie's start with "WK"), and we answer
// in kind, so that the app's nodes and walkie nodes walk one network.
//
// The seed has no tokens, no nonces and answers larger than its requests,
// so its nodes are kept apart from walkie peers and held to these rules:
//   - an address is verified only once it answered (type 2) an intro
//     request we sent to that address within seedAnswerWindow;
//   - before that it never gets more bytes from us than it sent us (in and
//     out below): its first request is not answered, it is asked back;
//   - only verified seed nodes are passed on (pex, invitees, key 18/19);
//   - an address that sent nothing is contacted only on a verified
//     introducer's word, and the bytes we send on one message's word never
//     exceed that message's bytes (the introducer pays, never a victim);
//   - seed nodes never vote, never join communities, never authenticate:
//     they are listed apart (/status seed_peers) and never in the peer table.
//
// What we send them passes seed.Check, a model of their fragile decoder
// (seed.Append writes nothing else): a bad datagram kills a phone's
// listener until it restarts.

const (
	seedWalkEvery     = 5 * time.Second // the seed's own walk interval
	seedAnswerWindow  = 5 * time.Second // an answer later than this answers nothing of ours
	seedAnswerEvery   = 2 * time.Second // a verified seed node's requests answered at most this often (it walks every 5 s)
	seedAskEvery      = 5 * time.Second // at most one request per address per this, outside the walk
	seedUnverifiedTTL = time.Minute     // an address that never answered is forgotten after this
	seedPeerTimeout   = 3 * time.Minute // a verified seed node silent this long is gone
	maxSeedPeers      = 64              // the table: verified and unverified
	seedPexOut        = 8               // pex entries in our answers: a short datagram, as the seed's are
	// walkieOperator is what our seed messages carry as network_operator (a
	// carrier name the seed only displays): a walkie node that reads it
	// knows the sender is a walkie node and talks walkie to it instead.
	walkieOperator = "walkie"
)

// seedPeer is one address of the seed protocol: a node that answered a
// request of ours there (verified), or one we heard from or asked.
type seedPeer struct {
	id       seed.PeerID
	addr     netip.AddrPort
	lan      netip.AddrPort // its internal_source or source, when it said
	verified bool
	walkie   bool // it marked itself a walkie node: talk walkie to it, never list it
	// tainted: an intro response came from it that answered nothing of
	// ours. A seed node never sends one, a forger does (hoping to verify
	// its victim's address): while the entry lives, it is never verified
	// nor asked again.
	tainted  bool
	in, out  int // bytes from it and to it while unverified: out <= in, bar introductions
	asked    time.Time
	answered time.Time // our last answer to its request
	// expected: we contacted it on a verified introducer's word, which
	// also asked it to puncture toward us. The first datagram it sends us
	// then says its hole is open (our first request may have met its NAT's
	// filter): it is asked once more, on the same word, whatever its credit.
	expected time.Time
	heard    time.Time
	seen     atomic.Int64 // heard, in Unix nanoseconds, for the published view
}

// credit is how many bytes we may still send an unverified address.
func (e *seedPeer) credit() int { return e.in - e.out }

// seedTable holds the worker's seed nodes, bounded: under a flood of forged
// sources, unverified entries replace each other and verified ones stay.
type seedTable struct {
	self     seed.PeerID
	byAddr   map[netip.AddrPort]*seedPeer
	nextWalk time.Time
	ver      uint64 // bumped when the verified set or an address changes: the view republishes
}

func newSeedTable(self proto.ID) *seedTable {
	return &seedTable{self: seed.PeerIDOf(self), byAddr: map[netip.AddrPort]*seedPeer{}}
}

// entry returns addr's entry, adding it if there is room (evicting the
// oldest unverified one when full); nil when the table is all verified.
func (t *seedTable) entry(addr netip.AddrPort, now time.Time) *seedPeer {
	if e := t.byAddr[addr]; e != nil {
		return e
	}
	if len(t.byAddr) >= maxSeedPeers {
		var old *seedPeer
		for _, e := range t.byAddr {
			if !e.verified && (old == nil || last(e).Before(last(old))) {
				old = e
			}
		}
		if old == nil {
			return nil
		}
		delete(t.byAddr, old.addr)
	}
	e := &seedPeer{addr: addr, heard: now}
	t.byAddr[addr] = e
	return e
}

// last is when we last had anything to do with e.
func last(e *seedPeer) time.Time {
	if e.asked.After(e.heard) {
		return e.asked
	}
	return e.heard
}

// expire forgets unverified addresses after seedUnverifiedTTL and verified
// nodes silent for seedPeerTimeout.
func (t *seedTable) expire(now time.Time) {
	for a, e := range t.byAddr {
		switch {
		case e.verified && now.Sub(e.heard) > seedPeerTimeout:
			t.ver++
		case !e.verified && now.Sub(last(e)) > seedUnverifiedTTL:
		default:
			continue
		}
		delete(t.byAddr, a)
	}
}

// verified returns the verified seed nodes other than not (which may be
// nil), heard within seedPeerTimeout: the only ones we pass on.
func (t *seedTable) verified(not *seedPeer, buf []*seedPeer) []*seedPeer {
	buf = buf[:0]
	for _, e := range t.byAddr {
		if e.verified && !e.walkie && e != not && !e.id.IsZero() {
			buf = append(buf, e)
		}
	}
	return buf
}

// seedIDOf is a seed peer ID as walkie's wire carries it (proto.SeedID:
// the 4 bytes its hex digits spell).
func seedIDOf(id seed.PeerID) proto.SeedID {
	var s proto.SeedID
	hex.Decode(s[:], id[:]) //nolint:errcheck // ids are checked hex digits
	return s
}

// peerIDOfSeed is the inverse of seedIDOf.
func peerIDOfSeed(s proto.SeedID) seed.PeerID {
	var id seed.PeerID
	hex.Encode(id[:], s[:])
	return id
}

// seedOn reports whether we speak the seed protocol now: it is on and our
// address is IPv4, the only family the seed knows.
func (o *Overlay) seedOn() bool {
	return o.seeds != nil && o.lan.Addr().Unmap().Is4()
}

// senderOf is a seed message's peer_id and network_operator ("" for types
// that carry none).
func senderOf(m seed.Message) (seed.PeerID, string) {
	switch m := m.(type) {
	case *seed.IntroRequest:
		return m.Sender, m.Operator
	case *seed.IntroResponse:
		return m.Sender, m.Operator
	case *seed.PunctureRequest:
		return m.Sender, ""
	case *seed.Puncture:
		return m.Sender, ""
	}
	return seed.PeerID{}, ""
}

// onSeed handles one seed datagram, decoded by the reader (p.seed).
func (o *Overlay) onSeed(p *packet, now time.Time) {
	o.m.Add(SeedMessagesReceived, 1)
	from := unmapped(p.from)
	if !o.seedOn() || !from.Addr().Is4() {
		o.m.Drop(DropSeedMalformed) // a seed node we cannot talk to
		return
	}
	id, op := senderOf(p.seed)
	if id == o.seeds.self {
		o.m.Drop(DropSelf)
		return
	}
	e := o.seeds.entry(from, now)
	if e == nil {
		o.m.Drop(DropLimit)
		return
	}
	if !e.verified {
		e.in += p.n
	}
	if !id.IsZero() && e.id != id && !e.verified {
		// A seed keeps its ID for good: once verified, a datagram from its
		// address (maybe forged) does not rename it.
		e.id = id
		o.seeds.ver++
	}
	if op == walkieOperator && !e.walkie {
		e.walkie = true // a walkie node: never listed, never passed on as a seed node
		o.seeds.ver++
	}
	e.heard = now
	if e.verified {
		e.seen.Store(now.UnixNano())
	}
	_, answer := p.seed.(*seed.IntroResponse)
	if !e.verified && !answer && !e.walkie && !e.expected.IsZero() && now.Sub(e.expected) < seedUnverifiedTTL && !e.tainted {
		e.expected, e.asked = time.Time{}, time.Time{}
		o.out.sendSeed(e.addr, o.seedRequest(e.addr), 0)
		e.asked = now
	}
	switch m := p.seed.(type) {
	case *seed.IntroRequest:
		o.onSeedIntroRequest(e, now)
	case *seed.IntroResponse:
		o.onSeedIntroResponse(e, m, p.n, now)
	case *seed.PunctureRequest:
		if !e.verified {
			o.m.Drop(DropUnverified)
			return
		}
		e.lan = m.Source
		if m.PuncturePeer.ID != o.seeds.self {
			o.seedPuncture(m.PuncturePeer.Addr, m.PuncturePeer.ID, p.n, now)
		}
	case *seed.Puncture:
		if !e.verified {
			o.seedAsk(e, now) // a hole toward us: ask back, within what it sent
		}
	}
}

// onSeedIntroRequest answers a seed node's walk: a verified one gets our
// pex and an invitee, unverified ones are asked back (their first request
// is smaller than our answer, and may be forged).
func (o *Overlay) onSeedIntroRequest(e *seedPeer, now time.Time) {
	if e.walkie {
		o.seedToWalkie(e, now)
		return
	}
	if !e.verified {
		o.m.Drop(DropUnverified)
		o.seedAsk(e, now)
		return
	}
	if now.Sub(e.answered) < seedAnswerEvery {
		o.m.Drop(DropRateLimited)
		return
	}
	e.answered = now
	o.seedIntroduce(e, now)
}

// onSeedIntroResponse takes a seed node's answer to a request of ours: it
// verifies the address, and its pex and invitee are addresses to contact,
// within what the answer itself weighs.
func (o *Overlay) onSeedIntroResponse(e *seedPeer, m *seed.IntroResponse, n int, now time.Time) {
	if e.asked.IsZero() || now.Sub(e.asked) > seedAnswerWindow || e.tainted {
		o.m.Drop(DropUnsolicited)
		if !e.tainted {
			e.tainted = true
			if e.verified {
				e.verified, e.in, e.out = false, 0, 0
				o.seeds.ver++
			}
		}
		return
	}
	e.asked = time.Time{}
	if !e.verified {
		e.verified, e.in, e.out, e.heard = true, 0, 0, now
		e.seen.Store(now.UnixNano())
		o.seeds.ver++
		if !e.walkie {
			o.log.Info("seed node verified", "seed_id", e.id, "addr", e.addr)
		}
	}
	if m.InternalSource.Addr().IsValid() && !m.InternalSource.Addr().IsUnspecified() {
		e.lan = m.InternalSource
	}
	if e.walkie {
		o.seedToWalkie(e, now)
	}
	budget := n
	try := func(q seed.Peer) {
		if q.ID == o.seeds.self || q.ID.IsZero() {
			return
		}
		if sent := o.seedContact(q.Addr, q.ID, budget, now); sent > 0 {
			budget -= sent
		}
	}
	if m.Invitee != nil {
		try(*m.Invitee) // it was asked to puncture toward us: our request meets its hole
	}
	for _, q := range m.Pex {
		try(q)
	}
}

// seedToWalkie talks walkie to a walkie node that reached us in the seed
// protocol (its operator says so), unless it is a peer already: a tokenless
// request, within what it sent us while it is unverified.
func (o *Overlay) seedToWalkie(e *seedPeer, now time.Time) {
	if o.table.at(e.addr) != nil || e.tainted || (!e.asked.IsZero() && now.Sub(e.asked) < seedAskEvery) {
		return
	}
	limit := 0
	if !e.verified {
		if limit = e.credit(); limit <= 0 {
			return
		}
	}
	if n := o.askLimited(e.addr, limit, now); n > 0 {
		e.asked = now
		if !e.verified {
			e.out += n
		}
	}
}

// seedView is a verified seed node as the published view shows it.
type seedView struct {
	id   string
	addr netip.AddrPort
	seen *atomic.Int64 // the entry's, kept current by the worker
}

// seedVer is the seed table's version, for the view's stamp.
func (o *Overlay) seedVer() uint64 {
	if o.seeds == nil {
		return 0
	}
	return o.seeds.ver
}

// seedViews lists the verified seed nodes, sorted by ID, for the view.
func (o *Overlay) seedViews() []seedView {
	if o.seeds == nil {
		return nil
	}
	var vs []seedView
	for _, e := range o.seeds.byAddr {
		if e.verified && !e.walkie {
			vs = append(vs, seedView{id: e.id.String(), addr: e.addr, seen: &e.seen})
		}
	}
	slices.SortFunc(vs, func(a, b seedView) int {
		if c := strings.Compare(a.id, b.id); c != 0 {
			return c
		}
		return a.addr.Compare(b.addr)
	})
	return vs
}
