package core

import (
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// NATType is what the WAN votes say about the NAT in front of this node.
type NATType uint8

// The NAT types, as shown in /status and metrics.
const (
	NATUnknown   NATType = iota // fewer than two agreeing observers
	NATPublic                   // the WAN address equals our LAN address
	NATCone                     // one public mapping for every observer
	NATSymmetric                // one public IP, a different port per observer
)

// String is the type's name in /status and metrics labels.
func (t NATType) String() string {
	switch t {
	case NATPublic:
		return "public"
	case NATCone:
		return "cone"
	case NATSymmetric:
		return "symmetric"
	}
	return "unknown"
}

// vote is one observer's report of our address.
type vote struct {
	observer netip.Prefix // the observer's IP as /32, or its IPv6 /56
	addr     netip.AddrPort
	at       time.Time
}

// voter decides our WAN address from the addresses observers report.
//
// One vote per observer (an IPv6 /56 is one observer, so one host with many
// addresses is one voice), only the most recent `window` observers count, and
// a winner needs a strict majority of the window and at least two agreeing
// observers. A tie keeps the current value. So one liar can never flip the
// address (IPv8 trusts the last response; the seed app flipped after two
// packets), while two honest observers that agree can, after a real move.
type voter struct {
	window int
	lan    netip.AddrPort
	votes  []vote // oldest first, at most window long, one per observer
	wan    netip.AddrPort
	ip     netip.Addr // our public IP, when a majority agrees on it (also behind a symmetric NAT)
	nat    NATType
	// hold: a new winner replaces a WAN address we already have only once it
	// has kept the majority this long. Two liars can be two of the last
	// three observers now and then; keeping it for seconds while honest
	// observers answer too is what they cannot do. A real move keeps it.
	hold        time.Duration
	pending     netip.AddrPort // the challenger, while it waits out hold
	pendingFrom time.Time
	// local: an observer in our own subnet answered, and did not vote (it
	// sees our LAN address); /status says so when nobody else did.
	local bool
}

func newVoter(window int, lan netip.AddrPort, hold time.Duration) *voter {
	if window < 2 {
		window = 2
	}
	return &voter{window: window, lan: lan, hold: hold, votes: make([]vote, 0, window)}
}

// behindUs reports whether a peer whose WAN address is wan sits behind our
// own public IP: then only its LAN address reaches it, since most NATs do
// not hairpin.
func (v *voter) behindUs(wan netip.AddrPort) bool {
	return v.ip.IsValid() && wan.Addr() == v.ip
}

// pick chooses how to reach a peer: its LAN address when it sits behind our
// own public IP, else its WAN address.
func (v *voter) pick(lan, wan netip.AddrPort) netip.AddrPort { return pick(v.ip, lan, wan) }

// pick is voter.pick for a public IP ip (a view's, say).
func pick(ip netip.Addr, lan, wan netip.AddrPort) netip.AddrPort {
	if !wan.IsValid() {
		return lan
	}
	if lan.IsValid() && ip.IsValid() && wan.Addr() == ip {
		return lan
	}
	return wan
}

// familyVotes are our WAN votes, one per IP family we have an address in.
type familyVotes struct {
	first *voter // our first family's, lan's
	v6    *voter // a dual-stack node's IPv6 one; nil otherwise
}

// of returns the vote of a's family: a dual-stack node's IPv6 one for an
// IPv6 address, else the first family's.
func (fv *familyVotes) of(a netip.Addr) *voter {
	if fv.v6 != nil && familyOf(a) == IPv6 {
		return fv.v6
	}
	return fv.first
}

// observed reports whether the observer at ip (its /56 for IPv6) has a vote
// in the window.
func (v *voter) observed(ip netip.Addr) bool {
	k := observerKey(ip)
	for _, o := range v.votes {
		if o.observer == k {
			return true
		}
	}
	return false
}

// challenged reports whether a majority of observers sees us at another
// address than the one we hold (it waits out VoteHold before it wins).
func (v *voter) challenged() bool { return v.pending.IsValid() }

// observerKey groups IPv6 observers by /56: what one subscriber typically gets.
func observerKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 56
	}
	p, _ := ip.Prefix(bits)
	return p
}

// counts reports whether a vote from observer may count. An observer inside
// our own private subnet sees our LAN address, which says nothing about the
// WAN; neither does an invalid report.
func (v *voter) counts(observer netip.Addr, reported netip.AddrPort) bool {
	if !reported.IsValid() || reported.Addr().IsUnspecified() || !observer.IsValid() {
		return false
	}
	if !isLocalScope(observer) || !v.lan.IsValid() {
		return true
	}
	return !sameSubnet(observer, v.lan.Addr()) && !(observer.IsLoopback() && v.lan.Addr().IsLoopback())
}

// sameSubnet reports whether a and b share a /24 (IPv4) or /64 (IPv6): our
// best guess at "the same LAN" without listing interfaces, which Android
// forbids.
func sameSubnet(a, b netip.Addr) bool {
	a, b = a.Unmap(), b.Unmap()
	if !a.IsValid() || !b.IsValid() || a.Is4() != b.Is4() {
		return false
	}
	bits := 24
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p.Contains(b)
}

// isLocalScope reports addresses that are not routable on the internet.
func isLocalScope(ip netip.Addr) bool {
	return ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast()
}

// add records that observer saw us at reported. It returns true when the WAN
// address or NAT type changed.
func (v *voter) add(observer netip.Addr, reported netip.AddrPort, now time.Time) bool {
	if !v.counts(observer, reported) {
		v.local = v.local || reported.IsValid()
		return false
	}
	reported = netip.AddrPortFrom(reported.Addr().Unmap(), reported.Port())
	key := observerKey(observer)
	for i, old := range v.votes {
		if old.observer == key {
			v.votes = append(v.votes[:i], v.votes[i+1:]...)
			break
		}
	}
	if len(v.votes) == v.window {
		v.votes = append(v.votes[:0], v.votes[1:]...)
	}
	v.votes = append(v.votes, vote{observer: key, addr: reported, at: now})
	return v.decide(now)
}

// decide recomputes the WAN address and NAT type from the window.
func (v *voter) decide(now time.Time) bool {
	oldWAN, oldNAT := v.wan, v.nat
	w, ok := v.majority(func(a vote) netip.AddrPort { return a.addr })
	switch {
	case !ok || w == v.wan:
		v.pending = netip.AddrPort{}
	case !v.wan.IsValid():
		v.wan, v.pending = w, netip.AddrPort{} // a first address needs no wait
	default: // a challenger to the address we have
		if w != v.pending {
			v.pending, v.pendingFrom = w, now
		}
		if now.Sub(v.pendingFrom) >= v.hold {
			v.wan, v.pending = w, netip.AddrPort{}
		}
	}
	ipWin, ipOK := v.majority(func(a vote) netip.AddrPort { return netip.AddrPortFrom(a.addr.Addr(), 0) })
	if ipOK {
		v.ip = ipWin.Addr()
	}
	switch {
	case v.wan.IsValid() && v.wan == v.lan:
		v.nat = NATPublic
	case v.wan.IsValid() && v.agree(func(a vote) bool { return a.addr == v.wan }):
		v.nat = NATCone
	case ipOK && v.portsDiffer(ipWin.Addr()):
		// Same IP, a new port for each observer: nobody can reach us at the
		// port another observer saw, so there is no stable WAN address.
		v.nat = NATSymmetric
		v.wan = netip.AddrPort{}
	}
	return v.wan != oldWAN || v.nat != oldNAT
}

// majority returns the key that a strict majority of the window, and at least
// two observers, agree on.
func (v *voter) majority(key func(vote) netip.AddrPort) (netip.AddrPort, bool) {
	for i := range v.votes {
		k := key(v.votes[i])
		n := 0
		for j := range v.votes {
			if key(v.votes[j]) == k {
				n++
			}
		}
		if n >= 2 && 2*n > len(v.votes) {
			return k, true
		}
	}
	return netip.AddrPort{}, false
}

// agree reports whether a strict majority of the votes satisfy f.
func (v *voter) agree(f func(vote) bool) bool {
	n := 0
	for _, a := range v.votes {
		if f(a) {
			n++
		}
	}
	return n >= 2 && 2*n > len(v.votes)
}

// portsDiffer reports whether at least two votes name ip with different ports
// and no port has a majority among them.
func (v *voter) portsDiffer(ip netip.Addr) bool {
	ports := map[uint16]int{}
	total := 0
	for _, a := range v.votes {
		if a.addr.Addr() == ip {
			ports[a.addr.Port()]++
			total++
		}
	}
	if total < 2 || len(ports) < 2 {
		return false
	}
	for _, n := range ports {
		if 2*n > total {
			return false
		}
	}
	return true
}

// seqSpan: the ports that the window's observers saw behind a sequential NAT
// lie within this many ports of each other (the NAT hands out one port per
// new destination, and a node opens hundreds, not thousands, between the
// votes of one window). Three random ports in so narrow a span happen about
// one time in a hundred.
const seqSpan = 4096

// hint describes our NAT for peers: easy (public or cone), or how a
// symmetric NAT moves its ports. Sequential: the votes for our public IP lie
// within seqSpan, and their differences share a step of at most
// proto.MaxNATStep; Port is the highest, the newest mapping we know of.
func (v *voter) hint() proto.NATHint {
	switch v.nat {
	case NATPublic, NATCone:
		return proto.NATHint{Kind: proto.NATEasy}
	case NATSymmetric:
	default:
		return proto.NATHint{}
	}
	lo, hi, first, step := 65535, 0, -1, 0
	for _, a := range v.votes {
		if a.addr.Addr() != v.ip {
			continue
		}
		p := int(a.addr.Port())
		lo, hi = min(lo, p), max(hi, p)
		if first < 0 {
			first = p
		} else {
			step = gcd(step, max(p-first, first-p))
		}
	}
	if hi-lo > seqSpan || step == 0 || step > proto.MaxNATStep {
		return proto.NATHint{Kind: proto.NATRandom}
	}
	return proto.NATHint{Kind: proto.NATSequential, Port: uint16(hi), Step: uint8(step)}
}

// vote counts the address the sender saw us at. Only answers to requests we
// chose to send vote (they echo our nonce, so the sender is no spoofer, and
// it cannot vote more often than we ask it). Observers that agree on
// another address than the one we hold say we moved, or our NAT rebound:
// then we contact our peers again, at most once a minute for that reason.
func (o *Overlay) vote(from, dest netip.AddrPort, now time.Time) {
	v, f := o.votes.first, familyOf(o.lan.Addr())
	if rf := familyOf(dest.Addr()); rf != f {
		// The other family's observer: its own vote, or none on a node
		// that has no address in that family.
		if v, f = o.votes.v6, IPv6; v == nil {
			return
		}
	}
	old := v.wan
	changed := v.add(from.Addr(), dest, now)
	if v.challenged() && !o.repairs.on(now) && now.Sub(o.repairs.byVotes) >= voteRepairEvery {
		o.repairs.byVotes = now
		o.log.Info("observers see us at another address; contacting every peer again")
		o.repair(now, true)
	}
	if changed {
		if v.wan != old {
			o.m.Add(WANAddressChanges, 1)
		}
		nat := v.nat
		if v == o.votes.first {
			nat = o.disc.natType(v) // unknown to the votes: the second port test's
		}
		o.m.WAN(f, v.wan, nat)
		o.log.Info("WAN address", "family", f, "wan", v.wan, "nat", v.nat)
	}
}
