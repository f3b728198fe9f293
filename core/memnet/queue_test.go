package memnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// TestQueueRing checks that the ring keeps datagrams in order while it
// grows around a wrapped head, stops at its limit, and is released once a
// large backlog has drained.
func TestQueueRing(t *testing.T) {
	q := newQueue(40)
	in, out := 0, 0
	push := func(k int) {
		for range k {
			if !q.push(datagram{data: []byte(fmt.Sprint(in))}) {
				t.Fatalf("push %d refused with %d queued", in, q.len())
			}
			in++
		}
	}
	pop := func(k int) {
		for range k {
			d, ok := q.pop()
			if !ok || string(d.data) != fmt.Sprint(out) {
				t.Fatalf("pop = %q, %v; want %d", d.data, ok, out)
			}
			out++
		}
	}
	push(1)
	if len(q.buf) != queueMin {
		t.Fatalf("first push allocated %d slots, want %d", len(q.buf), queueMin)
	}
	push(2)
	pop(2)
	push(5) // grows while the head is not at 0
	pop(3)
	push(34) // 37 queued: grows past 32, capped at the limit
	if len(q.buf) != 40 {
		t.Fatalf("ring of %d slots, want the limit 40", len(q.buf))
	}
	push(3)
	if q.push(datagram{}) {
		t.Fatal("push accepted beyond the limit")
	}
	pop(40)
	if _, ok := q.pop(); ok || q.buf != nil {
		t.Fatalf("drained queue: pop ok %v, %d slots kept; want none", ok, len(q.buf))
	}
	push(2)
	pop(2)
	if len(q.buf) != queueMin {
		t.Errorf("small queue: %d slots after draining, want %d kept", len(q.buf), queueMin)
	}
}

// TestQueueWakeToken checks the invariant readers rely on: after a push,
// and after a pop that leaves datagrams behind, a token is waiting. Two
// readers that both found the queue empty before two pushes collapsed
// into one token would otherwise leave the second asleep next to a
// datagram.
func TestQueueWakeToken(t *testing.T) {
	q := newQueue(8)
	q.push(datagram{})
	q.push(datagram{}) // its token collapses into the first
	<-q.ready          // the first reader wakes
	q.pop()
	if len(q.ready) != 1 {
		t.Fatal("pop left a datagram queued and no token for another reader")
	}
	<-q.ready
	q.pop()
	if len(q.ready) != 0 {
		t.Error("pop emptied the queue and left a token")
	}
}

// TestQueueDropsAtLimit checks, through the network, that the default
// queue holds exactly DefaultQueueLen datagrams and counts the rest as
// QueueDrops.
func TestQueueDropsAtLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		for range DefaultQueueLen + 5 {
			send(t, a, "x", b.LocalAddr())
		}
		if s := checkStats(t, n); s.Delivered != DefaultQueueLen || s.QueueDrops != 5 {
			t.Errorf("stats = %+v, want %d delivered and 5 queue drops", s, DefaultQueueLen)
		}
		if q := b.queue.len(); q != DefaultQueueLen {
			t.Errorf("%d queued, want %d", q, DefaultQueueLen)
		}
	})
}

// TestConcurrentReaders checks that every datagram wakes a reader when
// several readers share a conn, whether they were blocked before the
// datagrams arrived together or start after they are queued.
func TestConcurrentReaders(t *testing.T) {
	for _, early := range []bool{true, false} {
		t.Run(fmt.Sprintf("blocked=%v", early), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const readers = 5
				n := New(Config{Latency: 10 * time.Millisecond})
				defer n.Close()
				a := listen(t, n.Host(ipA), 4000)
				b := listen(t, n.Host(ipB), 4000)
				got := make(chan string, readers)
				start := func() {
					for range readers {
						go func() {
							buf := make([]byte, 10)
							k, _, err := b.ReadFrom(buf)
							if err != nil {
								got <- err.Error()
								return
							}
							got <- string(buf[:k])
						}()
					}
				}
				if early {
					start()
					synctest.Wait()
				}
				for i := range readers { // all arrive at the same instant
					send(t, a, fmt.Sprint(i), b.LocalAddr())
				}
				time.Sleep(time.Second)
				if !early {
					start()
				}
				synctest.Wait()
				seen := map[string]bool{}
				for range readers {
					select {
					case s := <-got:
						seen[s] = true
					default:
						t.Fatalf("%d of %d readers returned", len(seen), readers)
					}
				}
				for i := range readers {
					if !seen[fmt.Sprint(i)] {
						t.Errorf("datagram %d not read (read: %v)", i, seen)
					}
				}
			})
		})
	}
}

// TestCloseReleasesQueue checks that Close frees the datagrams queued at a
// conn, which ReadFrom no longer returns.
func TestCloseReleasesQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		for range 3 {
			send(t, a, "x", b.LocalAddr())
		}
		b.Close()
		if q := b.queue.len(); q != 0 || b.queue.buf != nil {
			t.Errorf("closed conn keeps %d datagrams, %d slots", q, len(b.queue.buf))
		}
		if _, _, err := b.ReadFrom(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadFrom: err = %v, want net.ErrClosed", err)
		}
		if s := checkStats(t, n); s.Delivered != 3 {
			t.Errorf("stats = %+v, want the 3 datagrams still counted as delivered", s)
		}
	})
}

// TestConnsMapShrinks opens a burst of conns, as port prediction does, and
// closes most of them: the realm's map is rebuilt at its new size and the
// conns left open still receive.
func TestConnsMapShrinks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		nat := n.NAT(FullCone(ipNAT1))
		h := nat.Host(priv1)
		a := listen(t, n.Host(ipA), 4000)
		var conns []*Conn
		for i := range 200 {
			conns = append(conns, listen(t, h, uint16(5000+i)))
		}
		for _, c := range conns[10:] {
			c.Close()
		}
		r := h.realm
		if len(r.conns) != 10 || r.peak >= 200 {
			t.Fatalf("%d conns, peak %d; want 10 and the map rebuilt", len(r.conns), r.peak)
		}
		for _, c := range conns[:10] {
			send(t, c, "out", a.LocalAddr()) // opens the full-cone mapping
			send(t, a, "in", netip.AddrPortFrom(ipNAT1, c.LocalAddr().Port()))
		}
		send(t, a, "closed", netip.AddrPortFrom(ipNAT1, conns[10].LocalAddr().Port()))
		if s := checkStats(t, n); s.Delivered != 20 || s.NATDrops != 1 {
			t.Errorf("stats = %+v, want 20 delivered and 1 NAT drop", s)
		}
		for _, c := range conns[:10] {
			if q := c.queue.len(); q != 1 {
				t.Errorf("%v has %d datagrams queued, want 1", c.LocalAddr(), q)
			}
		}
	})
}
