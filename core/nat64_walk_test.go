package core_test

import (
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// ipv4Mesh builds a public IPv4 bootstrap, a second public IPv4 node and
// three IPv4 nodes behind port-restricted cone NATs, and returns them.
func ipv4Mesh(t *testing.T, n *memnet.Network) []*core.Overlay {
	boot := keyed(t, n.Host(ip("198.51.100.1")), nil)
	nodes := []*core.Overlay{boot, keyed(t, n.Host(ip("198.51.101.1")), []netip.AddrPort{boot.LAN()})}
	for i := range 3 {
		nat := n.NAT(memnet.PortRestrictedCone(netip.AddrFrom4([4]byte{203, 0, byte(20 + i), 1})))
		nodes = append(nodes, keyed(t, nat.Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()}))
	}
	return nodes
}

// An IPv6-only phone behind a carrier's NAT64 reaches IPv4-only peers,
// public and behind cone NATs, through the NAT64 prefix: its IPv4
// bootstrap, its introductions and its punctures all go through it, and
// its peers see it at the NAT64's IPv4 address. Without the prefix it
// reaches nobody, and sends nothing to addresses it has no route to.
func TestNAT64ReachesIPv4Peers(t *testing.T) {
	pre := netip.MustParsePrefix("2001:db8:64::/96")
	for _, withPrefix := range []bool{true, false} {
		t.Run(fmt.Sprintf("prefix=%v", withPrefix), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 47})
				defer n.Close()
				cfg := memnet.PortRestrictedCone(ip("198.51.100.64"))
				cfg.NAT64 = pre
				n.NAT(cfg)
				v4 := ipv4Mesh(t, n)
				phone := keyed(t, n.Host(ip("2001:db8:1::9")), []netip.AddrPort{v4[0].LAN()}, func(c *core.Config) {
					if withPrefix {
						c.NAT64 = pre
					}
				})
				all := func() bool {
					for _, p := range v4 {
						if !authenticated(phone, p) || !authenticated(p, phone) {
							return false
						}
					}
					return true
				}
				noRoute := stats(phone).Dropped(core.DropNoRoute)
				if !withPrefix {
					time.Sleep(30 * time.Second)
					if k := len(phone.VerifiedPeers()); k != 0 || stats(phone).Dropped(core.DropNoRoute) == 0 || phone.Status().NAT64 != "" {
						t.Errorf("without NAT64: %d peers, %d no_route drops, nat64 %q; want none, some, \"\"", k, stats(phone).Dropped(core.DropNoRoute), phone.Status().NAT64)
					}
					return
				}
				start := time.Now()
				waitUntil(t, 10*time.Second, "the IPv6-only phone authenticated with all 5 IPv4 peers, both ways", all)
				t.Logf("through the NAT64 to 5 IPv4 peers (3 behind cone NATs) in %v", time.Since(start))
				if st := phone.Status(); st.NAT64 != pre.String() {
					t.Errorf("status nat64 %q, want %v", st.NAT64, pre)
				}
				for _, q := range v4[0].Status().Peers {
					if q.ID == phone.ID().String() && netip.MustParseAddrPort(q.Addr).Addr() != ip("198.51.100.64") {
						t.Errorf("the bootstrap sees the phone at %s, want the NAT64's IPv4 address", q.Addr)
					}
				}
				if d := stats(phone).Dropped(core.DropNoRoute) - noRoute; d != 0 {
					t.Errorf("%d datagrams without a route", d)
				}
			})
		})
	}
}

// A dual-stack introducer pairs only peers that can reach each other: an
// IPv6-only phone without NAT64 meets the IPv6 peers, the IPv4-only peers
// meet each other, and nobody is ever asked to send to a family it has no
// route to. Before, the introducer paired anyone with anyone, and the
// IPv4-only peers sent punctures to IPv6 addresses.
func TestIntroducerPairsFamilies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 53})
		defer n.Close()
		v4sock, err := n.Host(ip("198.51.100.1")).Listen(1873)
		if err != nil {
			t.Fatal(err)
		}
		v6sock, err := n.Host(ip("2001:db8::1")).Listen(1873)
		if err != nil {
			t.Fatal(err)
		}
		d := keyed(t, n.Host(ip("192.0.2.250")), nil, func(c *core.Config) {
			c.Transport.Close()
			c.Transport, c.LAN, c.LAN6 = newDualStack(v4sock, v6sock), v4sock.LocalAddr(), v6sock.LocalAddr()
		})
		var v4, v6 []*core.Overlay
		for i := range 3 {
			nat := n.NAT(memnet.PortRestrictedCone(netip.AddrFrom4([4]byte{203, 0, byte(30 + i), 1})))
			v4 = append(v4, keyed(t, nat.Host(ip("10.0.0.2")), []netip.AddrPort{v4sock.LocalAddr()}))
		}
		for _, a := range []string{"2001:db8:1::2", "2001:db8:2::2", "2001:db8:3::9"} {
			v6 = append(v6, keyed(t, n.Host(ip(a)), []netip.AddrPort{v6sock.LocalAddr()}))
		}
		time.Sleep(time.Minute)
		for _, group := range [][]*core.Overlay{v4, v6} {
			for _, a := range group {
				for _, b := range group {
					if a != b && !authenticated(a, b) {
						t.Errorf("%v does not know %v, of its own family", a.LAN(), b.LAN())
					}
				}
				if !authenticated(a, d) {
					t.Errorf("%v does not know the dual-stack introducer", a.LAN())
				}
			}
		}
		for _, o := range append(append([]*core.Overlay{d}, v4...), v6...) {
			if k := stats(o).Dropped(core.DropNoRoute); k != 0 {
				t.Errorf("%v: %d datagrams to a family it has no route to", o.LAN(), k)
			}
		}
	})
}

// batchReads is a memnet transport read through BatchReader, one datagram a
// batch, as the real binary reads its UDP socket on Linux (recvmmsg).
type batchReads struct{ core.Transport }

func (b batchReads) ReadBatch(ds []core.Datagram) (int, error) {
	n, from, err := b.ReadFrom(ds[0].B)
	if err != nil {
		return 0, err
	}
	ds[0].N, ds[0].Addr = n, from
	return 1, nil
}

// The phone of TestNAT64ReachesIPv4Peers as cmd/node runs it: its socket
// read in batches, and its prefix learnt from DNS just after the start,
// when its first request to the IPv4 bootstrap has failed for want of a
// route. The NAT lab found both wanting: the batched reader did not turn
// the NAT64's sources back into IPv4 peers (the phone dropped every
// answer), and the phone waited for the bootstrap's backoff.
func TestNAT64BatchedLatePrefix(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pre := netip.MustParsePrefix("2001:db8:64::/96")
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 48})
		defer n.Close()
		cfg := memnet.PortRestrictedCone(ip("198.51.100.64"))
		cfg.NAT64 = pre
		n.NAT(cfg)
		v4 := ipv4Mesh(t, n)
		phone := keyed(t, n.Host(ip("2001:db8:1::9")), []netip.AddrPort{v4[0].LAN()}, func(c *core.Config) {
			c.Transport = batchReads{c.Transport}
		})
		time.Sleep(100 * time.Millisecond) // the DNS64 lookup
		if err := phone.SetNAT64(pre); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 500*time.Millisecond, "the phone authenticated with its bootstrap soon after it learnt the prefix", func() bool {
			return authenticated(phone, v4[0]) && authenticated(v4[0], phone)
		})
		waitUntil(t, 10*time.Second, "the phone authenticated with all 5 IPv4 peers, both ways", func() bool {
			for _, p := range v4 {
				if !authenticated(phone, p) || !authenticated(p, phone) {
					return false
				}
			}
			return true
		})
	})
}
