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

// readAll reads n datagrams from t with ReadBatch, in batches of at most
// len(ds), and returns copies of them with their sources.
func readAll(t *testing.T, tr *UDPTransport, ds []Datagram, n int) ([][]byte, []netip.AddrPort) {
	t.Helper()
	var got [][]byte
	var from []netip.AddrPort
	for len(got) < n {
		tr.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := tr.ReadBatch(ds)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(got), n, err)
		}
		if k < 1 || k > len(ds) {
			t.Fatalf("ReadBatch returned %d for %d slots", k, len(ds))
		}
		for _, d := range ds[:k] {
			got = append(got, bytes.Clone(d.B[:d.N]))
			from = append(from, d.Addr)
		}
	}
	return got, from
}

func listen(t *testing.T, addr string) *UDPTransport {
	t.Helper()
	tr, err := ListenUDP(addr)
	if err != nil {
		t.Skip("cannot listen on", addr, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestUDPTransportBatchMany is TestUDPTransportMany through WriteBatch and
// ReadBatch: 1,000 datagrams of 8 to 1,280 bytes from 5 sources, in bursts
// of more than one sendmmsg, arrive intact with their sources.
func TestUDPTransportBatchMany(t *testing.T) {
	dst := listen(t, "127.0.0.1:0")
	if err := dst.conn.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	const sources, total, burst = 5, 1000, 200
	srcs := make([]*UDPTransport, sources)
	for i := range srcs {
		srcs[i] = listen(t, "127.0.0.1:0")
	}
	want := func(k int) []byte {
		b := make([]byte, 8+(k*37)%1273)
		binary.BigEndian.PutUint32(b, uint32(k))
		for j := 4; j < len(b); j++ {
			b[j] = byte(k*7 + j)
		}
		return b
	}
	ds := make([]Datagram, 48)
	for i := range ds {
		ds[i].B = make([]byte, 1281)
	}
	seen := make([]bool, total)
	for k := 0; k < total; k += burst {
		for s := range srcs { // source s sends the datagrams k+j with j%sources == s
			var out []Datagram
			for j := s; j < burst; j += sources {
				out = append(out, Datagram{B: want(k + j), Addr: dst.LocalAddr()})
			}
			if n, err := srcs[s].WriteBatch(out); n != len(out) || err != nil {
				t.Fatalf("source %d sent %d of %d: %v", s, n, len(out), err)
			}
		}
		got, from := readAll(t, dst, ds, burst)
		for i, b := range got {
			d := int(binary.BigEndian.Uint32(b))
			if d >= total || seen[d] {
				t.Fatalf("datagram %d: out of range or twice", d)
			}
			seen[d] = true
			if !bytes.Equal(b, want(d)) {
				t.Fatalf("datagram %d: %d bytes, want %d, or content differs", d, len(b), len(want(d)))
			}
			if from[i] != srcs[(d-k)%sources].LocalAddr() {
				t.Fatalf("datagram %d from %v, want %v", d, from[i], srcs[(d-k)%sources].LocalAddr())
			}
		}
	}
}

// TestUDPTransportBatchTruncate: ReadBatch cuts a datagram longer than its
// slot's buffer to the buffer, as ReadFrom does, and fills the next slot
// whole.
func TestUDPTransportBatchTruncate(t *testing.T) {
	a, b := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	big := bytes.Repeat([]byte("0123456789"), 500)
	if n, err := a.WriteBatch([]Datagram{{B: big, Addr: b.LocalAddr()}, {B: []byte("small"), Addr: b.LocalAddr()}}); n != 2 || err != nil {
		t.Fatalf("sent %d of 2: %v", n, err)
	}
	ds := []Datagram{{B: make([]byte, 100)}, {B: make([]byte, 100)}}
	got, _ := readAll(t, b, ds, 2)
	if !bytes.Equal(got[0], big[:100]) || string(got[1]) != "small" {
		t.Fatalf("got %q and %q, want the first 100 bytes and small", got[0], got[1])
	}
}

// TestUDPTransportBatchDualStack: a dual-stack socket sends a batch to IPv4
// and IPv6 destinations and reads batches from both, with IPv4 sources
// unmapped as ReadFrom gives them.
func TestUDPTransportBatchDualStack(t *testing.T) {
	dual := listen(t, "[::]:0")
	v4, v6 := listen(t, "127.0.0.1:0"), listen(t, "[::1]:0")
	port := dual.LocalAddr().Port()
	out := []Datagram{{B: []byte("to4"), Addr: v4.LocalAddr()}, {B: []byte("to6"), Addr: v6.LocalAddr()}}
	if n, err := dual.WriteBatch(out); n != 2 || err != nil {
		t.Fatalf("sent %d of 2: %v", n, err)
	}
	ds := make([]Datagram, 4)
	for i := range ds {
		ds[i].B = make([]byte, 64)
	}
	for _, c := range []struct {
		tr   *UDPTransport
		want string
		from netip.Addr
	}{{v4, "to4", netip.MustParseAddr("127.0.0.1")}, {v6, "to6", netip.IPv6Loopback()}} {
		got, from := readAll(t, c.tr, ds, 1)
		if string(got[0]) != c.want || from[0] != netip.AddrPortFrom(c.from, port) {
			t.Errorf("got %q from %v, want %q from %v", got[0], from[0], c.want, netip.AddrPortFrom(c.from, port))
		}
	}
	for _, src := range []*UDPTransport{v4, v6} {
		to := netip.AddrPortFrom(src.LocalAddr().Addr(), port)
		if n, err := src.WriteBatch([]Datagram{{B: []byte("hi"), Addr: to}}); n != 1 || err != nil {
			t.Fatalf("sent %d of 1: %v", n, err)
		}
		got, from := readAll(t, dual, ds, 1)
		if string(got[0]) != "hi" || from[0] != src.LocalAddr() {
			t.Errorf("got %q from %v, want hi from %v", got[0], from[0], src.LocalAddr())
		}
	}
}

// TestUDPTransportBatchErrors: a datagram that cannot be sent stops the
// batch there, with the count of those sent before it; after Close, batches
// fail with net.ErrClosed and ReadBatch is unblocked.
func TestUDPTransportBatchErrors(t *testing.T) {
	a, b := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	ok := Datagram{B: []byte("ok"), Addr: b.LocalAddr()}
	for _, bad := range []netip.AddrPort{{}, netip.MustParseAddrPort("[2001:db8::1]:9")} {
		n, err := a.WriteBatch([]Datagram{ok, ok, {B: []byte("bad"), Addr: bad}, ok})
		if n != 2 || err == nil {
			t.Errorf("to %v in third place: %d sent, err %v; want 2 and an error", bad, n, err)
		}
	}
	ds := []Datagram{{B: make([]byte, 64)}, {B: make([]byte, 64)}, {B: make([]byte, 64)}, {B: make([]byte, 64)}}
	if got, _ := readAll(t, b, ds, 4); len(got) != 4 {
		t.Errorf("%d datagrams arrived, want the 4 sent before the bad ones", len(got))
	}
	closeUnblocks(t, "ReadBatch", func() error { _, err := b.ReadBatch(ds); return err }, b)
	a.Close()
	if n, err := a.WriteBatch([]Datagram{ok}); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteBatch after Close: %d, %v; want 0 and net.ErrClosed", n, err)
	}
}

// TestUDPTransportBatchAllocs: a batch each way allocates nothing.
func TestUDPTransportBatchAllocs(t *testing.T) {
	a, b := listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")
	out := make([]Datagram, 8)
	in := make([]Datagram, 8)
	for i := range out {
		out[i] = Datagram{B: make([]byte, 128), Addr: b.LocalAddr()}
		in[i].B = make([]byte, 2048)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if n, err := a.WriteBatch(out); n != len(out) || err != nil {
			t.Fatalf("sent %d: %v", n, err)
		}
		for got := 0; got < len(out); {
			n, err := b.ReadBatch(in)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per round trip of %d datagrams, want 0", allocs, len(out))
	}
}
