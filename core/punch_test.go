package core_test

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// countingListen is a Config.ListenProbe on h that counts the sockets open.
type countingListen struct {
	h           *memnet.Host
	open, total atomic.Int64
}

func (c *countingListen) listen() (core.Transport, error) {
	conn, err := c.h.Listen(0)
	if err != nil {
		return nil, err
	}
	c.open.Add(1)
	c.total.Add(1)
	return &countedConn{Conn: conn, c: c}, nil
}

type countedConn struct {
	*memnet.Conn
	c      *countingListen
	closed atomic.Bool
}

func (cc *countedConn) Close() error {
	if !cc.closed.Swap(true) {
		cc.c.open.Add(-1)
	}
	return cc.Conn.Close()
}

// sequentialSymmetric is a symmetric NAT that hands out ports in sequence,
// as many older and carrier routers do.
func sequentialSymmetric(ip netip.Addr) memnet.NATConfig {
	c := memnet.Symmetric(ip)
	c.PortAlloc = memnet.PortSequential
	return c
}

// pairResult is what one symmetric-and-cone pair did.
type pairResult struct {
	met                bool
	probes, attempts   uint64
	sockets, stillOpen int64
}

// symmetricMeetsCone starts two public nodes (so that votes can classify),
// a host behind a port-restricted cone and one behind the symmetric NAT
// symNAT, and reports whether the two NATed hosts meet within limit.
func symmetricMeetsCone(t *testing.T, symNAT memnet.NATConfig, limit time.Duration, opts ...func(*core.Config)) pairResult {
	n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 7})
	defer n.Close()
	// Keyed nodes: port prediction aims only at an address its owner
	// vouched for with a signed ticket.
	boot := keyed(t, n.Host(ip("198.51.100.1")), nil, opts...)
	keyed(t, n.Host(ip("198.51.100.2")), []netip.AddrPort{boot.LAN()}, opts...)
	cone := keyed(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.113.1"))).Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()}, opts...)
	sh := n.NAT(symNAT).Host(ip("10.0.0.2"))
	cl := &countingListen{h: sh}
	sym := keyed(t, sh, []netip.AddrPort{boot.LAN()}, append(opts, func(c *core.Config) { c.ListenProbe = cl.listen })...)
	deadline := time.Now().Add(limit)
	for !(knows(sym, cone) && knows(cone, sym)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var r pairResult
	r.met = knows(sym, cone) && knows(cone, sym)
	for _, o := range []*core.Overlay{sym, cone} {
		r.probes += stats(o).Count(core.PortProbesSent)
		r.attempts += stats(o).Count(core.PortPredictionAttempts)
	}
	if r.met {
		// Traffic keeps flowing both ways through the kept socket.
		time.Sleep(2 * time.Minute)
		if !knows(sym, cone) || !knows(cone, sym) {
			t.Errorf("the pair lost each other after meeting")
		}
	}
	time.Sleep(time.Minute) // every attempt is over
	r.sockets, r.stillOpen = cl.total.Load(), cl.open.Load()
	return r
}

// Without port prediction a symmetric NAT and a port-restricted cone never
// meet: the baseline that the next tests beat.
func TestSymmetricConeFailsWithoutPrediction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := symmetricMeetsCone(t, memnet.Symmetric(ip("203.0.113.9")), 20*time.Second,
			func(c *core.Config) { c.NoPortPrediction = true })
		if r.met || r.probes != 0 || r.sockets != 0 {
			t.Fatalf("%+v: want no meeting, no probes, no sockets", r)
		}
	})
}

// A sequential symmetric NAT is predicted: the symmetric side opens 32
// sockets, the cone side sweeps 64 ports above the hint, and they meet in
// the first attempt.
func TestPortPredictionSequential(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := symmetricMeetsCone(t, sequentialSymmetric(ip("203.0.113.9")), 10*time.Second)
		t.Logf("%+v", r)
		if !r.met {
			t.Fatalf("sequential symmetric and cone did not meet: %+v", r)
		}
		if r.probes > 32+64 || r.sockets > 32 {
			t.Errorf("cost %d probes and %d sockets, want at most 96 and 32", r.probes, r.sockets)
		}
		if r.stillOpen != 1 {
			t.Errorf("%d probe sockets open after the attempt, want 1 (kept for the peer)", r.stillOpen)
		}
	})
}

// A random symmetric NAT is met by the birthday paradox: 256 sockets on the
// symmetric side, random probes from the cone side. With 2,048 probes an
// attempt misses with odds of e^-8, and a failed pair is tried again after
// a minute (the two sides may have acted on different knowledge of each
// other's NAT the first time); the defaults (512 probes) are measured in
// make sim and the NAT lab, not asserted here.
func TestPortPredictionRandom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := symmetricMeetsCone(t, memnet.Symmetric(ip("203.0.113.9")), 5*time.Minute, func(c *core.Config) {
			c.ProbePackets, c.ProbeRate, c.ProbeTime = 2048, 2000, 3*time.Second
		})
		t.Logf("%+v", r)
		if !r.met {
			t.Fatalf("random symmetric and cone did not meet: %+v", r)
		}
		if r.sockets > 256 || r.probes > 256+2048*r.attempts {
			t.Errorf("cost %d probes and %d sockets over %d attempts: over the caps", r.probes, r.sockets, r.attempts)
		}
		if r.stillOpen != 1 {
			t.Errorf("%d probe sockets open after the attempt, want 1 (kept for the peer)", r.stillOpen)
		}
	})
}
