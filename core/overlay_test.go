package core_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/proto"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// node starts an overlay on host h, port 1873, with cfg adjusted by opts.
func node(t *testing.T, h *memnet.Host, boot []netip.AddrPort, opts ...func(*core.Config)) *core.Overlay {
	t.Helper()
	conn, err := h.Listen(1873)
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.DefaultLocalConfig()
	cfg.PeerID = proto.ID(uuid.New())
	cfg.Transport = conn
	cfg.Bootstrap = boot
	cfg.Metrics = core.NewStats()
	for _, o := range opts {
		o(&cfg)
	}
	o, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o.Start()
	t.Cleanup(func() { o.Close() })
	return o
}

func knows(a, b *core.Overlay) bool { return slices.Contains(a.VerifiedPeers(), b.ID()) }

// peerAddr returns the address at which a knows b, or "".
func peerAddr(a, b *core.Overlay) string {
	for _, p := range a.Status().Peers {
		if p.ID == b.ID().String() && p.Verified {
			return p.Addr
		}
	}
	return ""
}

// TestConeMesh: three nodes behind port-restricted cone NATs and one public
// bootstrap all know each other, through punctured holes, within 2 s.
func TestConeMesh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 1})
		defer n.Close()
		boot := node(t, n.Host(ip("198.51.100.1")), nil)
		nodes := []*core.Overlay{boot}
		var nats []*memnet.NAT
		for i := range 3 {
			nat := n.NAT(memnet.PortRestrictedCone(ip(fmt.Sprintf("203.0.113.%d", i+1))))
			nats = append(nats, nat)
			// Every NAT reuses the same private address: routing must not care.
			nodes = append(nodes, node(t, nat.Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()}))
		}
		start := time.Now()
		for !mesh(nodes) && time.Since(start) < 10*time.Second {
			time.Sleep(10 * time.Millisecond)
		}
		took := time.Since(start)
		if !mesh(nodes) || took > 2*time.Second {
			for _, o := range nodes {
				t.Logf("%v knows %v", o.ID(), o.VerifiedPeers())
			}
			t.Fatalf("full mesh after %v, want within 2s", took)
		}
		t.Logf("full mesh of 4 after %v of virtual time", took)
		var ok, failed uint64
		for _, o := range nodes {
			s, f := stats(o).Punctures()
			ok, failed = ok+s, failed+f
		}
		// NATed pairs meet through introductions (some also through a
		// walk to a listed candidate whose NAT an earlier packet opened).
		if ok < 1 {
			t.Errorf("successful punctures: %d (failed %d), want some", ok, failed)
		}
		for i, o := range nodes[1:] {
			wantWAN := netip.AddrPortFrom(nats[i].PublicIP(), 1873)
			for j, other := range nodes[1:] {
				if i != j {
					if got := peerAddr(other, o); got != wantWAN.String() {
						t.Errorf("node %d reaches node %d at %q, want its punctured public address %v", j, i, got, wantWAN)
					}
				}
			}
			waitFor(t, func() bool { return o.Status().NAT == "cone" }, 10*time.Second)
			st := o.Status()
			if st.WAN != wantWAN.String() || st.NAT != "cone" {
				t.Errorf("node %d: wan %q nat %q, want %v cone", i, st.WAN, st.NAT, wantWAN)
			}
		}
		waitFor(t, func() bool { return boot.Status().NAT == "public" }, 10*time.Second)
		if st := boot.Status(); st.WAN != boot.LAN().String() {
			t.Errorf("bootstrap: wan %q nat %q, want %v public", st.WAN, st.NAT, boot.LAN())
		}
	})
}

// TestSymmetricNATClassified: a node behind a symmetric NAT learns that from
// two public observers that see different ports.
func TestSymmetricNATClassified(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond, Seed: 2})
		defer n.Close()
		boot := node(t, n.Host(ip("198.51.100.1")), nil)
		node(t, n.Host(ip("198.51.100.2")), []netip.AddrPort{boot.LAN()})
		sym := node(t, n.NAT(memnet.Symmetric(ip("203.0.113.9"))).Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()})
		waitFor(t, func() bool { return sym.Status().NAT == "symmetric" }, 5*time.Second)
		st := sym.Status()
		if st.WAN != "" || st.WANIP != "203.0.113.9" {
			t.Fatalf("symmetric node: wan %q wan_ip %q, want no stable wan and ip 203.0.113.9", st.WAN, st.WANIP)
		}
	})
}

func mesh(nodes []*core.Overlay) bool {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b && !knows(a, b) {
				return false
			}
		}
	}
	return true
}

// waitFor advances virtual time until cond holds, or fails after limit.
func waitFor(t *testing.T, cond func() bool, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v of virtual time", limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
