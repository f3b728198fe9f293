package memnet

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

var (
	ipA    = netip.MustParseAddr("203.0.113.10")
	ipB    = netip.MustParseAddr("198.51.100.20")
	ipS    = netip.MustParseAddr("203.0.113.99")
	ipNAT1 = netip.MustParseAddr("192.0.2.1")
	ipNAT2 = netip.MustParseAddr("192.0.2.2")
	priv1  = netip.MustParseAddr("10.0.0.2")
	priv2  = netip.MustParseAddr("10.0.0.3")
)

// settleTime is how long expect and expectNone let the network run: more
// than any latency the tests use.
const settleTime = time.Second

// rx is a received datagram.
type rx struct {
	data string
	from netip.AddrPort
}

func listen(t *testing.T, h *Host, port uint16) *Conn {
	t.Helper()
	c, err := h.Listen(port)
	if err != nil {
		t.Fatalf("Listen(%d) on %v: %v", port, h.IP(), err)
	}
	return c
}

// reader starts a goroutine reading c until it is closed, forwarding every
// datagram to the returned channel, which it closes at the end.
func reader(c *Conn) <-chan rx {
	ch := make(chan rx, 4096)
	go func() {
		defer close(ch)
		buf := make([]byte, 2048)
		for {
			k, from, err := c.ReadFrom(buf)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					panic(err)
				}
				return
			}
			ch <- rx{string(buf[:k]), from}
		}
	}()
	return ch
}

func send(t *testing.T, c *Conn, msg string, to netip.AddrPort) {
	t.Helper()
	if err := c.WriteTo([]byte(msg), to); err != nil {
		t.Fatalf("WriteTo(%v): %v", to, err)
	}
}

// expect lets the network settle and returns the datagram received on ch,
// failing if there is none.
func expect(t *testing.T, ch <-chan rx, msg string) rx {
	t.Helper()
	time.Sleep(settleTime)
	synctest.Wait()
	select {
	case r, ok := <-ch:
		if !ok {
			t.Fatalf("want %q, conn closed", msg)
		}
		if r.data != msg {
			t.Fatalf("got %q from %v, want %q", r.data, r.from, msg)
		}
		return r
	default:
		t.Fatalf("want %q, received nothing", msg)
	}
	return rx{}
}

// expectNone lets the network settle and fails if a datagram was received.
func expectNone(t *testing.T, ch <-chan rx) {
	t.Helper()
	time.Sleep(settleTime)
	synctest.Wait()
	select {
	case r, ok := <-ch:
		if ok {
			t.Fatalf("received %q from %v, want nothing", r.data, r.from)
		}
	default:
	}
}

// checkStats fails unless the counters add up.
func checkStats(t *testing.T, n *Network) Stats {
	t.Helper()
	s := n.Stats()
	if sum := s.Delivered + s.Lost + s.QueueDrops + s.NATDrops + s.NoRoute + s.InFlight; sum != s.Sent {
		t.Errorf("stats %+v: outcomes add up to %d, want Sent", s, sum)
	}
	return s
}

// transport is walkie's transport interface, which Conn must satisfy.
type transport interface {
	ReadFrom(b []byte) (n int, from netip.AddrPort, err error)
	WriteTo(b []byte, to netip.AddrPort) error
	LocalAddr() netip.AddrPort
	Close() error
}

var _ transport = (*Conn)(nil)
