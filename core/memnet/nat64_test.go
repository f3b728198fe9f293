package memnet

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// A public IPv6 host reaches an IPv4 host through a NAT64: the IPv4 host
// sees the NAT64's public address, the IPv6 host sees the answer come from
// the prefix-embedded address it sent to; unsolicited IPv4 traffic does
// not get through, as through any port-restricted NAT.
func TestNAT64(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{Latency: 10 * time.Millisecond})
		defer n.Close()
		pre := netip.MustParsePrefix("2001:db8:64::/96")
		cfg := PortRestrictedCone(netip.MustParseAddr("198.51.100.64"))
		cfg.NAT64 = pre
		n.NAT(cfg)
		v6 := listen(t, n.Host(netip.MustParseAddr("2001:db8:1::6")), 1873)
		v4 := listen(t, n.Host(netip.MustParseAddr("203.0.113.4")), 1873)
		r6, r4 := reader(v6), reader(v4)
		embedded := netip.MustParseAddrPort("[2001:db8:64::cb00:7104]:1873")

		send(t, v4, "unsolicited", netip.MustParseAddrPort("198.51.100.64:1873"))
		expectNone(t, r6)
		send(t, v6, "hello", embedded)
		got := expect(t, r4, "hello")
		if got.from.Addr() != netip.MustParseAddr("198.51.100.64") {
			t.Fatalf("the IPv4 host saw %v, want the NAT64's public IP", got.from)
		}
		send(t, v4, "back", got.from)
		if r := expect(t, r6, "back"); r.from != embedded {
			t.Errorf("the IPv6 host got the answer from %v, want %v", r.from, embedded)
		}
	})
}
