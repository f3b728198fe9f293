package core_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// TestBootstrapBackoff: the first request goes out at once; while nobody
// answers, retries back off from 1 s, doubling, to at most 30 s.
func TestBootstrapBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: time.Millisecond})
		defer n.Close()
		dead := netip.MustParseAddrPort("198.51.100.99:1873") // nobody there
		o := node(t, n.Host(ip("198.51.100.1")), []netip.AddrPort{dead}, func(c *core.Config) {
			c.BootstrapBackoffMin, c.BootstrapBackoffMax = time.Second, 30*time.Second
		})
		synctest.Wait()
		s := stats(o)
		if got := s.Count(core.IntroRequestsSent); got != 1 {
			t.Fatalf("requests at start: %d, want 1 at once", got)
		}
		// Retries at about 1, 3, 7, 15, 31, 61, 91 s (each on the next walk tick).
		time.Sleep(100 * time.Second)
		if got := s.Count(core.IntroRequestsSent); got < 7 || got > 8 {
			t.Fatalf("requests in 100 s: %d, want 7 or 8 (backoff 1 s doubling to 30 s)", got)
		}
	})
}

// TestKeepAliveAndTimeout: two nodes behind port-restricted NATs with 30 s
// mappings stay connected for 5 idle minutes; when one stops, the other
// drops it after PeerTimeout.
func TestKeepAliveAndTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond})
		defer n.Close()
		boot := node(t, n.Host(ip("198.51.100.1")), nil)
		// Walks rarer than the 30 s NAT timeout: only keep-alives hold the holes open.
		lazy := func(c *core.Config) { c.TargetPeers, c.WalkInterval = 1, 5*time.Minute }
		a := node(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.113.1"))).Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()}, lazy)
		b := node(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.113.2"))).Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()}, lazy)
		waitFor(t, func() bool { return knows(a, b) && knows(b, a) }, 2*time.Second)
		boot.Close() // a and b now depend on their own keep-alives
		for range 30 {
			time.Sleep(10 * time.Second)
			if !knows(a, b) || !knows(b, a) {
				t.Fatalf("a and b lost each other at %v", time.Now())
			}
		}
		b.Close()
		stopped := time.Now()
		waitFor(t, func() bool { return !knows(a, b) }, 2*time.Minute)
		// b was last heard at most KeepAlive (20 s) before it stopped.
		if d := time.Since(stopped); d < 40*time.Second || d > 66*time.Second {
			t.Fatalf("a dropped b %v after it stopped, want 60 s after it was last heard", d)
		}
	})
}

// TestBeaconDiscovery: two nodes on one LAN, no bootstrap, find each other
// from a beacon. memnet has no multicast, so the beacon goes to the other
// node's address; the handling is the same.
func TestBeaconDiscovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond})
		defer n.Close()
		lan := n.NAT(memnet.PortRestrictedCone(ip("203.0.113.1")))
		b := node(t, lan.Host(ip("192.168.1.3")), nil)
		a := node(t, lan.Host(ip("192.168.1.2")), nil, func(c *core.Config) { c.BeaconAddr = b.LAN() })
		waitFor(t, func() bool { return knows(a, b) && knows(b, a) }, time.Second)

		// A beacon from a public address outside our subnet is not from our LAN: ignored.
		c := node(t, n.Host(ip("198.51.100.7")), nil, func(c *core.Config) { c.BeaconAddr = netip.AddrPortFrom(ip("203.0.113.8"), 1873) })
		d := node(t, n.Host(ip("203.0.113.8")), nil)
		time.Sleep(10 * time.Second)
		if knows(c, d) || knows(d, c) {
			t.Fatal("a beacon from a public address was answered")
		}
		if got := stats(d).Dropped(core.DropUnverified); got == 0 {
			t.Fatal("public beacons were not dropped and counted")
		}
	})
}
