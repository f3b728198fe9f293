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

// coneVictimOverlay is a node behind a cone (two observers agree) with one
// verified peer, b, that sends it puncture requests.
func coneVictimOverlay(t *testing.T, stats *Stats) (*Overlay, *sinkTransport, *peer, time.Time) {
	o, sink := benchOverlay(t, stats, 1)
	now := time.Now()
	wan := netip.MustParseAddrPort("203.0.113.7:1873")
	o.votes.first.add(netip.MustParseAddr("198.51.100.1"), wan, now)
	o.votes.first.add(netip.MustParseAddr("198.51.100.2"), wan, now)
	if o.votes.first.nat != NATCone {
		t.Fatalf("setup: nat %v, want cone", o.votes.first.nat)
	}
	return o, sink, o.table.order[0], now
}

// runAttempts runs whatever attempt is planned to its end, burst by burst.
func runAttempts(o *Overlay, now time.Time) time.Time {
	for o.punch.att != nil {
		now = now.Add(probeBurst)
		o.punch.tick(now)
	}
	return now
}

// A verified introducer that lies (every target "behind a random symmetric
// NAT", all at a victim's IP) aims nothing: without the target's own ticket
// for that IP, or with a ticket of another peer, another IP or one that
// expired, the cone node starts no attempt. Before tickets, one lying
// 86-byte request made it spray 513 datagrams (42 kB) at an IP that never
// talked to it.
func TestLyingIntroducerAimsNothing(t *testing.T) {
	stats := NewStats()
	o, sink, b, now := coneVictimOverlay(t, stats)
	victim := netip.MustParseAddrPort("198.51.100.77:0")
	liar, other := mustIdentity(t), mustIdentity(t)
	tickets := []proto.Ticket{
		{},                             // none
		signTicket(other, victim, now), // a real ticket, of another peer
		signTicket(liar, netip.MustParseAddrPort("192.0.2.1:0"), now), // the target's, for another IP
		signTicket(liar, victim, now.Add(-3*time.Minute)),             // expired
	}
	forged := signTicket(liar, victim, now)
	forged.Sig[0] ^= 1
	tickets = append(tickets, forged)
	for i, tk := range tickets {
		inject(t, o, b.addr, b.id, &proto.PunctureRequest{Nonce: uint64(i),
			Target:    proto.PeerInfo{ID: liar.ID, WAN: netip.AddrPortFrom(victim.Addr(), 4000)},
			TargetNAT: proto.NATHint{Kind: proto.NATRandom, Wants: true}, TargetTicket: tk})
		now = runAttempts(o, now)
	}
	attempts, probes := stats.Count(PortPredictionAttempts), stats.Count(PortProbesSent)
	t.Logf("%d lying puncture requests: %d attempts, %d probes, %d datagrams in all", len(tickets), attempts, probes, sink.writes.Load())
	if attempts != 0 || probes != 0 {
		t.Errorf("a lying introducer got %d attempts and %d probes toward %v, want none", attempts, probes, victim.Addr())
	}
}

// A peer that lies about its own address (it signs a ticket for a victim's
// IP) can aim probes there, through any number of introducers, but never
// more than the node's budget for that IP in an hour: 128 KiB of probes,
// two of the easy side's attempts.
func TestLyingPeerWithinProbeBudget(t *testing.T) {
	stats := NewStats()
	o, _, b, now := coneVictimOverlay(t, stats)
	victim := netip.MustParseAddrPort("198.51.100.77:0")
	start := now
	sent := 0
	for i := 0; now.Sub(start) < time.Hour; i++ {
		liar := mustIdentity(t) // a fresh key each time: no pair waits out a failure
		injectAt(t, o, b.addr, b.id, &proto.PunctureRequest{Nonce: uint64(i),
			Target:    proto.PeerInfo{ID: liar.ID, WAN: netip.AddrPortFrom(victim.Addr(), 4000)},
			TargetNAT: proto.NATHint{Kind: proto.NATRandom, Wants: true}, TargetTicket: signTicket(liar, victim, now)}, now)
		o.punch.tick(now.Add(probeDelay))
		now = runAttempts(o, now.Add(probeDelay))
		now = now.Add(probeStartEvery) // the start budget refills
		sent = int(stats.Count(PortProbesSent))
		b.heard(now) // the introducer keeps talking
	}
	t.Logf("an hour of a lying peer's requests: %d attempts, %d probes (%d bytes counted) toward %v",
		stats.Count(PortPredictionAttempts), sent, sent*probeCost, victim.Addr())
	if sent*probeCost > probeBudget {
		t.Errorf("%d probes in an hour toward one IP: %d bytes, over the budget of %d", sent, sent*probeCost, probeBudget)
	}
	if sent == 0 {
		t.Error("no probes at all: a peer's own ticket should be honoured within the budget")
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
		o.votes.first.add(netip.MustParseAddr("198.51.100.1"), netip.MustParseAddrPort("203.0.113.9:40001"), now)
		o.votes.first.add(netip.MustParseAddr("198.51.100.2"), netip.MustParseAddrPort("203.0.113.9:2222"), now)
		if h := o.natHint(now); h.Kind != proto.NATRandom || !h.Wants {
			t.Fatalf("setup: hint %+v, want random and wanting", h)
		}
		nobody := netip.MustParseAddrPort("198.51.100.50:1873") // a cone that will not probe back
		nob := mustIdentity(t)
		try := func(run time.Duration) {
			tk := signTicket(nob, nobody, time.Now())
			o.plan(nob.ID, nobody, nobody, proto.NATHint{Kind: proto.NATEasy, Wants: true}, tk, time.Now())
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

// signTicket is id's ticket for addr, as a node makes its own.
func signTicket(id Identity, addr netip.AddrPort, now time.Time) proto.Ticket {
	pr := &prober{cfg: &Config{Key: id.Key}}
	kind := proto.NATEasy
	if addr.Port() == 0 {
		kind = proto.NATRandom
	}
	return pr.ticket(kind, addr.Addr(), addr, now)
}
