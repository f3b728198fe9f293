package core

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// NAT behaviour discovery with one observer (RFC 5780, section 4.3, with
// one IP and two ports). The votes (vote.go) need two observers that
// agree; a host whose only public contact is one node has one, and one
// observer cannot tell a symmetric NAT (a new public port for every
// destination) from a cone. So a public node opens a second socket
// (Config.Alt) and names its port in its answers (body key 17): a
// requester whose NAT the votes cannot classify asks that port too, and
// compares where the node saw it from each. The same mapping twice: cone
// (or public, if it is our LAN address); one IP, two ports: symmetric.
//
// This classifies the NAT and nothing else: the answers from the second
// port never vote, so the WAN address still needs two agreeing observers,
// and one liar still cannot set it. The IP that one observer reports is
// shown as provisional (wan_ip_provisional) and is what our port
// prediction ticket names until the votes know better.

// altRetry is how long a test of the second port waits before it is tried
// again without an answer (or after one that settled nothing).
const altRetry = 30 * time.Second

// discovery is the worker's state of the test: the observer being tested,
// where its main port saw us, and the verdict.
type discovery struct {
	primary netip.AddrPort // where the observer's main port saw us, when we asked its second one
	alt     netip.AddrPort // the second port we asked
	asked   time.Time      // zero: no test in flight
	// The verdict; NATUnknown until a test settled one.
	nat  NATType
	ip   netip.Addr
	hint proto.NATHint
}

// offer looks at an answer from the observer at from, which saw us at seen
// and names its second port alt, and returns where to ask if a test is due:
// only while the votes cannot tell (nat unknown), only of an observer that
// votes (not on our LAN, of our first family), and at most once per
// altRetry.
func (d *discovery) offer(v *voter, from, seen netip.AddrPort, alt uint16, now time.Time) (netip.AddrPort, bool) {
	if alt == 0 || v.nat != NATUnknown || d.nat != NATUnknown || !v.counts(from.Addr(), seen) ||
		familyOf(from.Addr()) != familyOf(v.lan.Addr()) || (!d.asked.IsZero() && now.Sub(d.asked) < altRetry) {
		return netip.AddrPort{}, false
	}
	d.primary, d.alt, d.asked = unmapped(seen), netip.AddrPortFrom(from.Addr(), alt), now
	return d.alt, true
}

// answer records what the second port saw (seen), and reports whether the
// verdict changed. lan is our own address: the same mapping as it is no
// NAT at all.
func (d *discovery) answer(from, seen, lan netip.AddrPort) bool {
	if d.asked.IsZero() || from != d.alt {
		return false
	}
	d.asked = time.Time{}
	seen = unmapped(seen)
	old := d.nat
	switch p := d.primary; {
	case !seen.IsValid() || seen.Addr() != p.Addr():
		return false // two IPs: a pool, or a liar; nothing settled
	case seen == p && seen == lan:
		d.nat, d.hint = NATPublic, proto.NATHint{Kind: proto.NATEasy}
	case seen == p:
		d.nat, d.hint = NATCone, proto.NATHint{Kind: proto.NATEasy}
	default:
		d.nat, d.hint = NATSymmetric, portsHint(p.Port(), seen.Port())
	}
	d.ip = seen.Addr()
	return d.nat != old
}

// portsHint is the NAT hint of a symmetric NAT that gave two mappings,
// ports a then b: sequential if they lie a small step apart, else random.
func portsHint(a, b uint16) proto.NATHint {
	step := max(int(a)-int(b), int(b)-int(a))
	if step < 1 || step > proto.MaxNATStep {
		return proto.NATHint{Kind: proto.NATRandom}
	}
	return proto.NATHint{Kind: proto.NATSequential, Port: max(a, b), Step: uint8(step)}
}

func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// askAlt sends the test's request to an observer's second port: a
// keep-alive (no introduction), without a token (the observer does not
// know us there), padded as every tokenless request is. Its answer only
// classifies (onAltAnswer).
func (o *Overlay) askAlt(to netip.AddrPort, now time.Time) {
	if len(o.asked) >= maxOutstanding {
		return
	}
	nonce := rand.Uint64()
	o.s.ask = proto.IntroRequest{Nonce: nonce, LAN: o.lan, KeepAlive: true, Reach: o.reach, Quiet: o.cfg.Quiet}
	if o.out.send(to, &o.s.ask, o.cfg.MinRequestSize, 0, IntroRequestsSent) {
		o.asked[nonce] = outstanding{to: to, sent: now, keepAlive: true, alt: true}
	}
}

// onAltAnswer takes the answer of an observer's second port: it classifies
// our NAT, and does nothing else (no vote, no peer: that address is not
// one).
func (o *Overlay) onAltAnswer(p *packet, now time.Time) {
	if o.disc.answer(p.from, p.hdr.Dest, o.lan) {
		o.log.Info("NAT type from one observer's two ports", "nat", o.disc.nat, "ip", o.disc.ip, "hint", o.disc.hint)
		o.m.WAN(familyOf(o.lan.Addr()), o.votes.wan, o.natType())
		// Walk at once: our requests now carry the NAT hint that
		// introducers pair us by (port prediction, for a symmetric NAT).
		o.dry, o.nextWalk, o.rearm = 0, now, true
	}
}

// onAlt answers a packet that came to our second port (Config.Alt): an
// intro request gets the address we see it at (the header's destination)
// and its nonce, nothing more, from the second port, never larger than the
// request. Everything else is dropped: the second port is for the test.
func (o *Overlay) onAlt(p *packet) {
	if p.hdr.Type != proto.TypeIntroRequest {
		o.m.Drop(DropUnknownType)
		return
	}
	if err := proto.DecodeIntroRequestInto(p.body, &o.s.req); err != nil {
		o.m.Drop(dropReasonOf(err))
		return
	}
	o.m.Add(IntroRequestsReceived, 1)
	o.s.answer = proto.IntroResponse{Nonce: o.s.req.Nonce}
	o.out.answerVia(o.cfg.Alt, p.from, &o.s.answer, p.n, IntroResponsesSent)
}

// altPort is the second port our answers name: only while we look public
// (the votes say so, or say nothing yet and our own address is a public
// one), since a NAT in front of us would not let a request to it in.
func (o *Overlay) altPort() uint16 {
	if o.cfg.Alt == nil {
		return 0
	}
	v := o.votes
	if v.nat == NATPublic || (v.nat == NATUnknown && !isLocalScope(o.lan.Addr()) && o.lan.Addr().IsGlobalUnicast()) {
		return o.cfg.Alt.LocalAddr().Port()
	}
	return 0
}

// natType is our NAT type: the votes', or while they cannot tell, the
// second port test's.
func (o *Overlay) natType() NATType {
	if o.votes.nat != NATUnknown {
		return o.votes.nat
	}
	return o.disc.nat
}

// votedHint is our NAT hint without Wants, from natType's source.
func (o *Overlay) votedHint() proto.NATHint {
	if o.votes.nat != NATUnknown {
		return o.votes.hint()
	}
	return o.disc.hint
}

// ticketIP is the public IP our port prediction ticket names: the votes',
// else the one the second port test saw. A symmetric node with one
// observer has no other, and the attempt's partner aims only where the
// introducer says and the ticket agrees (ticket.go).
func (o *Overlay) ticketIP() netip.Addr {
	if o.votes.ip.IsValid() {
		return o.votes.ip
	}
	return o.disc.ip
}

// provisionalIP is the public IP one observer reports while the votes
// have not decided it (wan_ip_provisional in /status): the second port
// test's, or the IP every vote so far names.
func (o *Overlay) provisionalIP() netip.Addr {
	v := o.votes
	if v.ip.IsValid() {
		return netip.Addr{}
	}
	if o.disc.ip.IsValid() {
		return o.disc.ip
	}
	var ip netip.Addr
	for _, a := range v.votes {
		if ip.IsValid() && a.addr.Addr() != ip {
			return netip.Addr{}
		}
		ip = a.addr.Addr()
	}
	return ip
}

// natReason says why our NAT type is unknown ("" once it is known), for
// /status: one of no_observers, same_lan, one_observer,
// observers_disagree.
func (o *Overlay) natReason() string {
	if o.natType() != NATUnknown {
		return ""
	}
	v := o.votes
	switch {
	case len(v.votes) == 0 && v.local:
		return "same_lan" // only observers on our own LAN answered: they see our LAN address
	case len(v.votes) == 0:
		return "no_observers"
	case len(v.votes) == 1:
		return "one_observer" // and it offered no second port, or that port did not answer
	}
	return "observers_disagree"
}
