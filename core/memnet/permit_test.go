package memnet

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// TestPermitsPruned sprays a port-restricted-cone mapping's permits over
// many ports, as port prediction does, then keeps the mapping alive with
// traffic to one remote: a Timeout later the spray's permits are gone from
// memory, and none of them admits a datagram.
func TestPermitsPruned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 10 * time.Second
		n := New(Config{})
		defer n.Close()
		cfg := PortRestrictedCone(ipNAT1)
		cfg.Timeout = timeout
		nat := n.NAT(cfg)
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		in := listen(t, nat.Host(priv1), 5000)
		ra, rb, rin := reader(a), reader(b), reader(in)
		send(t, in, "spray", a.LocalAddr())
		mapped := expect(t, ra, "spray").from
		for p := range uint16(300) {
			send(t, in, "spray", netip.AddrPortFrom(ipA, 6000+p))
		}
		m := nat.table.byPort[mapped.Port()]
		if k := m.permits.len(); k != 301 {
			t.Fatalf("%d permits after the spray, want 301", k)
		}
		for range 3 { // the spray expires; the mapping does not
			time.Sleep(timeout / 2)
			send(t, in, "keepalive", b.LocalAddr())
			expect(t, rb, "keepalive")
		}
		if k := m.permits.len(); k != 1 || len(m.permits.more) > 1 {
			t.Errorf("%d permits (%d in the map) after the spray expired, want only B's", k, len(m.permits.more))
		}
		send(t, a, "expired", mapped)
		expectNone(t, rin)
		send(t, b, "live", mapped)
		expect(t, rin, "live")
	})
}

// TestPermitReplaced checks the inline permit: once expired it gives way
// to a new remote, after which the old remote is filtered until the
// mapping sends to it again, while remotes in the map keep their own
// expiry.
func TestPermitReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 20 * time.Second
		n := New(Config{})
		defer n.Close()
		cfg := RestrictedCone(ipNAT1) // permits by IP: A's ports share one
		cfg.Timeout = timeout
		nat := n.NAT(cfg)
		a := listen(t, n.Host(ipA), 4000)
		a2 := listen(t, n.Host(ipA), 4001)
		b := listen(t, n.Host(ipB), 4000)
		s := listen(t, n.Host(ipS), 4000)
		in := listen(t, nat.Host(priv1), 5000)
		ra, rb, rs, rin := reader(a), reader(b), reader(s), reader(in)
		send(t, in, "to A", a.LocalAddr()) // inline
		mapped := expect(t, ra, "to A").from
		send(t, in, "to S", s.LocalAddr()) // in the map
		expect(t, rs, "to S")
		time.Sleep(timeout / 2)
		send(t, in, "to S", s.LocalAddr())
		expect(t, rs, "to S")
		time.Sleep(timeout / 2) // A's permit has expired, S's has not
		send(t, in, "to B", b.LocalAddr())
		expect(t, rb, "to B")
		m := nat.table.byPort[mapped.Port()]
		if m.permits.first.remote.Addr() != ipB {
			t.Fatalf("inline permit for %v, want B's expired one replaced", m.permits.first.remote)
		}
		send(t, a2, "from A", mapped)
		expectNone(t, rin)
		send(t, b, "from B", mapped)
		expect(t, rin, "from B")
		send(t, s, "from S", mapped)
		expect(t, rin, "from S")
		send(t, in, "to A again", a.LocalAddr())
		expect(t, ra, "to A again")
		send(t, a2, "from A", mapped)
		expect(t, rin, "from A")
	})
}

// TestMappingsSweptOverTime checks that a burst of mappings (a symmetric
// NAT during port prediction) is removed, and the table's maps rebuilt,
// a Timeout later on the next outbound datagram, without waiting for the
// table to double or for a call to Mappings.
func TestMappingsSweptOverTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 10 * time.Second
		n := New(Config{Seed: 5})
		defer n.Close()
		cfg := Symmetric(ipNAT1)
		cfg.Timeout = timeout
		nat := n.NAT(cfg)
		a := listen(t, n.Host(ipA), 4000)
		in := listen(t, nat.Host(priv1), 5000)
		for p := range uint16(300) {
			send(t, in, "probe", netip.AddrPortFrom(ipA, 6000+p))
		}
		tab := &nat.table
		if len(tab.byPort) != 300 || len(tab.byKey) != 300 {
			t.Fatalf("%d, %d mappings after the burst, want 300", len(tab.byPort), len(tab.byKey))
		}
		time.Sleep(timeout)
		send(t, in, "hello", a.LocalAddr())
		if len(tab.byPort) != 1 || len(tab.byKey) != 1 || tab.peak != 1 {
			t.Errorf("%d, %d mappings, peak %d after the burst expired; want 1 and the maps rebuilt",
				len(tab.byPort), len(tab.byKey), tab.peak)
		}
		if m := nat.Mappings(); m != 1 {
			t.Errorf("Mappings() = %d, want 1", m)
		}
	})
}

// TestPermitsAllow drives a permit set directly, between sweeps: an
// expired inline permit is replaced by the next new remote, a live one
// is not, and prune keeps exactly the live permits.
func TestPermitsAllow(t *testing.T) {
	nat := &NAT{cfg: NATConfig{Timeout: 10 * time.Second}}
	rA := netip.AddrPortFrom(ipA, 4000)
	rB := netip.AddrPortFrom(ipB, 4000)
	rS := netip.AddrPortFrom(ipS, 4000)
	admits := func(ps *permits, r netip.AddrPort, now time.Duration) bool {
		last, ok := ps.lookup(r)
		return ok && !nat.expired(last, now)
	}
	var ps permits
	if admits(&ps, netip.AddrPort{}, 0) {
		t.Fatal("empty set admits the zero address")
	}
	ps.allow(nat, rA, 0)
	ps.allow(nat, rB, 5*time.Second) // A is live: B goes to the map
	if ps.first.remote != rA || len(ps.more) != 1 {
		t.Fatalf("first %v, %d in the map; want A inline, B in the map", ps.first.remote, len(ps.more))
	}
	ps.allow(nat, rS, 10*time.Second) // A has expired: S takes its place
	if ps.first.remote != rS || ps.len() != 2 {
		t.Fatalf("first %v, %d permits; want S inline and 2 permits", ps.first.remote, ps.len())
	}
	now := 12 * time.Second
	if admits(&ps, rA, now) || !admits(&ps, rB, now) || !admits(&ps, rS, now) {
		t.Errorf("admits A %v, B %v, S %v; want B and S only",
			admits(&ps, rA, now), admits(&ps, rB, now), admits(&ps, rS, now))
	}
	ps.allow(nat, rB, now) // refreshes B in the map, not inline
	if ps.first.remote != rS || ps.more[rB] != now {
		t.Errorf("refresh of B: first %v, B at %v", ps.first.remote, ps.more[rB])
	}
	ps.prune(nat, 21*time.Second) // S expired, B live
	if ps.first.remote.IsValid() || ps.len() != 1 || !admits(&ps, rB, 21*time.Second) {
		t.Errorf("after prune: first %v, %d permits; want B's alone", ps.first.remote, ps.len())
	}
	ps.prune(nat, 22*time.Second)
	if ps.more != nil || ps.len() != 0 {
		t.Errorf("after everything expired: %d permits, map %v; want none", ps.len(), ps.more)
	}
}
