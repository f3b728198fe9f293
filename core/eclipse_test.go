package core_test

import (
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/proto"
)

// lite is a node on port 1873 of a that walks but does little else: the
// crowd of an eclipse test (hundreds of them) talks only to the victim.
func lite(t *testing.T, n *memnet.Network, a netip.Addr, boot netip.AddrPort) *core.Overlay {
	return litePort(t, n, netip.AddrPortFrom(a, 1873), boot)
}

func litePort(t *testing.T, n *memnet.Network, a netip.AddrPort, boot netip.AddrPort) *core.Overlay {
	t.Helper()
	conn, err := n.Host(a.Addr()).Listen(a.Port())
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.DefaultLocalConfig()
	cfg.PeerID = proto.ID(uuid.New())
	cfg.Transport = conn
	cfg.Bootstrap = []netip.AddrPort{boot}
	cfg.MaxPeers, cfg.TargetPeers = 4, 1
	o, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o.Start()
	t.Cleanup(func() { o.Close() })
	return o
}

// peersFrom counts the victim's verified peers whose address starts with
// prefix.
func peersFrom(v *core.Overlay, prefix string) (match, all int) {
	for _, p := range v.Status().Peers {
		if p.Verified {
			all++
			if strings.HasPrefix(p.Addr, prefix) {
				match++
			}
		}
	}
	return match, all
}

// An attacker with 300 addresses in one /24 gets at most the per-network
// cap of a default (256-peer) table, however it times its arrival: honest
// peers from 240 networks keep more than 90% of it. Before the cap, such an
// attacker held 248 of 256 slots. An honest newcomer still gets in.
func TestEclipseOneNetwork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond, Seed: 17})
		defer n.Close()
		victim := node(t, n.Host(ip("198.51.100.1")), nil)
		for i := range 300 { // the attacker comes first: an empty table
			a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{100, 70, 1, byte(i%250 + 1)}), uint16(1873+i/250))
			litePort(t, n, a, victim.LAN())
		}
		time.Sleep(10 * time.Second)
		for i := range 240 {
			lite(t, n, netip.AddrFrom4([4]byte{198, 18, byte(i), 1}), victim.LAN())
		}
		time.Sleep(time.Minute)
		bad, all := peersFrom(victim, "100.70.1.")
		t.Logf("table: %d peers, %d of them from the attacker's /24", all, bad)
		if bad > core.DefaultConfig().PrefixPeers || all-bad < 256*9/10 {
			t.Errorf("the attacker holds %d of %d slots; honest peers %d, want at least %d", bad, all, all-bad, 256*9/10)
		}
		// A newcomer gets in, full table or not.
		newcomer := lite(t, n, ip("192.0.2.77"), victim.LAN())
		time.Sleep(5 * time.Second)
		if !knows(victim, newcomer) {
			t.Error("an honest newcomer was refused")
		}
	})
}

// An attacker with 300 addresses in 30 /24s, arriving once 200 honest peers
// have been with the victim for ten minutes, takes the free slots and no
// more: no long-lived honest peer is evicted, and an honest newcomer still
// gets in, by evicting one of the attacker's.
func TestEclipseManyNetworks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond, Seed: 19})
		defer n.Close()
		victim := node(t, n.Host(ip("198.51.100.1")), nil)
		var honest []*core.Overlay
		for i := range 200 {
			honest = append(honest, lite(t, n, netip.AddrFrom4([4]byte{198, 18, byte(i), 1}), victim.LAN()))
		}
		time.Sleep(10 * time.Minute)
		for i := range 300 {
			lite(t, n, netip.AddrFrom4([4]byte{100, 80, byte(i / 10), byte(i%10 + 1)}), victim.LAN())
		}
		time.Sleep(2 * time.Minute)
		lost := 0
		for _, h := range honest {
			if !knows(victim, h) {
				lost++
			}
		}
		bad, all := peersFrom(victim, "100.80.")
		t.Logf("table: %d peers, %d of the attacker's; %d long-lived honest peers lost", all, bad, lost)
		if lost > 0 {
			t.Errorf("the attacker evicted %d of 200 long-lived honest peers", lost)
		}
		newcomer := lite(t, n, ip("192.0.2.88"), victim.LAN())
		time.Sleep(5 * time.Second)
		if !knows(victim, newcomer) {
			t.Error("an honest newcomer was refused by a table full of the attacker's peers")
		}
	})
}
