package core

import (
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// How the two sides of a port prediction attempt agree to make one: each
// announces its NAT and whether it is ready (prober.hint), and the
// introducer gives both the same verdict (probePair). An attempt that one
// side starts alone costs hundreds of packets for nothing.

// hint is the NAT hint we announce: h as the votes say (nat is the type they
// decided), with Wants, whether we would take part in an attempt now: not
// switched off, none in flight, start budget left, and either symmetric,
// short of peers (we have peers) and able to open probe sockets, or a cone
// (a public node needs no probes). In make sim most sprays went unanswered
// while Wants ignored whether a node was busy.
func (pr *prober) hint(h proto.NATHint, nat NATType, peers int, now time.Time) proto.NATHint {
	ready := !pr.cfg.NoPortPrediction && pr.att == nil && pr.starts.TokensAt(now) >= 1
	switch h.Kind {
	case proto.NATRandom, proto.NATSequential:
		h.Wants = ready && pr.cfg.ListenProbe != nil && pr.out.routeCount() < pr.cfg.MaxProbeRoutes &&
			peers < pr.cfg.TargetPeers
	case proto.NATEasy:
		h.Wants = ready && nat == NATCone
	}
	return h
}

// probePair is an introducer's verdict on a port prediction attempt between
// requester A (its hint as just announced) and invitee c: one side hard,
// the other easy, both ready, c's readiness fresh.
func probePair(a proto.NATHint, c *peer, now time.Time) bool {
	return a.Wants && c.nat.Wants && now.Sub(c.natAt) < natFresh &&
		a.Kind != proto.NATUnknown && c.nat.Kind != proto.NATUnknown && isHard(a) != isHard(c.nat)
}

// isHard reports a symmetric NAT: one whose next port a peer cannot know.
func isHard(h proto.NATHint) bool { return h.Kind == proto.NATRandom || h.Kind == proto.NATSequential }
