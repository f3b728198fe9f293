//go:build natlab

package natlab

import (
	"fmt"
	"net/netip"
)

// family is which IP versions a site's host has.
type family int

const (
	v4only family = iota // the lab's default
	dual                 // IPv4 and IPv6
	v6only               // IPv6 only: public6, nat64
)

// The internet's IPv6 side is in the documentation range 2001:db8::/32
// (RFC 3849). Each site on the bridge has a /64 of its own, site i
// 2001:db8:(1000+i)::/64, where it is ::2; a site's LAN behind its router
// is 2001:db8:(2000+i)::/64 (router ::1, host ::2). The inet namespace is
// the internet's IPv6 router: ::1 of every bridge /64, with a route to
// each LAN /64 through its router, as an ISP routes its customers'
// delegated prefixes. One /64 for all would make every public host one
// observer to the node's vote, which counts IPv6 observers by /56 (one
// subscriber); real peers sit in different networks. IPv4 has no such
// router: the IPv4-only lab is left exactly as it was.

// bridge6 is address host of site i's /64 on the bridge.
func bridge6(i, host int) netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("2001:db8:%d::%d", 1000+i, host))
}

// lan6 is address host of site i's LAN /64.
func lan6(i, host int) netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("2001:db8:%d::%d", 2000+i, host))
}

// gateway6 is the inet router's address on addr's /64 (::1).
func gateway6(addr netip.Addr) netip.Addr {
	return netip.PrefixFrom(addr, 64).Masked().Addr().Next()
}

// nat64Prefix is the carrier's network-specific NAT64 prefix (RFC 6052):
// IPv4 address a is reached at 2001:db8:64::a.
var nat64Prefix = netip.MustParsePrefix("2001:db8:64::/96")

// synth64 returns the NAT64 address of IPv4 address a.
func synth64(a netip.Addr) netip.Addr {
	b := nat64Prefix.Addr().As16()
	v4 := a.As4()
	copy(b[12:], v4[:])
	return netip.AddrFrom16(b)
}

// listenFlag is the node's -listen. An IPv4-only host binds its own
// address, as the lab always did; a dual-stack host binds 0.0.0.0 (the
// node's default, which Go makes a dual-stack socket), an IPv6-only one
// [::], so that the node finds its addresses by asking its routes
// (cmd/node/lan.go), as on a phone.
func (s *site) listenFlag() string {
	switch s.fam {
	case dual:
		return fmt.Sprintf("0.0.0.0:%d", nodePort)
	case v6only:
		return fmt.Sprintf("[::]:%d", nodePort)
	}
	return s.listen().String()
}

// has4 reports whether the site's node talks to IPv4 peers: it has IPv4,
// or a NAT64 in front.
func (s *site) has4() bool { return s.fam != v6only || s.kind == NAT64 }

// wantAddrs lists the addresses at which a should reach b: b's LAN
// address when both sit behind one router (most NATs do not hairpin);
// else b's public IPv4 address if both talk IPv4, and its IPv6 address if
// both have IPv6. An IPv6-only host behind a NAT64 reaches an IPv4 peer at
// its IPv4 address or its NAT64 address, whichever the node shows. Port 0:
// any port.
func wantAddrs(a, b *node) []netip.AddrPort {
	if a.site.router != "" && a.site.router == b.site.router {
		return []netip.AddrPort{b.site.listen()}
	}
	var out []netip.AddrPort
	if a.site.has4() && b.site.has4() {
		w := b.site.wantWAN()
		out = append(out, w)
		if a.site.kind == NAT64 && w.Addr().Is4() {
			out = append(out, netip.AddrPortFrom(synth64(w.Addr()), w.Port()))
		}
	}
	if a.site.fam != v4only && b.site.fam != v4only && b.site.kind != NAT64 {
		out = append(out, netip.AddrPortFrom(b.site.lan6, nodePort))
	}
	return out
}

// router6 gives a dual-stack site's router its IPv6 LAN and the firewall
// of a common home router (RFC 6092; OpenWrt's and most CPEs' default):
// IPv6 is routed, not translated, and only what answers the host's own
// traffic gets in, so filtering is address- and port-dependent as on the
// IPv4 cone, while the host's address is its public one.
func router6(s *site) error {
	if s.fam == v4only {
		return nil
	}
	if err := ip("-n", s.router, "addr", "add", s.gw6.String()+"/64", "dev", "lan", "nodad"); err != nil {
		return err
	}
	if err := inNS(s.router, "", "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"); err != nil {
		return err
	}
	return inNS(s.router, firewall6, "nft", "-f", "-")
}

// firewall6 is the routers' IPv6 ruleset. ICMPv6 must reach the router
// (neighbour discovery); from outside, errors and echo requests are
// forwarded too (RFC 4890), as CPEs do.
const firewall6 = `table ip6 filter6 {
	chain forwarding {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		iifname "lan" accept
		icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request } accept
	}
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		iifname { "lo", "lan" } accept
		meta l4proto ipv6-icmp accept
	}
}
`

// carrierTimeouts makes router ns forget an idle UDP mapping after 30 s,
// whether or not the flow saw replies (Linux keeps those 120 s), as
// carriers' NATs do. The sysctls are per network namespace, so only this
// router changes.
func carrierTimeouts(ns string) error {
	return inNS(ns, "", "sysctl", "-qw", "net.netfilter.nf_conntrack_udp_timeout=30",
		"net.netfilter.nf_conntrack_udp_timeout_stream=30")
}

// route6 makes the inet namespace the internet's IPv6 router when any site
// has IPv6: ::1 on each site's bridge /64, and a route to each router's LAN
// /64 through that router.
func (l *lab) route6() error {
	routed := map[string]bool{}
	for _, s := range l.sites {
		if !s.wan6.IsValid() || routed[s.wan6.String()] {
			continue
		}
		if len(routed) == 0 {
			if err := inNS(l.inet, "", "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"); err != nil {
				return err
			}
		}
		routed[s.wan6.String()] = true
		if err := ip("-n", l.inet, "addr", "add", gateway6(s.wan6).String()+"/64", "dev", "br0", "nodad"); err != nil {
			return err
		}
		if s.router != "" && s.gw6.IsValid() {
			lan := netip.PrefixFrom(s.gw6, 64).Masked()
			if err := ip("-n", l.inet, "-6", "route", "add", lan.String(), "via", s.wan6.String()); err != nil {
				return err
			}
		}
	}
	return nil
}
