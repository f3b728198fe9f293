package core

import (
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// A quiet node (Config.Quiet: a phone on the mobile profile) pays for every
// packet, sent or received: the radio wakes up for each. It says so in its
// requests, so its peers walk to others; it introduces others only where
// that is needed (a requester short of peers, or one that moved); and it
// sends each peer only what keeps both sides' state alive: the NAT mapping
// wants traffic either way within KeepAlive (a peer's keep-alives refresh
// it too), and the peer wants to hear from us within its PeerTimeout
// (60 s by default), so we answer a keep-alive only after quietAnswer of
// silence, and speak up ourselves after quietSilence: one datagram to each
// peer every 35 to 55 s. And it leaves the rekeying of sessions to the
// peer where it can (Overlay.rekeyAt).
const (
	// quietAnswer: a quiet node answers a peer's keep-alive only when it
	// has sent that peer nothing for this long. Peers send keep-alives
	// every 15 to 20 s: the first one after 35 s is answered.
	quietAnswer = 35 * time.Second
	// quietSilence: a quiet node sends a keep-alive of its own to a peer it
	// has sent nothing for this long, whatever the peer sends it. It goes
	// at the next tick (within KeepAlive/4, 6.25 s on the mobile profile),
	// so the peer hears from us within 55 s: inside the default
	// PeerTimeout (60 s).
	quietSilence = 48 * time.Second
)

// quietSkip handles, on a quiet node, a keep-alive from a peer that heard
// from us less than quietAnswer ago: it counts as hearing the peer, and
// goes unanswered. It reports whether it did.
func (o *Overlay) quietSkip(p *packet, req *proto.IntroRequest, now time.Time) bool {
	if !o.cfg.Quiet || !req.KeepAlive {
		return false
	}
	q := o.table.at(p.from)
	if q == nil || q.id != p.hdr.Sender || now.Sub(q.lastSent) >= quietAnswer {
		return false
	}
	if q.authenticated() != (p.sess != nil && p.sess.peer == q.id) {
		return false // not provably that peer: the usual path decides
	}
	q.heard(now)
	return true
}

// keepAliveDue reports whether peer p needs a keep-alive now (slack: the
// time to the next tick). A node sends one when p has not heard from it
// for KeepAlive; a quiet node only when nothing went either way for
// KeepAlive, or p has not heard from it for quietSilence.
func (o *Overlay) keepAliveDue(p *peer, slack time.Duration, now time.Time) bool {
	if !o.cfg.Quiet {
		return now.Sub(p.lastSent)+slack >= o.cfg.KeepAlive
	}
	last := p.lastSent
	if p.lastHeard.After(last) {
		last = p.lastHeard
	}
	return now.Sub(last)+slack/2 >= o.cfg.KeepAlive || now.Sub(p.lastSent) >= quietSilence
}
