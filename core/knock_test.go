package core_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// No single point of entry. The bootstrap dies; a member behind a cone NAT
// is down for 2 minutes and comes back with only the addresses it cached
// (Contacts), all of members behind cone NATs that filter it: they knock at
// its last address, it knocks at theirs, and it is back within 5 s. A new
// node given only the address of one public member joins within 5 s.
func TestNoSinglePointOfEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 31})
		defer n.Close()
		boot := keyed(t, n.Host(ip("198.51.100.1")), nil)
		pub := keyed(t, n.Host(ip("198.51.101.1")), []netip.AddrPort{boot.LAN()})
		var cones []*core.Overlay
		for i := range 4 {
			nat := n.NAT(memnet.PortRestrictedCone(netip.AddrFrom4([4]byte{203, 0, byte(10 + i), 1})))
			cones = append(cones, keyed(t, nat.Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()}))
		}
		id, err := core.NewIdentity()
		if err != nil {
			t.Fatal(err)
		}
		memberHost := n.NAT(memnet.PortRestrictedCone(ip("203.0.100.1"))).Host(ip("10.0.0.2"))
		withKey := func(c *core.Config) { c.Key, c.PeerID = id.Key, id.ID }
		member := node(t, memberHost, []netip.AddrPort{boot.LAN()}, withKey)
		waitUntil(t, 30*time.Second, "the member knows every cone member", func() bool {
			for _, c := range cones {
				if !authenticated(member, c) || !authenticated(c, member) {
					return false
				}
			}
			return true
		})
		// What the member cached: its peers' addresses, public first.
		var cache []netip.AddrPort
		for _, a := range member.Contacts(32) {
			if a != boot.LAN() && a != pub.LAN() {
				cache = append(cache, a) // only cone members: the hard case
			}
		}
		if c := member.Contacts(32); len(c) < 6 || (c[0] != boot.LAN() && c[0] != pub.LAN()) {
			t.Fatalf("contacts %v: want the public peers first, then the rest", c)
		}
		boot.Close()
		member.Close()
		time.Sleep(2 * time.Minute)

		member = node(t, memberHost, cache, withKey)
		start := time.Now()
		waitUntil(t, 30*time.Second, "the restarted member back with a cone member", func() bool {
			for _, c := range cones {
				if authenticated(member, c) && authenticated(c, member) {
					return true
				}
			}
			return false
		})
		back := time.Since(start)
		newcomer := keyed(t, n.Host(ip("198.51.102.1")), []netip.AddrPort{pub.LAN()})
		start = time.Now()
		waitUntil(t, 30*time.Second, "a newcomer in through a public member", func() bool {
			return authenticated(newcomer, pub) && len(newcomer.VerifiedPeers()) >= 2
		})
		in := time.Since(start)
		t.Logf("bootstrap gone: the member restarted after 2 minutes is back in %v; a newcomer through a member in %v", back, in)
		if back > 5*time.Second || in > 5*time.Second {
			t.Errorf("back in %v, newcomer in %v: want both within 5 s", back, in)
		}
	})
}

// A network of fewer than TargetPeers nodes has nobody new to find: its
// walks back off to WalkInterval instead of going every 500 ms for ever
// (486-550 packets a minute on each phone before). Three nodes settle,
// within 2 minutes, to at most 60 packets a minute each (the walk, its
// answers, keep-alives).
func TestSmallNetworkSettles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 37})
		defer n.Close()
		boot := keyed(t, n.Host(ip("198.51.100.1")), nil)
		a := keyed(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.10.1"))).Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()})
		b := keyed(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.11.1"))).Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()})
		nodes := []*core.Overlay{boot, a, b}
		time.Sleep(2 * time.Minute)
		before := make([]uint64, len(nodes))
		for i, o := range nodes {
			before[i] = o.Status().PacketsSent
		}
		time.Sleep(3 * time.Minute)
		for i, o := range nodes {
			perMin := float64(o.Status().PacketsSent-before[i]) / 3
			t.Logf("node %d: %.1f packets a minute, %d peers", i, perMin, len(o.VerifiedPeers()))
			if perMin > 60 || len(o.VerifiedPeers()) != 2 {
				t.Errorf("node %d: %.1f packets a minute with %d peers; want at most 60, and both peers", i, perMin, len(o.VerifiedPeers()))
			}
		}
	})
}
