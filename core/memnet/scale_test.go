package memnet

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestThousandHosts runs 1,000 hosts, a fifth of them behind 50
// port-restricted NATs, for two minutes of fake time: every host pings a
// random public host every second, which answers. It checks the answers
// come back and that nothing leaks when the network closes.
func TestThousandHosts(t *testing.T) {
	const (
		hosts    = 1000
		public   = 800
		perNAT   = 4
		duration = 2 * time.Minute
	)
	if testing.Short() {
		t.Skip("slow in -short mode")
	}
	start := time.Now()
	var stats Stats
	var pings, pongs atomic.Int64
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond, Loss: 0.01, Seed: 1})
		conns := make([]*Conn, hosts)
		for i := range public {
			ip := netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)})
			conns[i] = listen(t, n.Host(ip), 4000)
		}
		var nat *NAT
		for i := public; i < hosts; i++ {
			if (i-public)%perNAT == 0 {
				k := (i - public) / perNAT
				nat = n.NAT(PortRestrictedCone(netip.AddrFrom4([4]byte{192, 0, 2, byte(k + 1)})))
			}
			conns[i] = listen(t, nat.Host(netip.AddrFrom4([4]byte{10, 0, 0, byte(2 + (i-public)%perNAT)})), 4000)
		}

		var readers, senders sync.WaitGroup
		for i, c := range conns {
			readers.Go(func() {
				buf := make([]byte, 64)
				for {
					k, from, err := c.ReadFrom(buf)
					if err != nil {
						return
					}
					if string(buf[:k]) == "ping" {
						c.WriteTo([]byte("pong"), from)
					} else {
						pongs.Add(1)
					}
				}
			})
			senders.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(i), 0))
				time.Sleep(time.Duration(i) * time.Millisecond) // stagger
				for range int(duration / time.Second) {
					c.WriteTo([]byte("ping"), conns[rng.IntN(public)].LocalAddr())
					pings.Add(1)
					time.Sleep(time.Second)
				}
			})
		}
		senders.Wait()
		time.Sleep(time.Second) // let the last pongs arrive
		stats = checkStats(t, n)
		n.Close()
		readers.Wait()
	})
	t.Logf("%d pings, %d pongs in %v; %+v", pings.Load(), pongs.Load(), time.Since(start), stats)
	if want := int64(hosts * duration / time.Second); pings.Load() != want {
		t.Fatalf("%d pings, want %d", pings.Load(), want)
	}
	// With 1% loss each way, about 98% of pings are answered.
	if f := float64(pongs.Load()) / float64(pings.Load()); f < 0.97 || f > 0.99 {
		t.Errorf("%.4f of pings answered, want about 0.98", f)
	}
	if stats.NATDrops != 0 || stats.QueueDrops != 0 || stats.NoRoute != 0 {
		t.Errorf("unexpected drops: %+v", stats)
	}
}

// BenchmarkSend measures WriteTo through a NAT to a full queue.
func BenchmarkSend(b *testing.B) {
	n := New(Config{QueueLen: 1})
	defer n.Close()
	nat := n.NAT(PortRestrictedCone(ipNAT1))
	c, _ := nat.Host(priv1).Listen(5000)
	to := netip.AddrPortFrom(ipA, 4000)
	n.Host(ipA).Listen(4000)
	msg := make([]byte, 100)
	for b.Loop() {
		c.WriteTo(msg, to)
	}
}
