package core

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// The worker's side of identity: who may be a peer, handshakes, sessions
// as peers move and rekey. handshake.go keeps the handshakes' own state,
// session.go the keys.

// auth is that side's component: it owns the handshakes and the record of
// stale sessions answered, and decides who is a peer; the worker calls it
// with each packet and the time. What a new peer sets off beyond identity
// (metrics of the walk, the first peer) and the introduction requests it
// sends are the worker's, reached through added and ask; rearm is the
// worker's flag that its timer must be recomputed (handshake resends are
// due within a second).
type auth struct {
	shakes       *handshakes                  // nil without Config.Key: a node of the previous release
	stale        map[netip.AddrPort]time.Time // onStale: when the next introduction to an address may go
	table        *peerTable
	out          *sender
	tok          *tokens
	m            Metrics
	log          *slog.Logger
	quiet        bool    // Config.Quiet: rekeyAt
	punctureRate float64 // Config.PunctureRate, for the peers it admits
	rearm        *bool
	added        func(q *peer, now time.Time)
	ask          func(to netip.AddrPort, tok []byte, keepAlive bool, now time.Time)
}

// mustProve reports whether a peer claiming id must prove its key before
// it is a peer: a key-derived ID is only ever held by the key's owner. A
// node without a key (the previous release) takes every claim, as it did.
func (a *auth) mustProve(id proto.ID) bool { return a.shakes != nil && id.KeyDerived() }

// admit records that the sender of p, whose address is verified (a token,
// or an answer to our request), spoke, and returns it as a peer: a peer
// that proved its key in the session p came in, or a peer of the previous
// release at p's address. A key-derived claim that is not proven is no
// peer (nil); nor is a plaintext packet from an authenticated peer's
// address (it may have been in flight before the handshake; or the peer
// restarted and lost its session: then it starts a new handshake, whose
// session replaces the old one, since we answer it in plaintext).
func (a *auth) admit(p *packet, now time.Time) (*peer, bool) {
	if p.sess != nil {
		q := a.table.get(p.sess.peer)
		if q != nil {
			q.heard(now)
		}
		return q, false
	}
	if q := a.table.at(p.from); q != nil && q.authenticated() {
		return nil, false
	}
	if a.mustProve(p.hdr.Sender) {
		a.m.Drop(DropUnauthenticated)
		return nil, false
	}
	return a.table.upsert(p.hdr.Sender, p.from, now, a.punctureRate)
}

// shake starts a handshake with the peer id at to, whose token for our
// address is token, unless one is in flight or we could not keep the peer.
func (a *auth) shake(to netip.AddrPort, id proto.ID, token []byte, now time.Time) {
	if a.table.full() && a.table.get(id) == nil {
		return
	}
	m, err := a.shakes.start(id, to, token, now)
	if err != nil {
		a.log.Warn("handshake: cannot start", "peer", id, "err", err)
		return
	}
	if m != nil && a.out.send(to, m, 0, 0, uncounted) {
		a.m.Add(HandshakesStarted, 1)
		*a.rearm = true // resends are due within a second
	}
}

// onHandshake takes one step of a handshake, and when it completes on our
// side, makes the peer an authenticated one.
func (a *auth) onHandshake(p *packet, m *proto.Handshake, now time.Time) {
	// New keys for a session (a rekey) come sealed in it, from where the
	// peer is: no token needed (the one it has may be too old by now).
	tokenOK := m.Step == 1 && (a.atHome(p) || a.tok.valid(m.Token, p.from, now))
	reply, sess, err := a.shakes.receive(p.from, p.hdr.Sender, m, tokenOK, now)
	if err != nil {
		a.m.Drop(DropHandshake)
		a.log.Debug("handshake refused", "from", p.from, "peer", p.hdr.Sender, "step", m.Step, "err", err)
		return
	}
	if reply != nil {
		// Before the new session is installed: step 3 must go in the old
		// one, or in plaintext, since the responder has only those.
		a.out.send(p.from, reply, 0, 0, uncounted)
		*a.rearm = true
	}
	if sess != nil {
		a.authenticated(sess, p.from, now)
	}
}

// authenticated makes the peer of a session that just completed a peer,
// at addr, and its session the one we seal in. Then it sends a sealed
// keep-alive at once: the peer's answer confirms the session to the
// initiator, and gets its communities and a token.
func (a *auth) authenticated(sess *session, addr netip.AddrPort, now time.Time) {
	q, isNew := a.table.authenticate(sess.peer, sess.key, sess, addr, now, a.punctureRate)
	if q == nil {
		return // the table is full: the session is not installed, and goes
	}
	a.shakes.install(sess)
	a.out.sealFor(addr, sess)
	a.m.Add(HandshakesCompleted, 1)
	a.log.Debug("peer authenticated", "peer", q.id, "addr", addr)
	if isNew {
		a.added(q, now)
	}
	if sess.initiator && q.prev != nil {
		return // new keys for a session: the responder's keep-alive confirms them
	}
	// Sealed, even inside the answer to a plaintext step: both sides have
	// the session now.
	a.out.plainTo = netip.AddrPort{}
	a.ask(addr, q.token, true, now)
}

// roam follows an authenticated peer whose sealed packet came from a new
// address: the session belongs to the key, not the address, so a peer that
// moved is ours again at once. Answers to the new address still need its
// token (amplification stays at most 1x toward an address it did not
// prove).
func (a *auth) roam(p *packet) {
	q := a.table.get(p.sess.peer)
	if q == nil || q.addr == p.from {
		return
	}
	a.log.Debug("peer moved", "peer", q.id, "from", q.addr, "to", p.from)
	a.out.unseal(q.addr, q.sess)
	a.table.move(q, p.from)
	q.roamed = true
	a.out.sealFor(p.from, q.sess)
}

// atHome reports whether p came sealed in the session of the peer at its
// source address, an address the peer proved (it did not only roam there):
// as good a proof that the requester receives there as a token, and one
// that does not expire. A quiet peer speaks to us seldom, so the token it
// echoes is often too old.
func (a *auth) atHome(p *packet) bool {
	if p.sess == nil {
		return false
	}
	q := a.table.at(p.from)
	return q != nil && q.id == p.sess.peer && q.sess == p.sess && !q.roamed
}

// authTick sends the handshake messages that are due again, retires
// sessions that were replaced or are spent, and starts the next handshake
// of sessions we began that are due for new keys.
func (a *auth) tick(now time.Time) {
	a.shakes.tick(now, func(to netip.AddrPort, m *proto.Handshake) {
		a.out.send(to, m, 0, 0, uncounted)
	}, func(s *session) {
		// Never confirmed: the peer did not get our last step.
		if q := a.table.get(s.peer); q != nil && q.sess == s {
			a.table.remove(q.id)
		}
	})
	var spent []proto.ID
	for _, q := range a.table.peers() {
		if q.prev != nil && now.After(q.prevUntil) {
			a.shakes.remove(q.prev)
			q.prev = nil
		}
		s := q.sess
		switch {
		case s == nil:
		case now.Sub(s.created) >= rejectAfter || s.sendCtr >= rejectAfterMessages:
			spent = append(spent, q.id) // and no new keys came: prove them again from scratch
		case (now.Sub(s.created) >= a.rekeyAt(s) || s.sendCtr >= rekeyAfterMessages) && len(q.token) > 0:
			a.shake(q.addr, q.id, q.token, now)
		}
	}
	for _, id := range spent {
		a.table.remove(id)
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
func (a *auth) rekeyAt(s *session) time.Duration {
	switch {
	case !s.initiator:
		return rekeyAfter + rekeyLate
	case a.quiet:
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
func (a *auth) onStale(p *packet, now time.Time) {
	if next, ok := a.stale[p.from]; ok && now.Before(next) {
		return
	}
	if len(a.stale) >= maxStale {
		clear(a.stale)
	}
	a.stale[p.from] = now.Add(staleEvery)
	if a.table.at(p.from) == nil {
		a.ask(p.from, nil, false, now)
	}
}
