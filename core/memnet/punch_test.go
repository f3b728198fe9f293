package memnet

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// punchSetup builds a rendezvous server S and two hosts, each behind its
// own NAT and with the same private address, who learn their public
// addresses from S.
type punchSetup struct {
	n          *Network
	c1, c2     *Conn
	r1, r2     <-chan rx
	pub1, pub2 netip.AddrPort // as seen by S
}

func newPunch(t *testing.T, cfg Config, kind func(netip.Addr) NATConfig) *punchSetup {
	n := New(cfg)
	p := &punchSetup{n: n}
	s := listen(t, n.Host(ipS), 3478)
	rs := reader(s)
	p.c1 = listen(t, n.NAT(kind(ipNAT1)).Host(priv1), 5000)
	p.c2 = listen(t, n.NAT(kind(ipNAT2)).Host(priv1), 5000)
	p.r1, p.r2 = reader(p.c1), reader(p.c2)
	send(t, p.c1, "who am I", s.LocalAddr())
	p.pub1 = expect(t, rs, "who am I").from
	send(t, p.c2, "who am I", s.LocalAddr())
	p.pub2 = expect(t, rs, "who am I").from
	return p
}

func TestHolePunchPortRestricted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPunch(t, Config{Latency: 20 * time.Millisecond}, PortRestrictedCone)
		defer p.n.Close()
		send(t, p.c1, "punch 1", p.pub2)
		expectNone(t, p.r2) // NAT2 has not sent to pub1 yet
		send(t, p.c2, "punch 2", p.pub1)
		if r := expect(t, p.r1, "punch 2"); r.from != p.pub2 {
			t.Errorf("host 1 got a datagram from %v, want %v", r.from, p.pub2)
		}
		send(t, p.c1, "punch 3", p.pub2)
		if r := expect(t, p.r2, "punch 3"); r.from != p.pub1 {
			t.Errorf("host 2 got a datagram from %v, want %v", r.from, p.pub1)
		}
		if s := checkStats(t, p.n); s.NATDrops != 1 {
			t.Errorf("NATDrops = %d, want 1 (the first punch)", s.NATDrops)
		}
	})
}

// TestHolePunchSimultaneous sends both punches at the same instant: each
// reaches the other NAT after the latency, when its own NAT has already
// opened the pinhole, so neither is dropped.
func TestHolePunchSimultaneous(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPunch(t, Config{Latency: 20 * time.Millisecond}, PortRestrictedCone)
		defer p.n.Close()
		send(t, p.c1, "punch 1", p.pub2)
		send(t, p.c2, "punch 2", p.pub1)
		expect(t, p.r2, "punch 1")
		expect(t, p.r1, "punch 2")
		if s := checkStats(t, p.n); s.NATDrops != 0 {
			t.Errorf("NATDrops = %d, want 0", s.NATDrops)
		}
	})
}

func TestHolePunchSymmetricFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPunch(t, Config{Latency: 20 * time.Millisecond, Seed: 9}, Symmetric)
		defer p.n.Close()
		for range 3 {
			send(t, p.c1, "punch 1", p.pub2)
			send(t, p.c2, "punch 2", p.pub1)
			expectNone(t, p.r1)
			expectNone(t, p.r2)
		}
		if s := checkStats(t, p.n); s.NATDrops != 6 {
			t.Errorf("NATDrops = %d, want 6", s.NATDrops)
		}
	})
}
