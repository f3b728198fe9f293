package core

import (
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// The worker's side of identity: who may be a peer, handshakes, sessions
// as peers move and rekey. handshake.go keeps the handshakes' own state,
// session.go the keys.

// mustProve reports whether a peer claiming id must prove its key before
// it is a peer: a key-derived ID is only ever held by the key's owner. A
// node without a key (the previous release) takes every claim, as it did.
func (o *Overlay) mustProve(id proto.ID) bool { return o.shakes != nil && id.KeyDerived() }

// admit records that the sender of p, whose address is verified (a token,
// or an answer to our request), spoke, and returns it as a peer: a peer
// that proved its key in the session p came in, or a peer of the previous
// release at p's address. A key-derived claim that is not proven is no
// peer (nil); nor is a plaintext packet from an authenticated peer's
// address (it may have been in flight before the handshake; or the peer
// restarted and lost its session: then it starts a new handshake, whose
// session replaces the old one, since we answer it in plaintext).
func (o *Overlay) admit(p *packet, now time.Time) (*peer, bool) {
	if p.sess != nil {
		q := o.table.get(p.sess.peer)
		if q != nil {
			q.heard(now)
		}
		return q, false
	}
	if q := o.table.at(p.from); q != nil && q.authenticated() {
		return nil, false
	}
	if o.mustProve(p.hdr.Sender) {
		o.m.Drop(DropUnauthenticated)
		return nil, false
	}
	return o.table.upsert(p.hdr.Sender, p.from, now, o.cfg.PunctureRate)
}

// shake starts a handshake with the peer id at to, whose token for our
// address is token, unless one is in flight or we could not keep the peer.
func (o *Overlay) shake(to netip.AddrPort, id proto.ID, token []byte, now time.Time) {
	if o.table.full() && o.table.get(id) == nil {
		return
	}
	m, err := o.shakes.start(id, to, token, now)
	if err != nil {
		o.log.Warn("handshake: cannot start", "peer", id, "err", err)
		return
	}
	if m != nil && o.out.send(to, m, 0, 0, uncounted) {
		o.m.Add(HandshakesStarted, 1)
		o.rearm = true // resends are due within a second
	}
}

// onHandshake takes one step of a handshake, and when it completes on our
// side, makes the peer an authenticated one.
func (o *Overlay) onHandshake(p *packet, m *proto.Handshake, now time.Time) {
	// New keys for a session (a rekey) come sealed in it, from where the
	// peer is: no token needed (the one it has may be too old by now).
	tokenOK := m.Step == 1 && (o.atHome(p) || o.tok.valid(m.Token, p.from, now))
	reply, sess, err := o.shakes.receive(p.from, p.hdr.Sender, m, tokenOK, now)
	if err != nil {
		o.m.Drop(DropHandshake)
		o.log.Debug("handshake refused", "from", p.from, "peer", p.hdr.Sender, "step", m.Step, "err", err)
		return
	}
	if reply != nil {
		// Before the new session is installed: step 3 must go in the old
		// one, or in plaintext, since the responder has only those.
		o.out.send(p.from, reply, 0, 0, uncounted)
		o.rearm = true
	}
	if sess != nil {
		o.authenticated(sess, p.from, now)
	}
}

// authenticated makes the peer of a session that just completed a peer,
// at addr, and its session the one we seal in. Then it sends a sealed
// keep-alive at once: the peer's answer confirms the session to the
// initiator, and gets its communities and a token.
func (o *Overlay) authenticated(sess *session, addr netip.AddrPort, now time.Time) {
	q, isNew := o.table.authenticate(sess.peer, sess.key, sess, addr, now, o.cfg.PunctureRate)
	if q == nil {
		return // the table is full: the session is not installed, and goes
	}
	o.shakes.install(sess)
	o.out.sealFor(addr, sess)
	o.m.Add(HandshakesCompleted, 1)
	o.log.Debug("peer authenticated", "peer", q.id, "addr", addr)
	if isNew {
		o.peerAdded(q, now)
	}
	if sess.initiator && q.prev != nil {
		return // new keys for a session: the responder's keep-alive confirms them
	}
	// Sealed, even inside the answer to a plaintext step: both sides have
	// the session now.
	o.out.plainTo = netip.AddrPort{}
	o.sendIntroRequest(addr, q.token, true, now)
}

// roam follows an authenticated peer whose sealed packet came from a new
// address: the session belongs to the key, not the address, so a peer that
// moved is ours again at once. Answers to the new address still need its
// token (amplification stays at most 1x toward an address it did not
// prove).
func (o *Overlay) roam(p *packet) {
	q := o.table.get(p.sess.peer)
	if q == nil || q.addr == p.from {
		return
	}
	o.log.Debug("peer moved", "peer", q.id, "from", q.addr, "to", p.from)
	o.out.unseal(q.addr, q.sess)
	o.table.move(q, p.from)
	q.roamed = true
	o.out.sealFor(p.from, q.sess)
}

// atHome reports whether p came sealed in the session of the peer at its
// source address, an address the peer proved (it did not only roam there):
// as good a proof that the requester receives there as a token, and one
// that does not expire. A quiet peer speaks to us seldom, so the token it
// echoes is often too old.
func (o *Overlay) atHome(p *packet) bool {
	if p.sess == nil {
		return false
	}
	q := o.table.at(p.from)
	return q != nil && q.id == p.sess.peer && q.sess == p.sess && !q.roamed
}

// authTick sends the handshake messages that are due again, retires
// sessions that were replaced or are spent, and starts the next handshake
// of sessions we began that are due for new keys.
func (o *Overlay) authTick(now time.Time) {
	o.shakes.tick(now, func(to netip.AddrPort, m *proto.Handshake) {
		o.out.send(to, m, 0, 0, uncounted)
	}, func(s *session) {
		// Never confirmed: the peer did not get our last step.
		if q := o.table.get(s.peer); q != nil && q.sess == s {
			o.table.remove(q.id)
		}
	})
	var spent []proto.ID
	for _, q := range o.table.peers() {
		if q.prev != nil && now.After(q.prevUntil) {
			o.shakes.remove(q.prev)
			q.prev = nil
		}
		s := q.sess
		switch {
		case s == nil:
		case now.Sub(s.created) >= rejectAfter || s.sendCtr >= rejectAfterMessages:
			spent = append(spent, q.id) // and no new keys came: prove them again from scratch
		case (now.Sub(s.created) >= o.rekeyAt(s) || s.sendCtr >= rekeyAfterMessages) && len(q.token) > 0:
			o.shake(q.addr, q.id, q.token, now)
		}
	}
	for _, id := range spent {
		o.table.remove(id)
	}
}

// rekeyLate is how much later than its initiator the responder of a
// session starts the next handshake, if no new keys came meanwhile (the
// initiator's attempt failed, or it is quiet).
const rekeyLate = 20 * time.Second

// rekeyAt is the age at which we start the next handshake of session s:
// its initiator at rekeyAfter, its responder rekeyLate after that, and a
// quiet initiator (Config.Quiet) twice as late, so that a peer that does not
// pay for every packet does the work; all well before rejectAfter.
func (o *Overlay) rekeyAt(s *session) time.Duration {
	switch {
	case !s.initiator:
		return rekeyAfter + rekeyLate
	case o.cfg.Quiet:
		return rekeyAfter + 2*rekeyLate
	}
	return rekeyAfter
}

// staleEvery bounds the introductions onStale sends to one address, and
// maxStale the addresses it remembers doing so.
const (
	staleEvery = 5 * time.Second
	maxStale   = 256
)

// onStale answers a datagram sealed for a session we do not have: its
// sender still holds a session with a node that had our key (we
// restarted). Without a word from us it would seal everything it sends us,
// and never learn; an introduction request from us, in plaintext, is
// answered in plaintext, and the handshake that follows replaces its old
// session. At most one per address every staleEvery, padded like every
// first contact: a spoofer who sends garbage from a victim's address gets
// 128 bytes sent there every 5 s.
func (o *Overlay) onStale(p *packet, now time.Time) {
	if next, ok := o.stale[p.from]; ok && now.Before(next) {
		return
	}
	if len(o.stale) >= maxStale {
		clear(o.stale)
	}
	o.stale[p.from] = now.Add(staleEvery)
	if o.table.at(p.from) == nil {
		o.sendIntroRequest(p.from, nil, false, now)
	}
}
