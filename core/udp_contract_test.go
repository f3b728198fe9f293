package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestUDPTransportMany sends 1,000 datagrams of varying sizes from several
// sources and checks that each arrives intact, with its source.
func TestUDPTransportMany(t *testing.T) {
	dst, err := ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.conn.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	const sources, total = 5, 1000
	srcs := make([]*UDPTransport, sources)
	for i := range srcs {
		if srcs[i], err = ListenUDP("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		defer srcs[i].Close()
	}
	// Datagram k comes from source k%sources, is 8 to 1,280 bytes long
	// (proto.MaxDatagram) and carries k in its first 4 bytes and a pattern
	// after them.
	want := func(k int) []byte {
		b := make([]byte, 8+(k*37)%1273)
		binary.BigEndian.PutUint32(b, uint32(k))
		for j := 4; j < len(b); j++ {
			b[j] = byte(k*7 + j)
		}
		return b
	}
	// Bursts of 50, all sent before any is read, so the socket buffer never
	// overflows yet the reader finds many datagrams queued.
	seen := make([]bool, total)
	buf := make([]byte, 1281)
	for k := 0; k < total; k += 50 {
		for j := k; j < k+50; j++ {
			if err := srcs[j%sources].WriteTo(want(j), dst.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		for j := k; j < k+50; j++ {
			dst.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, from, err := dst.ReadFrom(buf)
			if err != nil {
				t.Fatalf("after %d datagrams: %v", j, err)
			}
			if n < 4 {
				t.Fatalf("short datagram %x", buf[:n])
			}
			d := int(binary.BigEndian.Uint32(buf))
			if d >= total || seen[d] {
				t.Fatalf("datagram %d: out of range or twice", d)
			}
			seen[d] = true
			if !bytes.Equal(buf[:n], want(d)) {
				t.Fatalf("datagram %d: %d bytes, want %d, or content differs", d, n, len(want(d)))
			}
			if from != srcs[d%sources].LocalAddr() {
				t.Fatalf("datagram %d from %v, want %v", d, from, srcs[d%sources].LocalAddr())
			}
		}
	}
}

// TestUDPTransportTruncate: a datagram longer than the caller's buffer is
// cut at the buffer's length, as UDP does, and the next one is whole.
func TestUDPTransportTruncate(t *testing.T) {
	for _, size := range []int{10, 1281, 2048, 4096} {
		a, err := ListenUDP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		b, err := ListenUDP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		big := bytes.Repeat([]byte("0123456789"), 500) // 5,000 bytes
		if err := a.WriteTo(big, b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if err := a.WriteTo([]byte("small"), b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, size)
		b.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := b.ReadFrom(buf)
		if err != nil || n != size || !bytes.Equal(buf[:n], big[:size]) || from != a.LocalAddr() {
			t.Fatalf("buffer of %d: got %d bytes from %v (err %v), want the first %d from %v", size, n, from, err, size, a.LocalAddr())
		}
		n, _, err = b.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "small" {
			t.Fatalf("buffer of %d: then got %q (err %v), want small", size, buf[:n], err)
		}
		a.Close()
		b.Close()
	}
}

// TestUDPTransportCloseAfterRead: Close unblocks ReadFrom with
// net.ErrClosed after datagrams were read, and later reads fail the same way.
func TestUDPTransportCloseAfterRead(t *testing.T) {
	a, _ := ListenUDP("127.0.0.1:0")
	defer a.Close()
	b, err := ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.WriteTo([]byte("one"), b.LocalAddr())
	buf := make([]byte, 100)
	if n, _, err := b.ReadFrom(buf); err != nil || string(buf[:n]) != "one" {
		t.Fatalf("got %q, %v", buf[:n], err)
	}
	closeUnblocks(t, "ReadFrom", func() error { _, _, err := b.ReadFrom(buf); return err }, b)
	if _, _, err := b.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("ReadFrom on a closed transport: %v", err)
	}
}

// TestUDPTransportDualStack checks sources seen by a dual-stack socket: an
// IPv4 sender arrives unmapped, an IPv6 one as itself.
func TestUDPTransportDualStack(t *testing.T) {
	dst, err := ListenUDP("[::]:0")
	if err != nil {
		t.Skip("no IPv6:", err)
	}
	defer dst.Close()
	port := dst.LocalAddr().Port()
	for _, src := range []string{"127.0.0.1:0", "[::1]:0"} {
		s, err := ListenUDP(src)
		if err != nil {
			t.Skip("no loopback for", src, err)
		}
		to := netip.AddrPortFrom(s.LocalAddr().Addr(), port)
		if err := s.WriteTo([]byte("hi"), to); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		dst.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := dst.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "hi" || from != s.LocalAddr() {
			t.Fatalf("got %q from %v (err %v), want hi from %v", buf[:n], from, err, s.LocalAddr())
		}
		s.Close()
	}
}

// closeUnblocks checks that Close ends a read blocked in another goroutine
// with net.ErrClosed. The short wait lets the read block first; if it has
// not, the read still must fail with net.ErrClosed, so the check cannot
// pass wrongly, only test a little less.
func closeUnblocks(t *testing.T, what string, read func() error, c interface{ Close() error }) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- read() }()
	time.Sleep(10 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("%s after Close: %v, want net.ErrClosed", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Close did not unblock %s", what)
	}
}
