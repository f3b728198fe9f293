//go:build natlab

package natlab

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// udpIn opens a UDP socket bound to addr inside namespace ns.
func udpIn(t *testing.T, ns string, addr netip.AddrPort) *net.UDPConn {
	t.Helper()
	return listenIn(t, ns, "udp4", addr)
}

// listenIn opens a UDP socket of network (udp4, udp6) bound to addr inside
// namespace ns.
func listenIn(t *testing.T, ns, network string, addr netip.AddrPort) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := inNamespace(ns, func() error {
		var err error
		c, err = net.ListenUDP(network, net.UDPAddrFromAddrPort(addr))
		return err
	})
	if err != nil {
		t.Fatalf("UDP socket on %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recvFrom reads one datagram within timeout and returns its source.
func recvFrom(c *net.UDPConn, timeout time.Duration) (netip.AddrPort, bool) {
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 1500)
	_, from, err := c.ReadFromUDPAddrPort(buf)
	return from, err == nil
}

// TestLabNATs checks the routers themselves, without walkie, so that a
// scenario failure points at the node and not at the lab: the mapping each
// kind gives one socket toward two observers, and whether an observer that
// was never contacted gets through.
func TestLabNATs(t *testing.T) {
	l := newLab(t, "o1:public o2:public c:cone s:symmetric f:fullcone", options{})
	o1, o2 := l.byName["o1"], l.byName["o2"]
	obs1, obs2 := udpIn(t, o1.host, o1.listen()), udpIn(t, o2.host, o2.listen())
	stranger := udpIn(t, o2.host, netip.AddrPortFrom(o2.lan, nodePort+1))
	for _, name := range []string{"c", "s", "f"} {
		s := l.byName[name]
		h := udpIn(t, s.host, s.listen())
		h.WriteToUDPAddrPort([]byte("hi"), o1.listen())
		h.WriteToUDPAddrPort([]byte("hi"), o2.listen())
		m1, ok1 := recvFrom(obs1, time.Second)
		m2, ok2 := recvFrom(obs2, time.Second)
		if !ok1 || !ok2 {
			t.Fatalf("%s: observers got nothing (%v %v)", name, ok1, ok2)
		}
		t.Logf("%s (%s): o1 sees %s, o2 sees %s", name, s.kind, m1, m2)
		if m1.Addr() != s.public || m2.Addr() != s.public {
			t.Errorf("%s: mapped to %s and %s, want the router's IP %s", name, m1, m2, s.public)
		}
		if same := m1 == m2; same != (s.kind != Symmetric) {
			t.Errorf("%s (%s): one mapping for both observers is %v", name, s.kind, same)
		}
		if s.kind != Symmetric && m1.Port() != nodePort {
			t.Errorf("%s: masquerade moved the port to %d", name, m1.Port())
		}
		// A packet from a port the host never sent to: only a full cone
		// lets it in.
		stranger.WriteToUDPAddrPort([]byte("knock"), m2)
		_, got := recvFrom(h, 300*time.Millisecond)
		if got != (s.kind == FullCone) {
			t.Errorf("%s (%s): unsolicited packet delivered: %v", name, s.kind, got)
		}
		// The observers' answers come back through the mapping.
		obs2.WriteToUDPAddrPort([]byte("reply"), m2)
		if _, ok := recvFrom(h, time.Second); !ok {
			t.Errorf("%s: the reply of a contacted observer did not come back", name)
		}
	}
}

// TestLabImpairment checks that the stand-in for netem works: 100 ms
// one-way delay on the router's WAN egress, and 5% loss.
func TestLabImpairment(t *testing.T) {
	l := newLab(t, "o:public c:cone", options{delay: 100 * time.Millisecond, lossPct: 5})
	o, c := l.byName["o"], l.byName["c"]
	obs, h := udpIn(t, o.host, o.listen()), udpIn(t, c.host, c.listen())
	const n = 200
	start := time.Now()
	for range n {
		h.WriteToUDPAddrPort([]byte("x"), o.listen())
	}
	got := 0
	var first time.Duration
	for {
		if _, ok := recvFrom(obs, 500*time.Millisecond); !ok {
			break
		}
		if got == 0 {
			first = time.Since(start)
		}
		got++
	}
	t.Logf("%d of %d datagrams arrived, the first after %v", got, n, first)
	// The delay is a timer in this process releasing the queued packet, so
	// it can come a fraction of a millisecond early against the clock read
	// before the first send (99.93 ms was seen); no delay at all would be
	// well under a millisecond.
	if first < 90*time.Millisecond || first > 250*time.Millisecond {
		t.Errorf("first datagram after %v, want about 100 ms", first)
	}
	// 5% of 200 is 10; below 1 or above 30 is a broken rule, not bad luck
	// (each has a probability under 1e-4).
	if lost := n - got; lost < 1 || lost > 30 {
		t.Errorf("%d of %d lost, want about 5%%", lost, n)
	}
}

// TestParseTopology checks the description language, mistakes included.
func TestParseTopology(t *testing.T) {
	got, err := parseTopology("boot:public a:cone a2:@a s:symmetric")
	if err != nil || len(got) != 4 || got[2] != (siteSpec{name: "a2", kind: Cone, behind: "a"}) || got[3].kind != Symmetric {
		t.Errorf("parseTopology: %+v, %v", got, err)
	}
	got, err = parseTopology("b:public+6 p6:public6 d:cone+6 d2:@d ph:nat64")
	want := []siteSpec{{"b", Public, dual, ""}, {"p6", Public, v6only, ""}, {"d", Cone, dual, ""}, {"d2", Cone, dual, "d"}, {"ph", NAT64, v6only, ""}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("parseTopology with IPv6: %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"", "a", "a:dsl", "a:cone a:cone", "a:@b b:cone", "p:public q:@p", "a-b:cone", "toolongname:cone",
		"a:public6+6", "a:nat64+6", "a:nat64 b:@a", "a:cone b:@a+6"} {
		if _, err := parseTopology(bad); err == nil {
			t.Errorf("parseTopology(%q) accepted", bad)
		}
	}
}
