package core

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/proto"
	"github.com/walkie-p2p/walkie/proto/seed"
)

// What we send in the seed protocol (seed.go has the rules): our walk to
// seed nodes, our answers, and the introductions across the two worlds.

// seedRequest fills o.s.seedReq, our seed intro request to addr.
func (o *Overlay) seedRequest(to netip.AddrPort) *seed.IntroRequest {
	o.s.seedReq = seed.IntroRequest{Sender: o.seeds.self, Destination: to, Connection: seed.ConnectionWiFi, Operator: walkieOperator}
	return &o.s.seedReq
}

// seedAsk sends e an intro request, whose answer verifies it: at most one
// per seedAskEvery, and to an unverified address only within its credit.
func (o *Overlay) seedAsk(e *seedPeer, now time.Time) {
	if e.tainted || (!e.asked.IsZero() && now.Sub(e.asked) < seedAskEvery) {
		return
	}
	limit := 0
	if !e.verified {
		if limit = e.credit(); limit <= 0 {
			o.m.Drop(DropAmplification)
			return
		}
	}
	if n := o.out.sendSeed(e.addr, o.seedRequest(e.addr), limit); n > 0 {
		e.asked = now
		if !e.verified {
			e.out += n
		}
	}
}

// seedContact sends an intro request to addr on an introducer's word (a
// pex entry, an invitee), at most budget bytes (what the introducer's
// message weighed), unless addr is in hand already. It returns the bytes
// sent.
func (o *Overlay) seedContact(addr netip.AddrPort, id seed.PeerID, budget int, now time.Time) int {
	addr = unmapped(addr)
	if budget <= 0 || !routable(addr) || !addr.Addr().Is4() || addr == o.lan || addr == o.votes.wan || o.table.at(addr) != nil {
		return 0
	}
	if e := o.seeds.byAddr[addr]; e != nil && (e.verified || e.tainted || (!e.asked.IsZero() && now.Sub(e.asked) < seedAskEvery)) {
		return 0
	}
	e := o.seeds.entry(addr, now)
	if e == nil {
		return 0
	}
	if e.id.IsZero() {
		e.id = id
	}
	// Not charged to e's credit: the introducer's message pays.
	n := o.out.sendSeed(addr, o.seedRequest(addr), budget)
	if n > 0 {
		e.asked, e.expected = now, now
	}
	return n
}

// seedPuncture answers a puncture request (the seed's type 3, or walkie's
// key 19) toward a seed node: an intro request rather than the seed's bare
// puncture, so that its answer also verifies it. limit is the size of the
// request that asked: we are nobody's amplifier.
func (o *Overlay) seedPuncture(addr netip.AddrPort, id seed.PeerID, limit int, now time.Time) {
	addr = unmapped(addr)
	if !routable(addr) || !addr.Addr().Is4() {
		o.m.Drop(DropBadAddress)
		return
	}
	if o.seedContact(addr, id, limit, now) > 0 {
		o.m.Add(PuncturesSent, 1)
	}
}

// seedIntroduce answers a verified seed node's intro request: our pex
// (verified seed nodes and walkie peers that speak the seed protocol, as
// the seed names them) and an invitee from either world, which we ask to
// puncture toward it.
func (o *Overlay) seedIntroduce(e *seedPeer, now time.Time) {
	seeds := o.seeds.verified(e, o.s.seedPeers)
	o.s.seedPeers = seeds
	walkies := o.s.seedWalkies[:0]
	for _, q := range o.table.peers() {
		if q.seed && q.addr.Addr().Unmap().Is4() && unmapped(q.addr) != e.addr {
			walkies = append(walkies, q)
		}
	}
	o.s.seedWalkies = walkies
	resp := &o.s.seedResp
	*resp = seed.IntroResponse{Sender: o.seeds.self, Destination: e.addr, Connection: seed.ConnectionWiFi, Operator: walkieOperator,
		InternalSource: o.lan, Pex: resp.Pex[:0]}
	for _, i := range rand.Perm(len(seeds) + len(walkies)) {
		if len(resp.Pex) == seedPexOut {
			break
		}
		if i < len(seeds) {
			resp.Pex = append(resp.Pex, seed.Peer{ID: seeds[i].id, Addr: seeds[i].addr})
		} else {
			q := walkies[i-len(seeds)]
			resp.Pex = append(resp.Pex, seed.Peer{ID: seed.PeerIDOf(q.id), Addr: unmapped(q.addr)})
		}
	}
	var inv *seedPeer
	var winv *peer
	if n := len(seeds) + len(walkies); n > 0 {
		if i := rand.IntN(n); i < len(seeds) {
			inv = seeds[i]
			resp.Invitee = &seed.Peer{ID: inv.id, Addr: inv.addr}
		} else {
			winv = walkies[i-len(seeds)]
			resp.Invitee = &seed.Peer{ID: seed.PeerIDOf(winv.id), Addr: unmapped(winv.addr)}
		}
	}
	o.out.sendSeed(e.addr, resp, 0)
	switch {
	case inv != nil:
		o.s.seedPreq = seed.PunctureRequest{Sender: o.seeds.self, Destination: inv.addr, Source: o.lan,
			PuncturePeer: seed.Peer{ID: e.id, Addr: e.addr}}
		o.out.sendSeed(inv.addr, &o.s.seedPreq, 0)
		o.m.Add(PunctureRequestsSent, 1)
	case winv != nil:
		o.seedPunctureRequest(winv, e, now)
	}
}

// seedPunctureRequest asks walkie peer c to puncture toward seed node e
// (key 19).
func (o *Overlay) seedPunctureRequest(c *peer, e *seedPeer, now time.Time) {
	info := proto.SeedInfo{ID: seedIDOf(e.id), WAN: e.addr}
	if e.lan.Addr().Is4() && e.lan.Port() != 0 {
		info.LAN = e.lan
	}
	o.s.seedInfo = info
	if o.out.send(c.addr, &proto.PunctureRequest{Nonce: rand.Uint64(), SeedTarget: &o.s.seedInfo}, 0, 0, PunctureRequestsSent) {
		c.lastSent = now
	}
}

// seedInvitee picks a verified seed node to introduce to walkie requester
// a (which speaks the seed protocol, at an IPv4 address), asks it to
// puncture toward a, and returns it for the answer's key 18; nil for
// none. Half the requests get one, so that walkie invitees keep coming.
func (o *Overlay) seedInvitee(a *peer, from netip.AddrPort) *proto.SeedInfo {
	from = unmapped(from)
	if !o.seedOn() || a == nil || !a.seed || !from.Addr().Is4() || rand.IntN(2) == 0 {
		return nil
	}
	seeds := o.seeds.verified(nil, o.s.seedPeers)
	o.s.seedPeers = seeds
	if len(seeds) == 0 {
		return nil
	}
	e := seeds[rand.IntN(len(seeds))]
	o.s.seedPreq = seed.PunctureRequest{Sender: o.seeds.self, Destination: e.addr, Source: o.lan,
		PuncturePeer: seed.Peer{ID: seed.PeerIDOf(a.id), Addr: from}}
	if o.out.sendSeed(e.addr, &o.s.seedPreq, 0) == 0 {
		return nil
	}
	o.m.Add(PunctureRequestsSent, 1)
	o.s.seedInfo = proto.SeedInfo{ID: seedIDOf(e.id), WAN: e.addr}
	if e.lan.Addr().Is4() && e.lan.Port() != 0 {
		o.s.seedInfo.LAN = e.lan
	}
	return &o.s.seedInfo
}

// seedTick walks the seed world every seedWalkEvery, as the seed does: the
// verified seed node we asked longest ago gets a request.
func (o *Overlay) seedTick(now time.Time) {
	if !o.seedOn() || now.Before(o.seeds.nextWalk) {
		return
	}
	o.seeds.nextWalk = now.Add(seedWalkEvery)
	o.seeds.expire(now)
	var next *seedPeer
	for _, e := range o.seeds.byAddr {
		if e.verified && !e.walkie && (next == nil || e.asked.Before(next.asked)) {
			next = e
		}
	}
	if next != nil {
		next.asked = time.Time{} // the walk is due whatever seedAsk's spacing says
		o.seedAsk(next, now)
	}
}

// seedBootstrap asks the bootstrap addresses in the seed protocol too, on a
// retry (the walkie request went unanswered: it may be one of the seed's
// nodes). An operator named these addresses, so no credit applies.
func (o *Overlay) seedBootstrap(now time.Time) {
	if !o.seedOn() {
		return
	}
	for _, a := range o.bootstrap {
		a = unmapped(a)
		if !a.Addr().Is4() || !routable(a) {
			continue
		}
		e := o.seeds.entry(a, now)
		if e == nil || e.verified {
			continue
		}
		if n := o.out.sendSeed(a, o.seedRequest(a), 0); n > 0 {
			e.asked = now
		}
	}
}

// onSeedInvitee takes key 18 of an introducer's answer: it asked a seed
// node to puncture toward us, and our request meets that hole. The bytes
// are bounded by the answer's (the introducer's word, as for pex).
func (o *Overlay) onSeedInvitee(s *proto.SeedInfo, n int, now time.Time) {
	if !o.seedOn() {
		return
	}
	o.seedContact(s.WAN, peerIDOfSeed(s.ID), n, now)
}
