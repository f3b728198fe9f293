package core

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/proto"
)

// A verified introducer that lies (every target "behind a random symmetric
// NAT", all at a victim's IP) cannot make a cone node spray without end:
// two attempts at once, then one per 15 s, each at most ProbePackets
// probes, every one toward the named IP.
func TestLyingIntroducerProbeBudget(t *testing.T) {
	stats := NewStats()
	o, sink := benchOverlay(t, stats, 1)
	now := time.Now()
	// Two observers agree: we are behind a cone.
	wan := netip.MustParseAddrPort("203.0.113.7:1873")
	o.votes.add(netip.MustParseAddr("198.51.100.1"), wan, now)
	o.votes.add(netip.MustParseAddr("198.51.100.2"), wan, now)
	if o.votes.nat != NATCone {
		t.Fatalf("setup: nat %v, want cone", o.votes.nat)
	}
	b := o.table.order[0]
	victim := netip.MustParseAddrPort("198.51.100.77:4000")
	for i := range 20 {
		inject(t, o, b.addr, b.id, &proto.PunctureRequest{Nonce: uint64(i),
			Target: proto.PeerInfo{ID: proto.ID{9, byte(i)}, WAN: victim}, TargetNAT: proto.NATHint{Kind: proto.NATRandom, Wants: true}})
		// Run the attempt to its end, probe burst by burst.
		for d := time.Duration(0); o.punch.att != nil; d += probeBurst {
			o.punch.tick(now.Add(d))
		}
	}
	attempts, probes := stats.Count(PortPredictionAttempts), stats.Count(PortProbesSent)
	t.Logf("20 lying puncture requests: %d attempts, %d probes, %d datagrams in all", attempts, probes, sink.writes.Load())
	if attempts != probeStartBurst {
		t.Errorf("%d attempts from 20 requests within a second, want %d", attempts, probeStartBurst)
	}
	if probes > attempts*uint64(o.cfg.ProbePackets) {
		t.Errorf("%d probes in %d attempts, over %d each", probes, attempts, o.cfg.ProbePackets)
	}
	if probes == 0 {
		t.Error("no probes at all: the test is not testing the budget")
	}
}

// probePort stays within the ports a NAT hands out, and a sequential sweep
// stops at the top of the range.
func TestProbePort(t *testing.T) {
	for i := 1; i <= 1000; i++ {
		if p, ok := probePort(proto.NATHint{Kind: proto.NATRandom}, i); !ok || p < lowPort {
			t.Fatalf("random probe %d: port %d, %v", i, p, ok)
		}
	}
	h := proto.NATHint{Kind: proto.NATSequential, Port: 40000, Step: 2}
	if p, _ := probePort(h, 1); p != 40000+2*seqStride {
		t.Errorf("first sequential probe at %d, want %d", p, 40000+2*seqStride)
	}
	h.Port = 65500
	if _, ok := probePort(h, 2); ok {
		t.Error("a sequential sweep past 65535 did not stop")
	}
}

// An attempt whose partner never answers ends on time, closes every socket
// it opened, and the pair is tried again only after a minute.
func TestProbeAttemptGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Seed: 1})
		defer n.Close()
		h := n.NAT(memnet.Symmetric(netip.MustParseAddr("203.0.113.9"))).Host(netip.MustParseAddr("10.0.0.2"))
		conn, err := h.Listen(1873)
		if err != nil {
			t.Fatal(err)
		}
		var open, total atomic.Int64
		cfg := DefaultLocalConfig()
		cfg.PeerID = proto.ID{1}
		cfg.Transport = conn
		cfg.ListenProbe = func() (Transport, error) {
			c, err := h.Listen(0)
			if err != nil {
				return nil, err
			}
			open.Add(1)
			total.Add(1)
			return closeCounter{c, &open}, nil
		}
		o, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		stats := o.m.(*Stats)
		// Two observers saw two far-apart ports: a random symmetric NAT.
		now := time.Now()
		o.votes.add(netip.MustParseAddr("198.51.100.1"), netip.MustParseAddrPort("203.0.113.9:40001"), now)
		o.votes.add(netip.MustParseAddr("198.51.100.2"), netip.MustParseAddrPort("203.0.113.9:2222"), now)
		if h := o.natHint(now); h.Kind != proto.NATRandom || !h.Wants {
			t.Fatalf("setup: hint %+v, want random and wanting", h)
		}
		nobody := netip.MustParseAddrPort("198.51.100.50:1873") // a cone that will not probe back
		try := func(run time.Duration) {
			o.plan(proto.ID{9}, nobody, nobody, proto.NATHint{Kind: proto.NATEasy, Wants: true}, time.Now())
			for end := time.Now().Add(run); time.Now().Before(end); time.Sleep(probeBurst) {
				o.punch.tick(time.Now())
			}
			synctest.Wait() // the closed sockets' readers end
		}
		try(5 * time.Second)
		if a, p := stats.Count(PortPredictionAttempts), stats.Count(PortProbesSent); a != 1 || p != 256 || total.Load() != 256 {
			t.Fatalf("first attempt: %d attempts, %d probes, %d sockets; want 1, 256, 256", a, p, total.Load())
		}
		if open.Load() != 0 || o.punch.att != nil || o.out.routeCount() != 0 {
			t.Fatalf("after the attempt: %d sockets open, attempt %v, %d routes", open.Load(), o.punch.att, o.out.routeCount())
		}
		if stats.Count(PortPredictionSuccesses) != 0 {
			t.Fatal("a failed attempt counted as a success")
		}
		try(5 * time.Second) // within the minute: not again
		if a := stats.Count(PortPredictionAttempts); a != 1 {
			t.Fatalf("%d attempts within a minute of the failure, want 1", a)
		}
		time.Sleep(time.Minute)
		try(5 * time.Second)
		if a := stats.Count(PortPredictionAttempts); a != 2 || open.Load() != 0 {
			t.Fatalf("after a minute: %d attempts, %d sockets open; want 2 and 0", a, open.Load())
		}
	})
}

// closeCounter counts a probe socket's Close once.
type closeCounter struct {
	*memnet.Conn
	open *atomic.Int64
}

func (c closeCounter) Close() error {
	if err := c.Conn.Close(); err != nil {
		return err
	}
	c.open.Add(-1)
	return nil
}
