package core

import (
	"errors"
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// IP families between peers. A phone may have IPv4 only, IPv6 only
// (often behind a carrier's NAT64, which reaches IPv4 hosts at addresses
// inside a prefix), or both. The node says in every request which
// families it can send to (proto.Reach); an introducer pairs two peers only
// when each can reach the other's address, or the invitee is public (the
// requester's own packet then gets through, and the answer returns the way
// it came); and the node never sends to a family it has no route to: such
// a datagram is dropped and counted (no_route).
//
// With a NAT64 prefix (Config.NAT64, Overlay.SetNAT64) an IPv6-only node
// writes to an IPv4 peer at the address the prefix embeds it in (RFC 6052)
// and reads the peer's answers from there; inside the node the peer is at
// its IPv4 address, as every other node knows it, so that the peer table,
// sessions, tokens and introductions need no translation.

// errNoRoute is the error of a datagram to a family the node cannot reach.
var errNoRoute = errors.New("walkie: no route to that IP family")

// reachOf says which families a node with LAN address lan (its first
// family), dual-stack IPv6 address lan6 and NAT64 prefix nat64 can send to.
// A LAN address that is unspecified IPv6 ([::], a dual-stack socket whose
// route nobody checked) or invalid says nothing: both.
func reachOf(lan, lan6 netip.AddrPort, nat64 netip.Prefix) proto.Reach {
	a := lan.Addr().Unmap()
	switch {
	case !a.IsValid() || (a.Is6() && a.IsUnspecified()):
		return proto.ReachIPv4 | proto.ReachIPv6
	case a.Is4():
		r := proto.ReachIPv4
		if lan6.Addr().Unmap().Is6() {
			r |= proto.ReachIPv6
		}
		return r
	}
	r := proto.ReachIPv6
	if nat64.IsValid() {
		r |= proto.ReachIPv4
	}
	return r
}

// reaches reports whether r includes a's family.
func reaches(r proto.Reach, a netip.Addr) bool {
	if familyOf(a) == IPv6 {
		return r&proto.ReachIPv6 != 0
	}
	return r&proto.ReachIPv4 != 0
}

// peerReach is what a peer said it reaches, or, if it said nothing (a node
// of an earlier release), the family we see it in.
func peerReach(said proto.Reach, addr netip.AddrPort) proto.Reach {
	if said != 0 {
		return said
	}
	if familyOf(addr.Addr()) == IPv6 {
		return proto.ReachIPv6
	}
	return proto.ReachIPv4
}

// pairable reports whether an introduction of a and b can end with them
// hearing each other, as far as families go: a reaches b's address, and b
// reaches a's or is public (it answers a's packet where it came from).
func pairable(a, b *peer) bool {
	return reaches(a.reach, b.addr.Addr()) && (reaches(b.reach, a.addr.Addr()) || b.lan == b.addr)
}

// ValidNAT64 checks a NAT64 prefix: an IPv6 prefix of one of the lengths
// RFC 6052 defines (32, 40, 48, 56, 64 or 96), nothing set beyond its
// length, and bits 64 to 71 zero (RFC 6052 reserves them).
func ValidNAT64(p netip.Prefix) error {
	if !p.IsValid() || !p.Addr().Is6() || p.Addr().Is4In6() {
		return errors.New("a NAT64 prefix is an IPv6 prefix, such as 64:ff9b::/96")
	}
	switch p.Bits() {
	case 32, 40, 48, 56, 64, 96:
	default:
		return errors.New("a NAT64 prefix is /32, /40, /48, /56, /64 or /96 long (RFC 6052)")
	}
	if p.Masked() != p {
		return errors.New("a NAT64 prefix has no bits set beyond its length")
	}
	if p.Addr().As16()[8] != 0 {
		return errors.New("a NAT64 prefix has bits 64 to 71 zero (RFC 6052)")
	}
	return nil
}

// embed4 returns the IPv6 address that NAT64 prefix p gives IPv4 address
// v4 (RFC 6052 section 2.2: the 32 bits go around the reserved octet 8).
func embed4(p netip.Prefix, v4 netip.Addr) netip.Addr {
	a := p.Addr().As16()
	b := v4.As4()
	at := p.Bits() / 8
	for _, x := range b {
		if at == 8 {
			at++ // bits 64 to 71 stay zero
		}
		a[at] = x
		at++
	}
	return netip.AddrFrom16(a)
}

// extract4 returns the IPv4 address that a, inside NAT64 prefix p,
// embeds; ok is false when a is not inside p.
func extract4(p netip.Prefix, a netip.Addr) (netip.Addr, bool) {
	if !p.Contains(a) {
		return netip.Addr{}, false
	}
	b := a.As16()
	var v4 [4]byte
	at := p.Bits() / 8
	for i := range v4 {
		if at == 8 {
			at++
		}
		v4[i] = b[at]
		at++
	}
	return netip.AddrFrom4(v4), true
}

// wireTo is where a datagram to to goes on the wire from a node that
// reaches r, with NAT64 prefix p (none unless the node is IPv6-only): an
// IPv4 destination through the NAT64 at its embedded address, but only a
// global one (a LAN or multicast address means nothing beyond the NAT64).
// ok is false when the node has no route to to's family.
func wireTo(r proto.Reach, p netip.Prefix, to netip.AddrPort) (netip.AddrPort, bool) {
	a := to.Addr().Unmap()
	if !a.Is4() {
		return to, r&proto.ReachIPv6 != 0 || !a.IsValid()
	}
	if !p.IsValid() {
		return to, r&proto.ReachIPv4 != 0
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return to, false
	}
	return netip.AddrPortFrom(embed4(p, a), to.Port()), true
}

// fromNAT64 is who sent a datagram that came from from, on a node with
// NAT64 prefix p: an embedded IPv4 source is that IPv4 peer.
func fromNAT64(p netip.Prefix, from netip.AddrPort) netip.AddrPort {
	if !p.IsValid() {
		return from
	}
	if v4, ok := extract4(p, from.Addr()); ok {
		return netip.AddrPortFrom(v4, from.Port())
	}
	return from
}

// canReach reports whether we have a route to a's family: the sender
// knows which families we reach, and how (families).
func (s *sender) canReach(a netip.AddrPort) bool {
	_, ok := wireTo(s.reach, s.nat64, a)
	return ok
}

// SetNAT64 tells the node its network's NAT64 prefix (an invalid Prefix:
// none), as the host app learns it: RFC 7050's lookup of ipv4only.arpa,
// RFC 8781's router advertisements, or the user's configuration; again
// after every move, since the next network may translate with another
// prefix or not at all. Only an IPv6-only node uses it. It returns at once;
// the worker applies it.
func (o *Overlay) SetNAT64(p netip.Prefix) error {
	if p.IsValid() {
		if err := ValidNAT64(p); err != nil {
			return err
		}
	}
	o.nat64.Store(&p)
	o.signal()
	return nil
}

// takeNAT64 applies a SetNAT64 that is waiting. A new prefix makes IPv4
// addresses reachable that were not: the bootstrap (and cached peers) are
// asked again at once. The host learns the prefix just after the start or
// a move (a DNS lookup), when the first requests to IPv4 addresses have
// already failed for want of a route; without this the node waited for
// the bootstrap's backoff (1 s or more: the NAT lab's TestNAT64Phone).
func (o *Overlay) takeNAT64(now time.Time) {
	p := o.nat64.Swap(nil)
	if p == nil || *p == o.prefix64 {
		return
	}
	o.prefix64 = *p
	o.log.Info("NAT64 prefix", "prefix", *p)
	o.families()
	if o.out.nat64.IsValid() {
		o.boots.reset()
		o.boots.contact(now)
	}
}

// families applies our addresses and NAT64 prefix: which families we can
// send to, and whether IPv4 goes through the NAT64 (only on an IPv6-only
// node), for the sender, the readers and our requests.
func (o *Overlay) families() {
	p := o.prefix64
	if familyOf(o.lan.Addr()) != IPv6 || o.lan.Addr().IsUnspecified() {
		p = netip.Prefix{}
	}
	o.reach = reachOf(o.lan, o.lan6, p)
	o.out.reach, o.out.nat64 = o.reach, p
	o.in.nat64.Store(&p)
}

// FindNAT64 returns the NAT64 prefix that addrs reveal: the IPv6 addresses
// a DNS64 resolver gave for ipv4only.arpa, whose only IPv4 addresses are
// 192.0.0.170 and 192.0.0.171 (RFC 7050): the prefix is whatever embeds
// one of them (RFC 6052), tried at every length. ok is false when none
// does: no DNS64, hence most likely no NAT64.
func FindNAT64(addrs []netip.Addr) (netip.Prefix, bool) {
	wka := [2]netip.Addr{netip.AddrFrom4([4]byte{192, 0, 0, 170}), netip.AddrFrom4([4]byte{192, 0, 0, 171})}
	for _, a := range addrs {
		if !a.Is6() || a.Is4In6() {
			continue
		}
		for _, bits := range []int{96, 64, 56, 48, 40, 32} {
			p := netip.PrefixFrom(a, bits).Masked()
			if v4, ok := extract4(p, a); ok && (v4 == wka[0] || v4 == wka[1]) && ValidNAT64(p) == nil && embed4(p, v4) == a.WithZone("") {
				return p, true
			}
		}
	}
	return netip.Prefix{}, false
}

// routable reports whether a is an address worth sending to: a unicast IP
// and a port, so that no introducer can aim our punctures at a broadcast or
// multicast group.
func routable(a netip.AddrPort) bool {
	ip := a.Addr()
	return a.IsValid() && a.Port() != 0 && !ip.IsUnspecified() && !ip.IsMulticast() &&
		!(ip.Is4() && ip.As4() == [4]byte{255, 255, 255, 255})
}
