package main

import (
	"net"
	"net/netip"
	"testing"
)

// TestLANIPSpecific checks that a specific -listen address is used as is.
func TestLANIPSpecific(t *testing.T) {
	for _, s := range []string{"127.0.0.2", "10.1.2.3", "2001:db8::7"} {
		ip, how := lanIP(netip.MustParseAddr(s))
		if ip.String() != s || how != "listen" {
			t.Errorf("lanIP(%s) = %v, %q", s, ip, how)
		}
	}
}

// TestLANIPDetected checks that for an unspecified -listen address the
// detected LAN IP is a usable IPv4 address of this host, or the fallback.
func TestLANIPDetected(t *testing.T) {
	for _, listen := range []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified(), {}} {
		ip, how := lanIP(listen)
		t.Logf("lanIP(%v) = %v (from %s)", listen, ip, how)
		switch how {
		case "route", "interfaces":
			if !usableLANIP(ip) {
				t.Errorf("lanIP(%v) = %v from %s: not a usable LAN address", listen, ip, how)
			}
			if !isLocalIP(t, ip) {
				t.Errorf("lanIP(%v) = %v from %s: not an address of this host", listen, ip, how)
			}
		case "fallback":
			if ip != netip.MustParseAddr("127.0.0.1") {
				t.Errorf("fallback %v, want 127.0.0.1", ip)
			}
		default:
			t.Errorf("lanIP(%v): unexpected source %q", listen, how)
		}
	}
}

// TestLANAddrPort checks that lanAddr keeps the bound port.
func TestLANAddrPort(t *testing.T) {
	got, _ := lanAddr(netip.MustParseAddrPort("0.0.0.0:4242"))
	if got.Port() != 4242 || !got.Addr().Is4() || got.Addr().IsUnspecified() {
		t.Errorf("lanAddr = %v", got)
	}
	got, how := lanAddr(netip.MustParseAddrPort("127.0.0.3:5"))
	if got != netip.MustParseAddrPort("127.0.0.3:5") || how != "listen" {
		t.Errorf("lanAddr = %v, %q", got, how)
	}
}

// TestPickInterfaceIP checks the fallback's choice among interface
// addresses.
func TestPickInterfaceIP(t *testing.T) {
	cidr := func(s string) net.Addr {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return n
	}
	tests := []struct {
		addrs []net.Addr
		want  string // "" for none
	}{
		{[]net.Addr{cidr("127.0.0.1/8"), cidr("::1/128"), cidr("fe80::1/64"), cidr("169.254.3.4/16"), cidr("192.168.1.20/24"), cidr("10.0.0.1/8")}, "192.168.1.20"},
		{[]net.Addr{cidr("2001:db8::1/64"), &net.IPAddr{IP: net.ParseIP("203.0.113.9")}}, "203.0.113.9"},
		{[]net.Addr{cidr("::ffff:10.9.8.7/104")}, "10.9.8.7"},
		{[]net.Addr{cidr("127.0.0.1/8"), cidr("::1/128"), cidr("fd00::2/64")}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		ip, ok := pickInterfaceIP(tt.addrs)
		if got := map[bool]string{true: ip.String(), false: ""}[ok]; got != tt.want {
			t.Errorf("pickInterfaceIP(%v) = %q, want %q", tt.addrs, got, tt.want)
		}
	}
}

// isLocalIP reports whether ip is one of this host's addresses.
func isLocalIP(t *testing.T, ip netip.Addr) bool {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("InterfaceAddrs: %v", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == ip {
				return true
			}
		}
	}
	return false
}
