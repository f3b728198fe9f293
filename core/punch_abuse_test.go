package core

import (
	"net/netip"
	"testing"
	"time"

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
		o.mu.Lock()
		for d := time.Duration(0); o.punch.att != nil; d += probeBurst {
			o.probeTick(now.Add(d))
		}
		o.mu.Unlock()
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
