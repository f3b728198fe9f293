package core_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/proto"
)

// withAlt gives a node on h a second socket (Config.Alt), as cmd/node does.
func withAlt(t *testing.T, h *memnet.Host) func(*core.Config) {
	return func(c *core.Config) {
		alt, err := h.Listen(0)
		if err != nil {
			t.Fatal(err)
		}
		c.Alt = alt
	}
}

// oneBootstrap starts the seed's world: one public bootstrap (with a second
// port when alt), three hosts behind port-restricted cone NATs and one
// behind a symmetric NAT with random ports, each knowing the bootstrap
// only. It returns the cones and the symmetric host.
func oneBootstrap(t *testing.T, n *memnet.Network, alt bool) (cones []*core.Overlay, sym *core.Overlay) {
	bh := n.Host(ip("198.51.100.1"))
	var opts []func(*core.Config)
	if alt {
		opts = append(opts, withAlt(t, bh))
	}
	boot := keyed(t, bh, nil, opts...)
	b := []netip.AddrPort{boot.LAN()}
	for i := range 3 {
		nat := n.NAT(memnet.PortRestrictedCone(netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i)})))
		cones = append(cones, keyed(t, nat.Host(ip("10.0.0.2")), b))
	}
	sh := n.NAT(memnet.Symmetric(ip("203.0.113.9"))).Host(ip("10.0.0.2"))
	cl := &countingListen{h: sh}
	sym = keyed(t, sh, b, func(c *core.Config) { c.ListenProbe = cl.listen })
	return cones, sym
}

// One public bootstrap is enough: the symmetric host learns its NAT type
// from the bootstrap's two ports, shows its IP as provisional (one observer
// never sets wan_ip), and meets a cone host by port prediction within 20 s;
// once it has, its second observer settles wan_ip. Classification must
// work every time; meeting depends on port prediction between random ports
// (each attempt a birthday draw: 561 of 600 starts met within 20 s in
// memnet), so 20 starts run and at least 14 must meet (at 93% a start,
// fewer happens in well under 1% of runs).
func TestOneBootstrapIsEnough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const starts = 20
		met := 0
		for i := range starts {
			if oneBootstrapRun(t, uint64(11+i)) {
				met++
			}
		}
		t.Logf("%d of %d starts met a cone host within 20 s", met, starts)
		if met < 14 {
			t.Errorf("%d of %d starts met a cone host within 20 s, want at least 14", met, starts)
		}
	})
}

// oneBootstrapRun is one start of TestOneBootstrapIsEnough, on a network of
// its own that it closes; it reports whether the symmetric host met a cone
// host within 20 s.
func oneBootstrapRun(t *testing.T, seed uint64) bool {
	n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: seed})
	defer n.Close()
	cones, sym := oneBootstrap(t, n, true)
	defer func() {
		for _, o := range append(cones, sym) {
			o.Close()
		}
	}()
	waitUntil(t, 5*time.Second, "the symmetric host classified", func() bool { return sym.Status().NAT == "symmetric" })
	s := sym.Status()
	if s.WAN != "" || (s.WANIP != "" && s.WANIP != "203.0.113.9") || s.WANIPProvisional != "203.0.113.9" || s.NATReason != "" {
		t.Errorf("symmetric host: wan %q wan_ip %q wan_ip_provisional %q nat_reason %q; want no wan, the router's IP provisional",
			s.WAN, s.WANIP, s.WANIPProvisional, s.NATReason)
	}
	meets := func() bool {
		for _, c := range cones {
			if knows(c, sym) && knows(sym, c) {
				return true
			}
		}
		return false
	}
	for start := time.Now(); !meets(); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 20*time.Second {
			return false
		}
	}
	// Its second observer (the cone host it met) confirms it: the votes
	// decide now, two observers on one IP, two ports.
	waitUntil(t, 30*time.Second, "two observers agree on the symmetric host's IP", func() bool {
		s := sym.Status()
		return s.NAT == "symmetric" && s.WANIP == "203.0.113.9" && s.WANIPProvisional == ""
	})
	return true
}

// Without a second port the symmetric host cannot tell, and says why: one
// observer, whose IP it shows as provisional only.
func TestOneObserverSaysWhy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 11})
		defer n.Close()
		_, sym := oneBootstrap(t, n, false)
		time.Sleep(10 * time.Second)
		s := sym.Status()
		if s.NAT != "unknown" || s.NATReason != "one_observer" || s.WAN != "" || s.WANIP != "" || s.WANIPProvisional != "203.0.113.9" {
			t.Errorf("nat %q nat_reason %q wan %q wan_ip %q wan_ip_provisional %q; want unknown, one_observer, the IP provisional only",
				s.NAT, s.NATReason, s.WAN, s.WANIP, s.WANIPProvisional)
		}
	})
}

// A cone host whose only public contact is the bootstrap learns "cone"
// from its two ports, and its WAN address still waits for a second
// observer: one observer never sets wan or wan_ip.
func TestOneBootstrapCone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 5})
		defer n.Close()
		bh := n.Host(ip("198.51.100.1"))
		boot := keyed(t, bh, nil, withAlt(t, bh))
		c := keyed(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.113.1"))).Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()})
		waitUntil(t, 5*time.Second, "the cone host classified", func() bool { return c.Status().NAT == "cone" })
		time.Sleep(5 * time.Second)
		s := c.Status()
		if s.NAT != "cone" || s.WAN != "" || s.WANIP != "" || s.WANIPProvisional != "203.0.113.1" || s.NATReason != "" {
			t.Errorf("nat %q wan %q wan_ip %q wan_ip_provisional %q nat_reason %q; want cone, the IP provisional only",
				s.NAT, s.WAN, s.WANIP, s.WANIPProvisional, s.NATReason)
		}
		// The second port is no peer: the bootstrap is listed once, at its
		// main port.
		for _, p := range s.Peers {
			if p.ID == boot.ID().String() && p.Addr != boot.LAN().String() {
				t.Errorf("the bootstrap listed at %s, want %s only", p.Addr, boot.LAN())
			}
		}
		if len(s.Peers) != 1 {
			t.Errorf("%d peers, want the bootstrap only: %+v", len(s.Peers), s.Peers)
		}
	})
}

// The second port answers an intro request with never more bytes than it
// had, from the second port, and takes nothing else: no other message
// type, no community message, no peer. A public node names it; a node
// behind a NAT does not (a request to it would not get in).
func TestSecondPort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: time.Millisecond})
		defer n.Close()
		bh := n.Host(ip("198.51.100.1"))
		var altAddr netip.AddrPort
		boot := keyed(t, bh, nil, withAlt(t, bh), func(c *core.Config) { altAddr = c.Alt.LocalAddr() })
		r := newRaw(t, n.Host(ip("192.0.2.1")))
		asked := r.send(altAddr, &proto.IntroRequest{Nonce: 1}, 0) // the smallest request: its answer is no larger
		asked += r.send(altAddr, &proto.IntroRequest{Nonce: 2}, 128)
		r.send(altAddr, &proto.Puncture{Nonce: 3}, 0)
		r.send(altAddr, &proto.PunctureRequest{Nonce: 4, Target: proto.PeerInfo{ID: r.id, WAN: r.conn.LocalAddr()}}, 0)
		got := r.drain(time.Second)
		recv := 0
		for _, b := range got {
			recv += len(b)
			h, body, err := proto.ParseHeader(b)
			if err != nil || h.Type != proto.TypeIntroResponse || h.Dest != r.conn.LocalAddr() {
				t.Fatalf("got %v to %v (%v); want an intro response naming the sender's address", h.Type, h.Dest, err)
			}
			if resp, err := proto.DecodeIntroResponse(body); err != nil || (resp.Nonce != 1 && resp.Nonce != 2) || len(resp.Token) > 0 || resp.Invitee != nil || len(resp.Peers) > 0 {
				t.Errorf("answer %+v, %v; want the nonce only", resp, err)
			}
		}
		if len(got) != 2 || recv > asked {
			t.Errorf("%d answers, %d bytes for %d bytes of requests; want two, within the requests", len(got), recv, asked)
		}
		if d := stats(boot).Dropped(core.DropUnknownType); d != 2 {
			t.Errorf("dropped as unknown_type: %d; want 2 (a puncture, a puncture request)", d)
		}
		if len(boot.VerifiedPeers()) != 0 {
			t.Errorf("a request to the second port made a peer: %v", boot.VerifiedPeers())
		}
	})
}
