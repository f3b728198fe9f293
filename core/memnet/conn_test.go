package memnet

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

func TestPublicDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		ra, rb := reader(a), reader(b)

		send(t, a, "ping", b.LocalAddr())
		if r := expect(t, rb, "ping"); r.from != a.LocalAddr() {
			t.Errorf("from = %v, want %v", r.from, a.LocalAddr())
		}
		send(t, b, "pong", a.LocalAddr())
		if r := expect(t, ra, "pong"); r.from != b.LocalAddr() {
			t.Errorf("from = %v, want %v", r.from, b.LocalAddr())
		}
		if s := checkStats(t, n); s.Sent != 2 || s.Delivered != 2 {
			t.Errorf("stats = %+v, want 2 sent and delivered", s)
		}
	})
}

func TestReadFromAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		send(t, a, "queued", b.LocalAddr())
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, _, err := b.ReadFrom(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadFrom after Close: err = %v, want net.ErrClosed", err)
		}
	})
}

func TestCloseUnblocksReadFrom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		c := listen(t, n.Host(ipA), 4000)
		done := make(chan error)
		go func() {
			_, _, err := c.ReadFrom(make([]byte, 10))
			done <- err
		}()
		synctest.Wait() // the reader is durably blocked
		select {
		case err := <-done:
			t.Fatalf("ReadFrom returned %v before Close", err)
		default:
		}
		c.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadFrom: err = %v, want net.ErrClosed", err)
		}
	})
}

func TestWriteToErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		c := listen(t, n.Host(ipA), 4000)
		for _, to := range []netip.AddrPort{
			{},
			netip.AddrPortFrom(ipB, 0),
			netip.AddrPortFrom(netip.IPv4Unspecified(), 4000),
			netip.MustParseAddrPort("224.0.0.1:4000"),
		} {
			if err := c.WriteTo([]byte("x"), to); !errors.Is(err, ErrInvalidAddr) {
				t.Errorf("WriteTo(%v): err = %v, want ErrInvalidAddr", to, err)
			}
		}
		c.Close()
		if err := c.WriteTo([]byte("x"), netip.AddrPortFrom(ipB, 4000)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("WriteTo after Close: err = %v, want net.ErrClosed", err)
		}
		if s := n.Stats(); s.Sent != 0 {
			t.Errorf("Sent = %d, want 0", s.Sent)
		}
	})
}

func TestListen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		h := n.Host(ipA)
		c := listen(t, h, 4000)
		if _, err := h.Listen(4000); !errors.Is(err, ErrAddrInUse) {
			t.Fatalf("second Listen(4000): err = %v, want ErrAddrInUse", err)
		}
		listen(t, n.Host(ipB), 4000) // same port, other host
		c.Close()
		listen(t, h, 4000) // free again
		seen := map[uint16]bool{}
		for range 100 {
			p := listen(t, h, 0).LocalAddr().Port()
			if p < ephemeralFirst || seen[p] {
				t.Fatalf("Listen(0) gave port %d (seen: %v)", p, seen[p])
			}
			seen[p] = true
		}
		if n.Host(ipA) != h {
			t.Error("Host(ip) twice returned different hosts")
		}
		n.Close()
		if _, err := h.Listen(5000); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Listen on closed network: err = %v, want net.ErrClosed", err)
		}
	})
}

func TestTruncateAndCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{})
		defer n.Close()
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		msg := []byte("0123456789")
		if err := a.WriteTo(msg, b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		copy(msg, "XXXXXXXXXX") // the network kept its own copy
		buf := make([]byte, 4)
		k, _, err := b.ReadFrom(buf)
		if err != nil || k != 4 || string(buf) != "0123" {
			t.Fatalf("ReadFrom = %d, %q, %v; want 4, \"0123\", nil", k, buf, err)
		}
	})
}

func TestNoRoute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{Latency: 10 * time.Millisecond})
		defer n.Close()
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		send(t, a, "x", netip.AddrPortFrom(ipS, 4000))   // no such host
		send(t, a, "x", netip.AddrPortFrom(ipB, 4001))   // no such port
		send(t, a, "x", netip.AddrPortFrom(priv1, 4000)) // private IP on the internet
		send(t, a, "x", b.LocalAddr())
		b.Close() // closes while the datagram is in flight
		time.Sleep(time.Second)
		if s := checkStats(t, n); s.NoRoute != 4 || s.Delivered != 0 {
			t.Errorf("stats = %+v, want 4 NoRoute", s)
		}
	})
}

func TestQueueOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{QueueLen: 4})
		defer n.Close()
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		for i := range 10 {
			send(t, a, string(rune('0'+i)), b.LocalAddr()) // must not block
		}
		if s := checkStats(t, n); s.Delivered != 4 || s.QueueDrops != 6 {
			t.Errorf("stats = %+v, want 4 delivered and 6 queue drops", s)
		}
		buf := make([]byte, 10)
		for i := range 4 {
			k, _, err := b.ReadFrom(buf)
			if err != nil || string(buf[:k]) != string(rune('0'+i)) {
				t.Fatalf("ReadFrom = %q, %v; want %q", buf[:k], err, rune('0'+i))
			}
		}
		send(t, a, "again", b.LocalAddr()) // room again
		if k, _, _ := b.ReadFrom(buf); string(buf[:k]) != "again" {
			t.Fatalf("ReadFrom = %q, want \"again\"", buf[:k])
		}
	})
}

// TestNetworkClose closes a network with blocked readers and datagrams in
// flight: synctest.Test fails if any goroutine or timer-driven work remains
// stuck.
func TestNetworkClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{Latency: time.Second})
		nat := n.NAT(PortRestrictedCone(ipNAT1))
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, nat.Host(priv1), 5000)
		ra, rb := reader(a), reader(b)
		for range 10 {
			send(t, a, "x", netip.AddrPortFrom(ipB, 4000))
			send(t, b, "y", a.LocalAddr())
		}
		synctest.Wait()
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		n.Close() // idempotent
		for range ra {
		}
		for range rb {
		}
		if s := checkStats(t, n); s.NoRoute != 20 || s.InFlight != 0 {
			t.Errorf("stats = %+v, want 20 NoRoute, nothing in flight", s)
		}
		if err := a.WriteTo([]byte("z"), b.LocalAddr()); !errors.Is(err, net.ErrClosed) {
			t.Errorf("WriteTo on closed network: err = %v, want net.ErrClosed", err)
		}
		time.Sleep(time.Hour) // the stopped timer must not fire
		if s := n.Stats(); s.Delivered != 0 {
			t.Errorf("delivered %d datagrams after Close", s.Delivered)
		}
	})
}

func TestIndependentNetworks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n1, n2 := New(Config{}), New(Config{})
		defer n1.Close()
		defer n2.Close()
		a1 := listen(t, n1.Host(ipA), 4000)
		listen(t, n2.Host(ipA), 4000) // same address, other network
		b2 := listen(t, n2.Host(ipB), 4000)
		send(t, b2, "x", a1.LocalAddr()) // reaches n2's ipA, not n1's
		if s := n1.Stats(); s.Sent != 0 || s.Delivered != 0 {
			t.Errorf("n1 stats = %+v, want untouched", s)
		}
		if s := n2.Stats(); s.Delivered != 1 {
			t.Errorf("n2 stats = %+v, want 1 delivered", s)
		}
	})
}
