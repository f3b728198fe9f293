package main

import (
	"net"
	"net/netip"
)

// routeProbe and routeProbe6 are the addresses whose routes reveal our LAN
// addresses: TEST-NET-1 (RFC 5737) and the IPv6 documentation prefix (RFC
// 3849), never routed on the internet, so the kernel picks the source
// address of the default route for them. No packet is sent: a UDP "dial"
// only chooses a route and a source address.
var (
	routeProbe  = netip.MustParseAddrPort("192.0.2.1:9")
	routeProbe6 = netip.MustParseAddrPort("[2001:db8::1]:9")
)

// lanAddrs returns the LAN addresses to announce for a socket bound to
// bound: lan, the first family's (IPv4, or IPv6 on an IPv6-only host), and
// lan6, a dual-stack host's IPv6 one (invalid otherwise), with the
// socket's port. A specific bound address is used as is (its family only);
// for an unspecified one, each family's route is asked. how says where lan
// came from, as lanAddr does.
func lanAddrs(bound netip.AddrPort) (lan, lan6 netip.AddrPort, how string) {
	lan, how = lanAddr(bound)
	if a := bound.Addr(); a.IsValid() && !a.IsUnspecified() {
		return lan, netip.AddrPort{}, how
	}
	ip6, ok := routeIP6(routeProbe6)
	switch {
	case !ok:
		return lan, netip.AddrPort{}, how
	case how == "fallback": // no IPv4 route at all: an IPv6-only host
		return netip.AddrPortFrom(ip6, bound.Port()), netip.AddrPort{}, "route6"
	}
	return lan, netip.AddrPortFrom(ip6, bound.Port()), how
}

// routeIP6 returns the global IPv6 source address the kernel would use
// toward probe.
func routeIP6(probe netip.AddrPort) (netip.Addr, bool) {
	c, err := net.DialUDP("udp6", nil, net.UDPAddrFromAddrPort(probe))
	if err != nil {
		return netip.Addr{}, false
	}
	defer c.Close()
	ip := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr()
	return ip, ip.Is6() && !ip.Is4In6() && ip.IsGlobalUnicast() && ip.Zone() == ""
}

// lanAddr returns the address to announce as our LAN address for a socket
// bound to bound: its own IP if that is specific, else the detected LAN IP,
// with the socket's port. It also says how the IP was found ("listen",
// "route", "interfaces" or "fallback"). It never fails.
func lanAddr(bound netip.AddrPort) (netip.AddrPort, string) {
	ip, how := lanIP(bound.Addr())
	return netip.AddrPortFrom(ip, bound.Port()), how
}

// lanIP returns listen if it is a specific address. Otherwise it asks the
// routing table (see routeProbe), then the interface addresses, and falls
// back to 127.0.0.1. It avoids net.Interfaces, which needs a netlink dump
// that Android 11 and later forbid; net.InterfaceAddrs is only a fallback.
func lanIP(listen netip.Addr) (netip.Addr, string) {
	if listen.IsValid() && !listen.IsUnspecified() {
		return listen.Unmap(), "listen"
	}
	if ip, ok := routeIP(routeProbe); ok {
		return ip, "route"
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		if ip, ok := pickInterfaceIP(addrs); ok {
			return ip, "interfaces"
		}
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1}), "fallback"
}

// routeIP returns the source address the kernel would use toward probe.
func routeIP(probe netip.AddrPort) (netip.Addr, bool) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(probe))
	if err != nil {
		return netip.Addr{}, false
	}
	defer c.Close()
	ip := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	return ip, usableLANIP(ip)
}

// pickInterfaceIP returns the first usable IPv4 address among addrs, as
// returned by net.InterfaceAddrs.
func pickInterfaceIP(addrs []net.Addr) (netip.Addr, bool) {
	for _, a := range addrs {
		var ip net.IP
		switch a := a.(type) {
		case *net.IPNet:
			ip = a.IP
		case *net.IPAddr:
			ip = a.IP
		}
		if nip, ok := netip.AddrFromSlice(ip); ok && usableLANIP(nip.Unmap()) {
			return nip.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// usableLANIP reports whether ip can be told to peers as a LAN address: an
// IPv4 unicast address that is not loopback or link-local (private
// addresses are fine; that is what a LAN has).
func usableLANIP(ip netip.Addr) bool {
	return ip.Is4() && ip.IsGlobalUnicast()
}
