package memnet

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

func TestNATKinds(t *testing.T) {
	for _, k := range []struct {
		name      string
		cfg       func(netip.Addr) NATConfig
		preserve  bool // public port == internal port
		fromB     bool // public B, never contacted, can reach the host
		fromAPort bool // A's other port can reach the host
		symmetric bool // the host appears with a different port to B
	}{
		{"FullCone", FullCone, true, true, true, false},
		{"RestrictedCone", RestrictedCone, true, false, true, false},
		{"PortRestrictedCone", PortRestrictedCone, true, false, false, false},
		{"Symmetric", Symmetric, false, false, false, true},
	} {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := New(Config{Latency: 10 * time.Millisecond, Seed: 3})
				defer n.Close()
				a := listen(t, n.Host(ipA), 4000)
				a2 := listen(t, n.Host(ipA), 4001)
				b := listen(t, n.Host(ipB), 4000)
				nat := n.NAT(k.cfg(ipNAT1))
				in := listen(t, nat.Host(priv1), 5000)
				ra, rin, rb := reader(a), reader(in), reader(b)
				wantDrops := uint64(0)

				send(t, in, "hello A", a.LocalAddr())
				mapped := expect(t, ra, "hello A").from
				if mapped.Addr() != ipNAT1 {
					t.Errorf("A sees source %v, want the NAT's IP %v", mapped, ipNAT1)
				}
				if k.preserve && mapped.Port() != 5000 {
					t.Errorf("A sees port %d, want the preserved 5000", mapped.Port())
				}

				send(t, a, "reply", mapped)
				if r := expect(t, rin, "reply"); r.from != a.LocalAddr() {
					t.Errorf("reply from %v, want %v", r.from, a.LocalAddr())
				}

				send(t, b, "from B", mapped)
				if k.fromB {
					expect(t, rin, "from B")
				} else {
					expectNone(t, rin)
					wantDrops++
				}

				send(t, a2, "from A's other port", mapped)
				if k.fromAPort {
					expect(t, rin, "from A's other port")
				} else {
					expectNone(t, rin)
					wantDrops++
				}

				send(t, in, "hello B", b.LocalAddr())
				toB := expect(t, rb, "hello B").from
				if k.symmetric == (toB == mapped) {
					t.Errorf("A sees %v, B sees %v: want different iff symmetric", mapped, toB)
				}
				if s := checkStats(t, n); s.NATDrops != wantDrops {
					t.Errorf("NATDrops = %d, want %d", s.NATDrops, wantDrops)
				}
			})
		})
	}
}

func TestSameNATLAN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{Latency: 10 * time.Millisecond})
		defer n.Close()
		nat := n.NAT(Symmetric(ipNAT1))
		c1 := listen(t, nat.Host(priv1), 5000)
		c2 := listen(t, nat.Host(priv2), 6000)
		r1, r2 := reader(c1), reader(c2)
		send(t, c1, "hi", c2.LocalAddr())
		if r := expect(t, r2, "hi"); r.from != c1.LocalAddr() {
			t.Errorf("from %v, want the private %v", r.from, c1.LocalAddr())
		}
		send(t, c2, "hi back", c1.LocalAddr())
		expect(t, r1, "hi back")
		if m := nat.Mappings(); m != 0 {
			t.Errorf("LAN traffic created %d mappings", m)
		}
	})
}

// TestPrivateRealmsIndependent puts the same private address behind two
// NATs: each host reaches only its own realm's address.
func TestPrivateRealmsIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		nat1, nat2 := n.NAT(FullCone(ipNAT1)), n.NAT(FullCone(ipNAT2))
		x1 := listen(t, nat1.Host(priv1), 5000)
		y1 := listen(t, nat1.Host(priv2), 5000)
		x2 := listen(t, nat2.Host(priv1), 5000)
		rx1, rx2 := reader(x1), reader(x2)
		send(t, y1, "neighbour", x1.LocalAddr())
		expect(t, rx1, "neighbour")
		expectNone(t, rx2)
		send(t, x2, "self", x2.LocalAddr())
		expect(t, rx2, "self")
		expectNone(t, rx1)
	})
}

func TestMappingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		nat := n.NAT(PortRestrictedCone(ipNAT1))
		if nat.Config().Timeout != DefaultNATTimeout {
			t.Fatalf("default Timeout = %v, want %v", nat.Config().Timeout, DefaultNATTimeout)
		}
		a := listen(t, n.Host(ipA), 4000)
		in := listen(t, nat.Host(priv1), 5000)
		ra, rin := reader(a), reader(in)

		send(t, in, "open", a.LocalAddr())
		mapped := expect(t, ra, "open").from // 1s later
		// Traffic within the timeout keeps the mapping alive.
		for range 3 {
			time.Sleep(DefaultNATTimeout - 2*time.Second)
			send(t, in, "keepalive", a.LocalAddr())
			expect(t, ra, "keepalive")
		}
		// Exactly Timeout after the last outbound datagram, it expires.
		time.Sleep(DefaultNATTimeout - time.Second - time.Nanosecond)
		if m := nat.Mappings(); m != 1 {
			t.Fatalf("1ns before the timeout: Mappings() = %d, want 1", m)
		}
		send(t, a, "just in time", mapped)
		synctest.Wait()
		if m := nat.Mappings(); m != 1 {
			t.Fatalf("inbound traffic: Mappings() = %d, want 1", m)
		}
		time.Sleep(time.Nanosecond)
		if m := nat.Mappings(); m != 0 {
			t.Fatalf("after the timeout: Mappings() = %d, want 0", m)
		}
		expect(t, rin, "just in time")
		send(t, a, "too late", mapped)
		expectNone(t, rin)
		if s := checkStats(t, n); s.NATDrops != 1 {
			t.Errorf("NATDrops = %d, want 1", s.NATDrops)
		}
	})
}

// TestInboundDoesNotRefresh checks that only outbound traffic keeps a
// mapping alive.
func TestInboundDoesNotRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		nat := n.NAT(NATConfig{PublicIP: ipNAT1, Timeout: 10 * time.Second})
		a := listen(t, n.Host(ipA), 4000)
		in := listen(t, nat.Host(priv1), 5000)
		ra, rin := reader(a), reader(in)
		send(t, in, "open", a.LocalAddr())
		mapped := expect(t, ra, "open").from
		for range 8 {
			send(t, a, "in", mapped)
			expect(t, rin, "in")
		}
		time.Sleep(time.Second) // 10s after "open"
		send(t, a, "in", mapped)
		expectNone(t, rin)
	})
}

// TestPermitExpiresPerRemote checks that a filtering permission expires
// Timeout after the last datagram to that remote, even if the mapping is
// kept alive by traffic to another remote.
func TestPermitExpiresPerRemote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		nat := n.NAT(PortRestrictedCone(ipNAT1))
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		in := listen(t, nat.Host(priv1), 5000)
		ra, rb, rin := reader(a), reader(b), reader(in)
		send(t, in, "to B", b.LocalAddr())
		mapped := expect(t, rb, "to B").from
		for range 3 {
			send(t, in, "to A", a.LocalAddr())
			expect(t, ra, "to A")
			time.Sleep(9 * time.Second)
		}
		send(t, a, "A", mapped)
		expect(t, rin, "A")
		send(t, b, "B", mapped)
		expectNone(t, rin)
	})
}

func TestHairpin(t *testing.T) {
	for _, hairpin := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			n := New(Config{Latency: 10 * time.Millisecond})
			defer n.Close()
			cfg := FullCone(ipNAT1)
			cfg.Hairpin = hairpin
			nat := n.NAT(cfg)
			s := listen(t, n.Host(ipS), 3478)
			c1 := listen(t, nat.Host(priv1), 5000)
			c2 := listen(t, nat.Host(priv2), 6000)
			rs, r2 := reader(s), reader(c2)
			send(t, c1, "stun", s.LocalAddr())
			m1 := expect(t, rs, "stun").from
			send(t, c2, "stun", s.LocalAddr())
			m2 := expect(t, rs, "stun").from
			send(t, c1, "hairpin", m2)
			if !hairpin {
				expectNone(t, r2)
				return
			}
			if r := expect(t, r2, "hairpin"); r.from != m1 {
				t.Errorf("hairpinned datagram from %v, want the public %v", r.from, m1)
			}
		})
	}
}

func TestPortAlloc(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{Seed: 1})
		defer n.Close()
		a := listen(t, n.Host(ipA), 4000)
		a2 := listen(t, n.Host(ipA), 4001)
		b := listen(t, n.Host(ipB), 4000)
		ra, ra2, rb := reader(a), reader(a2), reader(b)
		port := func(from *Conn, to *Conn, r <-chan rx) uint16 {
			send(t, from, "x", to.LocalAddr())
			return expect(t, r, "x").from.Port()
		}

		pres := n.NAT(PortRestrictedCone(ipNAT1))
		p1 := port(listen(t, pres.Host(priv1), 5000), a, ra)
		p2 := port(listen(t, pres.Host(priv2), 5000), a, ra)
		if p1 != 5000 || p2 != natFirstPort {
			t.Errorf("PortPreserve: ports %d, %d; want 5000 then %d", p1, p2, natFirstPort)
		}

		seq := n.NAT(NATConfig{PublicIP: ipNAT2, Mapping: AddressDependent, PortAlloc: PortSequential})
		c := listen(t, seq.Host(priv1), 5000)
		p1, p2, p3 := port(c, a, ra), port(c, a2, ra2), port(c, b, rb)
		if p1 != natFirstPort || p2 != p1 || p3 != p1+1 {
			t.Errorf("AddressDependent, PortSequential: ports %d, %d, %d; want %d, %[4]d, %d", p1, p2, p3, natFirstPort, natFirstPort+1)
		}
		if m := seq.Mappings(); m != 2 {
			t.Errorf("Mappings() = %d, want 2", m)
		}

		sym := n.NAT(Symmetric(netip.MustParseAddr("192.0.2.3")))
		c = listen(t, sym.Host(priv1), 5000)
		p1, p2, p3 = port(c, a, ra), port(c, a2, ra2), port(c, b, rb)
		if p1 == p2 || p2 == p3 || p1 == p3 || min(p1, p2, p3) < natFirstPort {
			t.Errorf("Symmetric: ports %d, %d, %d; want distinct", p1, p2, p3)
		}
	})
}

func TestAddressConflictsPanic(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	n := New(Config{})
	defer n.Close()
	n.Host(ipA)
	nat := n.NAT(FullCone(ipNAT1))
	mustPanic("Host(NAT's IP)", func() { n.Host(ipNAT1) })
	mustPanic("NAT(public host's IP)", func() { n.NAT(FullCone(ipA)) })
	mustPanic("NAT(other NAT's IP)", func() { n.NAT(Symmetric(ipNAT1)) })
	mustPanic("NAT(invalid IP)", func() { n.NAT(NATConfig{}) })
	mustPanic("NAT.Host(NAT's IP)", func() { nat.Host(ipNAT1) })
	mustPanic("Host(invalid IP)", func() { n.Host(netip.Addr{}) })
	if nat.Host(priv1) != nat.Host(netip.MustParseAddr("::ffff:10.0.0.2")) {
		t.Error("NAT.Host does not unmap IPv4-mapped addresses")
	}
}
