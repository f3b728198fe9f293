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

// request fills s.req, our seed intro request to addr.
func (s *seedService) request(to netip.AddrPort) *seed.IntroRequest {
	s.req = seed.IntroRequest{Sender: s.t.self, Destination: to, Connection: seed.ConnectionWiFi, Operator: walkieOperator}
	return &s.req
}

// ask sends e an intro request, whose answer verifies it: at most one
// per seedAskEvery, and to an unverified address only within its credit.
func (s *seedService) ask(e *seedPeer, now time.Time) {
	if e.tainted || (!e.asked.IsZero() && now.Sub(e.asked) < seedAskEvery) {
		return
	}
	limit := 0
	if !e.verified {
		if limit = e.credit(); limit <= 0 {
			s.m.Drop(DropAmplification)
			return
		}
	}
	if n := s.out.sendSeed(e.addr, s.request(e.addr), limit); n > 0 {
		e.asked = now
		if !e.verified {
			e.out += n
		}
	}
}

// contact sends an intro request to addr on an introducer's word (a
// pex entry, an invitee), at most budget bytes (what the introducer's
// message weighed), unless addr is in hand already. It returns the bytes
// sent.
func (s *seedService) contact(addr netip.AddrPort, id seed.PeerID, budget int, now time.Time) int {
	addr = unmapped(addr)
	if budget <= 0 || !routable(addr) || !addr.Addr().Is4() || addr == *s.lan || addr == s.wan() || s.table.at(addr) != nil {
		return 0
	}
	if e := s.t.byAddr[addr]; e != nil && (e.verified || e.tainted || (!e.asked.IsZero() && now.Sub(e.asked) < seedAskEvery)) {
		return 0
	}
	e := s.t.entry(addr, now)
	if e == nil {
		return 0
	}
	if e.id.IsZero() {
		e.id = id
	}
	// Not charged to e's credit: the introducer's message pays.
	n := s.out.sendSeed(addr, s.request(addr), budget)
	if n > 0 {
		e.asked, e.expected = now, now
	}
	return n
}

// puncture answers a puncture request (the seed's type 3, or walkie's
// key 19) toward a seed node: an intro request rather than the seed's bare
// puncture, so that its answer also verifies it. limit is the size of the
// request that asked: we are nobody's amplifier.
func (s *seedService) puncture(addr netip.AddrPort, id seed.PeerID, limit int, now time.Time) {
	addr = unmapped(addr)
	if !routable(addr) || !addr.Addr().Is4() {
		s.m.Drop(DropBadAddress)
		return
	}
	if s.contact(addr, id, limit, now) > 0 {
		s.m.Add(PuncturesSent, 1)
	}
}

// introduce answers a verified seed node's intro request: our pex
// (verified seed nodes and walkie peers that speak the seed protocol, as
// the seed names them) and an invitee from either world, which we ask to
// puncture toward it.
func (s *seedService) introduce(e *seedPeer, now time.Time) {
	seeds := s.t.verified(e, s.peers)
	s.peers = seeds
	walkies := s.walkies[:0]
	for _, q := range s.table.peers() {
		if q.seed && q.addr.Addr().Unmap().Is4() && unmapped(q.addr) != e.addr {
			walkies = append(walkies, q)
		}
	}
	s.walkies = walkies
	resp := &s.resp
	*resp = seed.IntroResponse{Sender: s.t.self, Destination: e.addr, Connection: seed.ConnectionWiFi, Operator: walkieOperator,
		InternalSource: *s.lan, Pex: resp.Pex[:0]}
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
	s.out.sendSeed(e.addr, resp, 0)
	switch {
	case inv != nil:
		s.preq = seed.PunctureRequest{Sender: s.t.self, Destination: inv.addr, Source: *s.lan,
			PuncturePeer: seed.Peer{ID: e.id, Addr: e.addr}}
		s.out.sendSeed(inv.addr, &s.preq, 0)
		s.m.Add(PunctureRequestsSent, 1)
	case winv != nil:
		s.punctureRequest(winv, e, now)
	}
}

// punctureRequest asks walkie peer c to puncture toward seed node e
// (key 19).
func (s *seedService) punctureRequest(c *peer, e *seedPeer, now time.Time) {
	info := proto.SeedInfo{ID: seedIDOf(e.id), WAN: e.addr}
	if e.lan.Addr().Is4() && e.lan.Port() != 0 {
		info.LAN = e.lan
	}
	s.info = info
	if s.out.send(c.addr, &proto.PunctureRequest{Nonce: rand.Uint64(), SeedTarget: &s.info}, 0, 0, PunctureRequestsSent) {
		c.lastSent = now
	}
}

// invitee picks a verified seed node to introduce to walkie requester
// a (which speaks the seed protocol, at an IPv4 address), asks it to
// puncture toward a, and returns it for the answer's key 18; nil for
// none. Half the requests get one, so that walkie invitees keep coming.
func (s *seedService) invitee(a *peer, from netip.AddrPort) *proto.SeedInfo {
	from = unmapped(from)
	if !s.on() || a == nil || !a.seed || !from.Addr().Is4() || rand.IntN(2) == 0 {
		return nil
	}
	seeds := s.t.verified(nil, s.peers)
	s.peers = seeds
	if len(seeds) == 0 {
		return nil
	}
	e := seeds[rand.IntN(len(seeds))]
	s.preq = seed.PunctureRequest{Sender: s.t.self, Destination: e.addr, Source: *s.lan,
		PuncturePeer: seed.Peer{ID: seed.PeerIDOf(a.id), Addr: from}}
	if s.out.sendSeed(e.addr, &s.preq, 0) == 0 {
		return nil
	}
	s.m.Add(PunctureRequestsSent, 1)
	s.info = proto.SeedInfo{ID: seedIDOf(e.id), WAN: e.addr}
	if e.lan.Addr().Is4() && e.lan.Port() != 0 {
		s.info.LAN = e.lan
	}
	return &s.info
}

// tick walks the seed world every seedWalkEvery, as the seed does: the
// verified seed node we asked longest ago gets a request.
func (s *seedService) tick(now time.Time) {
	if !s.on() || now.Before(s.t.nextWalk) {
		return
	}
	s.t.nextWalk = now.Add(seedWalkEvery)
	s.t.expire(now)
	var next *seedPeer
	for _, e := range s.t.byAddr {
		if e.verified && !e.walkie && (next == nil || e.asked.Before(next.asked)) {
			next = e
		}
	}
	if next != nil {
		next.asked = time.Time{} // the walk is due whatever seedAsk's spacing says
		s.ask(next, now)
	}
}

// bootstrap asks the bootstrap addresses in the seed protocol too, on a
// retry (the walkie request went unanswered: it may be one of the seed's
// nodes). An operator named these addresses, so no credit applies.
func (s *seedService) bootstrap(addrs []netip.AddrPort, now time.Time) {
	if !s.on() {
		return
	}
	for _, a := range addrs {
		a = unmapped(a)
		if !a.Addr().Is4() || !routable(a) {
			continue
		}
		e := s.t.entry(a, now)
		if e == nil || e.verified {
			continue
		}
		if n := s.out.sendSeed(a, s.request(a), 0); n > 0 {
			e.asked = now
		}
	}
}

// onInvitee takes key 18 of an introducer's answer: it asked a seed
// node to puncture toward us, and our request meets that hole. The bytes
// are bounded by the answer's (the introducer's word, as for pex).
func (s *seedService) onInvitee(si *proto.SeedInfo, n int, now time.Time) {
	if !s.on() {
		return
	}
	s.contact(si.WAN, peerIDOfSeed(si.ID), n, now)
}
