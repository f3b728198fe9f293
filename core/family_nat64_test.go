package core

import (
	"net/netip"
	"testing"

	"github.com/walkie-p2p/walkie/proto"
)

// RFC 6052 section 2.4's table: 192.0.2.33 under each prefix length.
var rfc6052 = []struct{ prefix, addr string }{
	{"2001:db8::/32", "2001:db8:c000:221::"},
	{"2001:db8:100::/40", "2001:db8:1c0:2:21::"},
	{"2001:db8:122::/48", "2001:db8:122:c000:2:2100::"},
	{"2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"},
	{"2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"},
	{"2001:db8:122:344::/96", "2001:db8:122:344::192.0.2.33"},
	{"64:ff9b::/96", "64:ff9b::192.0.2.33"},
}

func TestNAT64EmbedRFC6052(t *testing.T) {
	v4 := netip.MustParseAddr("192.0.2.33")
	for _, c := range rfc6052 {
		p, want := netip.MustParsePrefix(c.prefix), netip.MustParseAddr(c.addr)
		if err := ValidNAT64(p); err != nil {
			t.Errorf("%v: %v", p, err)
		}
		if got := embed4(p, v4); got != want {
			t.Errorf("embed %v in %v = %v, want %v", v4, p, got, want)
		}
		if got, ok := extract4(p, want); !ok || got != v4 {
			t.Errorf("extract from %v in %v = %v %v, want %v", want, p, got, ok, v4)
		}
		to := netip.AddrPortFrom(v4, 1873)
		wire, ok := wireTo(proto.ReachIPv6|proto.ReachIPv4, p, to)
		if !ok || wire != netip.AddrPortFrom(want, 1873) || fromNAT64(p, wire) != to {
			t.Errorf("%v through %v: on the wire %v %v, back %v", to, p, wire, ok, fromNAT64(p, wire))
		}
	}
}

func TestValidNAT64Refuses(t *testing.T) {
	for _, s := range []string{"10.0.0.0/8", "64:ff9b::/95", "64:ff9b::1/96", "2001:db8:0:0:ff00::/96", "::ffff:0:0/96"} {
		if err := ValidNAT64(netip.MustParsePrefix(s)); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}

// FindNAT64 finds the prefix of RFC 7050's answers, whatever its length,
// and nothing in answers that are not synthesized.
func TestFindNAT64(t *testing.T) {
	for _, c := range rfc6052 {
		p := netip.MustParsePrefix(c.prefix)
		for _, wka := range []string{"192.0.0.170", "192.0.0.171"} {
			got, ok := FindNAT64([]netip.Addr{embed4(p, netip.MustParseAddr(wka))})
			if !ok || got != p {
				t.Errorf("%s in %v: found %v %v", wka, p, got, ok)
			}
		}
	}
	for _, as := range [][]netip.Addr{nil, {netip.MustParseAddr("192.0.0.170")}, {netip.MustParseAddr("2001:db8::1")}} {
		if p, ok := FindNAT64(as); ok {
			t.Errorf("%v: found %v", as, p)
		}
	}
}

// Without a route to a family nothing is sent there; a NAT64 carries only
// global IPv4 destinations.
func TestWireTo(t *testing.T) {
	p := netip.MustParsePrefix("64:ff9b::/96")
	for _, c := range []struct {
		reach proto.Reach
		p     netip.Prefix
		to    string
		want  string // "" for no route
	}{
		{proto.ReachIPv4, netip.Prefix{}, "198.51.100.1:1", "198.51.100.1:1"},
		{proto.ReachIPv4, netip.Prefix{}, "[2001:db8::1]:1", ""},
		{proto.ReachIPv6, netip.Prefix{}, "198.51.100.1:1", ""},
		{proto.ReachIPv6 | proto.ReachIPv4, p, "198.51.100.1:1", "[64:ff9b::c633:6401]:1"},
		{proto.ReachIPv6 | proto.ReachIPv4, p, "192.168.1.1:1", ""},
		{proto.ReachIPv6 | proto.ReachIPv4, p, "239.255.18.73:1873", ""},
		{proto.ReachIPv6 | proto.ReachIPv4, p, "[2001:db8::1]:1", "[2001:db8::1]:1"},
	} {
		got, ok := wireTo(c.reach, c.p, netip.MustParseAddrPort(c.to))
		if (c.want == "") != !ok || (ok && got.String() != c.want) {
			t.Errorf("wireTo(%v, %v, %s) = %v %v, want %q", c.reach, c.p, c.to, got, ok, c.want)
		}
	}
}
