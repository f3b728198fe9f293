package core

import (
	"net/netip"
	"slices"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// handle dispatches one queued core packet, on the worker. The way of a
// packet reads in one direction: reader.go parses and queues it, the worker
// (overlay.go) takes it, the handlers here decide, the components below
// (peers.go, vote.go, token.go, punch.go) keep their own state, and
// sender.go writes what the handlers answer.
func (o *Overlay) handle(p *packet, now time.Time) {
	if p.seed != nil {
		o.onSeed(p, now) // the 2016 app's protocol (seed.go)
		return
	}
	if p.via == o.cfg.Alt && p.via != nil {
		o.onAlt(p) // the second port only answers the NAT test
		return
	}
	if p.stale {
		o.onStale(p, now)
		return
	}
	if o.punch.att != nil { // rare: checked here, where it costs no call
		o.punch.hit(p, now)
	}
	if p.sess != nil {
		o.roam(p)
	} else if o.out.sealed(p.from) {
		// A plaintext packet from an authenticated peer's address: answers
		// go in kind (see sender.plainTo).
		o.out.plainTo = p.from
		defer func() { o.out.plainTo = netip.AddrPort{} }()
	}
	var err error
	switch p.hdr.Type {
	case proto.TypeIntroRequest:
		if err = proto.DecodeIntroRequestInto(p.body, &o.s.req); err == nil {
			o.onIntroRequest(p, &o.s.req, now)
		}
	case proto.TypeIntroResponse:
		if err = proto.DecodeIntroResponseInto(p.body, &o.s.resp); err == nil {
			o.onIntroResponse(p, &o.s.resp, now)
		}
	case proto.TypePunctureRequest:
		if o.s.preqIn, err = proto.DecodePunctureRequest(p.body); err == nil {
			o.onPunctureRequest(p, &o.s.preqIn, now)
		}
	case proto.TypePuncture:
		if o.s.punIn, err = proto.DecodePuncture(p.body); err == nil {
			o.onPuncture(p, &o.s.punIn, now)
		}
	case proto.TypeBeacon:
		if o.s.beacon, err = proto.DecodeBeacon(p.body); err == nil {
			o.onBeacon(p, now)
		}
	case proto.TypeHandshake:
		if o.shakes == nil {
			o.m.Drop(DropUnknownType) // as a node of the previous release would
			return
		}
		if err = proto.DecodeHandshakeInto(p.body, &o.s.shake); err == nil {
			o.onHandshake(p, &o.s.shake, now)
		}
	default:
		o.m.Drop(DropUnknownType)
		return
	}
	if err != nil {
		o.m.Drop(dropReasonOf(err))
		o.log.Debug("bad packet", "from", p.from, "type", p.hdr.Type, "err", err)
	}
}

// onIntroRequest answers A's introduction request. An unverified A (no valid
// token for its source address) gets only a token, in an answer no larger
// than its request; a verified A gets peers and an invitee C, and C gets a
// puncture request naming A.
func (o *Overlay) onIntroRequest(p *packet, req *proto.IntroRequest, now time.Time) {
	o.m.Add(IntroRequestsReceived, 1)
	if o.quietSkip(p, req, now) {
		return
	}
	o.s.tok = o.tok.issue(p.from, now)
	resp := &o.s.answer
	*resp = proto.IntroResponse{Nonce: req.Nonce, LAN: o.lan, Token: o.s.tok[:], Peers: resp.Peers[:0]}
	valid := o.tok.validAgainst(req.Token, &o.s.tok, p.from, now)
	if !valid && !o.atHome(p) {
		// Unverified: maybe a spoofed source. Answer with a token only, and
		// never with more bytes than we received (amplification <= 1x).
		o.out.send(p.from, resp, 0, p.n, IntroResponsesSent)
		return
	}
	// No vote: a requester picks when it talks to us, so a pair of liars
	// could send votes at will. Only answers to our own requests vote.
	a, isNew := o.admit(p, now)
	if a != nil {
		a.roamed = a.roamed && !valid
		o.table.announce(a, req, now)
		a.ticket = req.Ticket
		if isNew {
			o.peerAdded(a, now)
		}
	}
	resp.Communities, resp.AltPort = o.comms.ids, o.altPort()
	if req.KeepAlive && a == nil {
		// Our table is full and A is not in it: staying silent lets A time
		// us out, so a full node stops paying for peers it does not keep.
		return
	}
	if req.KeepAlive {
		// A only keeps its NAT mapping open: answer, introduce nobody.
		if o.out.send(p.from, resp, 0, 0, IntroResponsesSent) && a != nil {
			a.lastSent = now
		}
		return
	}
	o.s.sample = o.table.sample(o.s.sample, proto.MaxIntroPeers, a)
	for _, q := range o.s.sample {
		resp.Peers = append(resp.Peers, proto.PeerInfo{ID: q.id, LAN: q.lan, WAN: q.addr})
	}
	// The invitees: one, round-robin; up to MaxMoreInvitees more for a
	// requester that still knows few peers (each is a peer it meets at
	// once, where a walk would find one per 500 ms).
	picked := o.s.picked[:0]
	if a != nil {
		want := 1
		if req.WantMore {
			want += proto.MaxMoreInvitees
		} else if o.cfg.Quiet {
			want = min(1, len(req.Meet)) // a quiet node introduces only where it is needed
		}
		// First the peers A asks to meet again (it moved, and their NATs
		// filter its new address until they puncture toward it).
		for _, id := range req.Meet {
			if c := o.table.get(id); c != nil && c != a && len(picked) < want && !slices.Contains(picked, c) {
				picked = append(picked, c)
			}
		}
		for range want - len(picked) {
			c := o.table.nextInvitee(a)
			if c == nil || slices.Contains(picked, c) {
				break // the round came back to the start: nobody new
			}
			picked = append(picked, c)
		}
	} else if c := o.table.random(); c != nil && c.id != p.hdr.Sender && !o.cfg.Quiet && pairable(&peer{addr: p.from, lan: req.LAN, reach: peerReach(req.Reach, p.from)}, c) {
		picked = append(picked, c)
	}
	// Only the first invitee's NAT travels (key 10), and only the first may
	// be told to probe: put there one that A can make a port prediction
	// attempt with now, else for an easy A a symmetric one, so that A
	// knows to probe for it.
	first := slices.IndexFunc(picked, func(c *peer) bool { return probePair(req.NAT, c, now) })
	if first < 0 && req.NAT.Kind == proto.NATEasy {
		first = slices.IndexFunc(picked, func(c *peer) bool { return c.symmetric })
	}
	if first > 0 {
		picked[0], picked[first] = picked[first], picked[0]
	}
	o.s.picked = picked
	resp.MoreInvitees = resp.MoreInvitees[:0]
	resp.InviteeNAT, resp.InviteeTicket, resp.SeedInvitee = proto.NATHint{}, proto.Ticket{}, nil
	for i, c := range picked {
		info := proto.PeerInfo{ID: c.id, LAN: c.lan, WAN: c.addr}
		if i == 0 {
			o.s.invitee = info
			resp.Invitee = &o.s.invitee
			resp.InviteeNAT = c.nat
			// Only a pair that each vouched for its own address is told to
			// probe (punch.go): each side's ticket goes to the other.
			resp.InviteeNAT.Wants = probePair(req.NAT, c, now) && !req.Ticket.IsZero() && !c.ticket.IsZero()
			if resp.InviteeNAT.Wants {
				resp.InviteeTicket = c.ticket
				resp.Peers = resp.Peers[:min(len(resp.Peers), proto.MaxIntroPeersWithTicket)]
			}
		} else {
			resp.MoreInvitees = append(resp.MoreInvitees, info)
		}
	}
	if resp.InviteeTicket.IsZero() {
		// A seed node too (key 18), asked to puncture toward A; never with
		// a ticket, with which it would not fit a sealed datagram.
		resp.SeedInvitee = o.seedInvitee(a, p.from)
	}
	if o.out.send(p.from, resp, 0, 0, IntroResponsesSent) && a != nil {
		a.lastSent = now
	}
	o.s.preq = proto.PunctureRequest{Nonce: req.Nonce, Target: proto.PeerInfo{ID: p.hdr.Sender, LAN: req.LAN, WAN: p.from}, TargetNAT: req.NAT}
	if resp.InviteeNAT.Wants {
		o.s.preq.TargetTicket = req.Ticket
	}
	// Both sides of a port prediction attempt hear the same verdict (the
	// Wants bit): an attempt that one side starts alone is hundreds of
	// wasted packets. A probes for its first invitee only, one attempt at
	// a time.
	o.s.preq.TargetNAT.Wants = resp.InviteeNAT.Wants
	for i, c := range picked {
		if i == 1 {
			o.s.preq.TargetNAT.Wants, o.s.preq.TargetTicket = false, proto.Ticket{}
		}
		if o.out.send(c.addr, &o.s.preq, 0, 0, PunctureRequestsSent) {
			c.lastSent = now
		}
	}
}

// onIntroResponse accepts B's answer to an outstanding request of ours.
func (o *Overlay) onIntroResponse(p *packet, resp *proto.IntroResponse, now time.Time) {
	req, ok := o.asked[resp.Nonce]
	if !ok || req.to != p.from {
		o.m.Drop(DropUnsolicited)
		return
	}
	delete(o.asked, resp.Nonce)
	o.m.Add(IntroResponsesReceived, 1)
	o.m.IntroRTT(now.Sub(req.sent))
	if req.alt {
		o.onAltAnswer(p, now) // an observer's second port: no vote, no peer
		return
	}
	o.vote(p.from, p.hdr.Dest, now)
	if to, ok := o.disc.offer(o.votes, p.from, p.hdr.Dest, resp.AltPort, now); ok {
		o.askAlt(to, now) // one observer: ask its second port how our NAT maps
	}
	b, isNew := o.admit(p, now)
	if b == nil && p.sess == nil && o.mustProve(p.hdr.Sender) && len(resp.Token) > 0 && !o.table.proven(p.hdr.Sender) {
		o.shake(p.from, p.hdr.Sender, resp.Token, now) // B is a peer once it proved its key
	}
	if b != nil {
		b.confirm(now)   // it answered us: no doubt (awake) remains
		b.roamed = false // and it is where we asked
		// resp is scratch: copy what the table keeps. A token-only answer
		// (B did not know us, or our token for it was too old) says
		// nothing of B's communities: it must not wipe what B announced.
		// A full one counts even if we sent no token: B answered in full
		// because our request came sealed from where we proved our key.
		o.table.setLAN(b, resp.LAN)
		if !tokenOnly(resp) {
			o.table.setCommunities(b, resp.Communities)
		}
		b.token = append(b.token[:0], resp.Token...)
		if isNew {
			o.peerAdded(b, now)
		}
	}
	if !req.hadToken && len(resp.Token) > 0 && tokenOnly(resp) {
		// B did not know us yet and sent only a token: ask again at once,
		// now verified, rather than waiting for the next walk.
		o.sendIntroRequest(p.from, resp.Token, req.keepAlive, now)
		return
	}
	for _, q := range resp.Peers {
		// A listed peer is worth a walk only if a request can reach it
		// without a puncture: it is public (its own LAN address is where B
		// sees it), or it sits behind our own public IP. Walks to the
		// others only hit their NAT's filter.
		direct := q.LAN.IsValid() && (q.LAN == q.WAN || o.voterFor(q.WAN.Addr()).behindUs(q.WAN))
		if q.ID != o.cfg.PeerID && direct && o.canReach(q.WAN) {
			o.table.addCandidate(q.ID, q.LAN, q.WAN, now)
		}
	}
	if resp.Invitee != nil {
		o.meet(resp.Invitee, resp.InviteeNAT, &resp.InviteeTicket, now)
	}
	for i := range resp.MoreInvitees {
		o.meet(&resp.MoreInvitees[i], proto.NATHint{}, nil, now)
	}
	if resp.SeedInvitee != nil {
		o.onSeedInvitee(resp.SeedInvitee, p.n, now)
	}
}

// tokenOnly reports whether resp is the answer to a request whose sender
// was not verified: a token and nothing else (a full answer lists the
// responder's communities, or peers, or an invitee; one from a node that
// has none of them says nothing either).
func tokenOnly(resp *proto.IntroResponse) bool {
	return len(resp.Communities) == 0 && len(resp.Peers) == 0 && resp.Invitee == nil
}

// meet prepares for an invitee C that an introducer asked to puncture
// toward us: we expect its puncture, and send it a request of our own.
// When one of us is behind a symmetric NAT (nat is C's, tk its ticket), we
// also start port prediction.
func (o *Overlay) meet(c *proto.PeerInfo, nat proto.NATHint, tk *proto.Ticket, now time.Time) {
	if q := o.table.get(c.ID); c.ID == o.cfg.PeerID || (q == nil && o.table.full()) || (q != nil && o.heardSinceRepair(q)) {
		return // ourselves, no room, or a peer we hear (one we lost touch with after a move, we meet again)
	}
	o.table.expectInvitee(c.ID, c.LAN, c.WAN, now.Add(o.cfg.InviteeTTL))
	// Our own packet toward C opens our NAT for C's puncture, and reaches C
	// if C's puncture already opened C's NAT for us. It asks for no
	// introduction: one introduction per walk, or every introduction would
	// set off another.
	to := o.voterFor(c.WAN.Addr()).pick(c.LAN, c.WAN)
	o.sendIntroRequest(to, nil, true, now)
	if tk != nil {
		o.plan(c.ID, to, c.WAN, nat, *tk, now)
	}
}

// plan asks the prober for a port prediction attempt toward the peer id
// that we reach at to, at wan beyond its NAT, which vouched for its
// address with tk; not when it sits behind our own IP (to is its LAN
// address): no NAT lies between us.
func (o *Overlay) plan(id proto.ID, to, wan netip.AddrPort, nat proto.NATHint, tk proto.Ticket, now time.Time) {
	if to == wan && o.punch.plan(id, wan, nat, tk, o.natHint(now), now) {
		o.rearm = true
	}
}

// onPunctureRequest honours a verified introducer's request to puncture
// toward the peer it introduced us to.
func (o *Overlay) onPunctureRequest(p *packet, req *proto.PunctureRequest, now time.Time) {
	o.m.Add(PunctureRequestsReceived, 1)
	b := o.table.at(p.from)
	if b == nil || b.id != p.hdr.Sender || (b.authenticated() && p.sess == nil) {
		o.m.Drop(DropUnverified)
		return
	}
	if !b.punctures.Allow() {
		o.m.Drop(DropRateLimited)
		return
	}
	b.heard(now)
	if req.SeedTarget != nil {
		// A seed node (key 19): an intro request in its protocol. The
		// introducer is a verified peer whose puncture requests are rate
		// limited (b.punctures), as for walkie targets.
		if o.seedOn() {
			o.seedPuncture(req.SeedTarget.WAN, peerIDOfSeed(req.SeedTarget.ID), proto.MaxDatagram, now)
		}
		return
	}
	t := req.Target
	if t.ID == o.cfg.PeerID {
		return
	}
	to := o.voterFor(t.WAN.Addr()).pick(t.LAN, t.WAN)
	if !routable(to) {
		o.m.Drop(DropBadAddress)
		return
	}
	if known := o.table.get(t.ID); known != nil && known.addr == to {
		return // already talking; no hole to open
	}
	if o.table.full() {
		return // we could not keep the peer: no hole to open
	}
	o.out.send(to, o.s.pun.to(o.tok, o.lan, to, req.Nonce, now), 0, 0, PuncturesSent)
	o.plan(t.ID, to, t.WAN, req.TargetNAT, req.TargetTicket, now)
}

// onPuncture accepts a puncture from an invitee we were told to expect, and
// answers it with a request that carries the invitee's token, so that the
// invitee verifies us in one round trip.
func (o *Overlay) onPuncture(p *packet, pun *proto.Puncture, now time.Time) {
	o.m.Add(PuncturesReceived, 1)
	id, ok := o.table.inviteeAt(p.from, now)
	if !ok || id != p.hdr.Sender {
		o.m.Drop(DropUnexpectedPuncture)
		return
	}
	if known := o.table.get(id); known != nil && known.addr == p.from {
		return
	}
	o.sendIntroRequest(p.from, pun.Token, true, now)
}

// peerAdded records a new verified peer (and the first one's time). A peer
// that was an expected invitee is a puncture that worked.
func (o *Overlay) peerAdded(q *peer, now time.Time) {
	o.log.Debug("peer verified", "peer", q.id, "addr", q.addr)
	if o.table.met(q.id) {
		o.m.Puncture(true)
	}
	if o.firstPeer == 0 {
		o.firstPeer = max(now.Sub(o.started), time.Nanosecond)
		o.m.FirstPeer(o.firstPeer)
		o.log.Info("first peer", "peer", q.id, "addr", q.addr, "after", o.firstPeer)
	}
	o.m.Peers(o.table.len(), o.table.candidates())
}
