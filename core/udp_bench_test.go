package core_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/proto"
)

// The load generator's closed loop: at most loadWindow requests in flight,
// sent loadChunk at a time (one sendmmsg), so that the kernel never drops
// requests and the client's syscalls stay few: it shares the two cores with
// the node it measures.
const (
	loadWindow = 128
	loadChunk  = 32
)

// BenchmarkUDPIntroRequests drives a node over real loopback UDP: one client
// sends verified introduction requests and counts the responses. resp/s is
// what the node answers, syscalls included; lost requests (socket buffers or
// the node's queue overflowing) show as loss%. The client allocates nothing,
// so allocs/op is the node's.
func BenchmarkUDPIntroRequests(b *testing.B) {
	tr, err := core.ListenUDP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg := core.DefaultLocalConfig()
	cfg.PeerID = proto.ID(uuid.New())
	cfg.Transport = tr
	cfg.SourceRate, cfg.SourceBurst = 1e9, 1e9 // one client stands for many sources
	o, err := core.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	o.Start()
	defer o.Close()
	conn, client := loadSocket(b)
	defer client.Close()
	hdr := proto.Header{Community: proto.CoreCommunity(), Sender: proto.ID(uuid.New()), Dest: o.LAN()}
	// First contact: a padded request without a token earns one.
	pkt, _ := proto.Encode(nil, hdr, &proto.IntroRequest{Nonce: 1})
	if err := client.WriteTo(proto.Pad(pkt, 128), o.LAN()); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 2048)
	n, _, err := client.ReadFrom(buf)
	if err != nil {
		b.Fatal(err)
	}
	_, body, _ := proto.ParseHeader(buf[:n])
	resp, err := proto.DecodeIntroResponse(body)
	if err != nil || len(resp.Token) == 0 {
		b.Fatalf("no token: %v", err)
	}
	req := &proto.IntroRequest{Token: resp.Token, LAN: client.LocalAddr()}
	runLoad(b, conn, client, hdr, req, func(d []byte) bool {
		h, _, err := proto.ParseHeader(d)
		return err == nil && h.Type == proto.TypeIntroResponse // not the node's own walks toward us
	})
}

// loadSocket opens the load generator's socket: conn for read deadlines,
// the transport for batches.
func loadSocket(b *testing.B) (*net.UDPConn, *core.UDPTransport) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	return conn, core.NewUDPTransport(conn)
}

// runLoad is the load generator: b.N introduction requests to hdr.Dest, in a
// closed loop of loadWindow in flight, from one goroutine that batches both
// ways (WriteBatch, ReadBatch) and allocates nothing. isAnswer tells the
// answers it counts from other datagrams. It reports resp/s and loss%.
//
// The request is encoded once; each copy gets its own nonce by patching the
// nonce's eight bytes, which a nonce of 1<<63 or more keeps at one place
// (msgpack writes such a uint64 in full). The generator shares the cores
// with the node, and whatever it saves goes to the node.
func runLoad(b *testing.B, conn *net.UDPConn, client *core.UDPTransport, hdr proto.Header, req *proto.IntroRequest, isAnswer func([]byte) bool) {
	const nonceBase = 1 << 63
	req.Nonce = nonceBase | 0x0102030405060708
	tmpl, err := proto.Encode(nil, hdr, req)
	if err != nil {
		b.Fatal(err)
	}
	at := bytes.Index(tmpl, []byte{0xcf, 0x81, 2, 3, 4, 5, 6, 7, 8}) + 1 // msgpack uint64
	if at == 0 {
		b.Fatal("the nonce is not where the load generator patches it")
	}
	out := make([]core.Datagram, loadChunk)
	for i := range out {
		out[i] = core.Datagram{B: bytes.Clone(tmpl), Addr: hdr.Dest}
	}
	in := make([]core.Datagram, loadWindow)
	for i := range in {
		in[i].B = make([]byte, 2048)
	}
	// A read that waits this long means the requests in flight were lost:
	// they are written off and the loop goes on. The deadline is moved only
	// when half of it is gone, to keep timers off the hot path.
	const lossWait = 100 * time.Millisecond
	var sent, got, writtenOff int
	var last time.Time // when the latest answer came
	deadline := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for got+writtenOff < b.N {
		for sent < b.N && sent-got-writtenOff <= loadWindow-loadChunk {
			k := min(loadChunk, b.N-sent)
			for i := range out[:k] {
				sent++
				binary.BigEndian.PutUint64(out[i].B[at:], nonceBase|uint64(sent))
			}
			if _, err := client.WriteBatch(out[:k]); err != nil {
				b.Fatal(err)
			}
		}
		if now := time.Now(); deadline.Sub(now) < lossWait/2 {
			deadline = now.Add(lossWait)
			conn.SetReadDeadline(deadline)
		}
		n, err := client.ReadBatch(in)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			writtenOff = sent - got
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range in[:n] {
			if isAnswer(d.B[:d.N]) {
				got++
			}
		}
		last = time.Now()
	}
	b.StopTimer()
	// Up to the last answer: waiting for lost ones is not the node's time.
	b.ReportMetric(float64(got)/last.Sub(start).Seconds(), "resp/s")
	b.ReportMetric(100*(1-float64(got)/float64(b.N)), "loss%")
}

// BenchmarkUDPEcho is BenchmarkUDPIntroRequests against a server that does
// no protocol work: it sends every datagram back, batched both ways like the
// node. It is how fast the node could answer if handling a request cost
// nothing. "inline" reads and answers on one goroutine; "handoff" hands each
// datagram through a channel to a writer goroutine, as the node's reader
// hands packets to its worker.
func BenchmarkUDPEcho(b *testing.B) {
	b.Run("inline", func(b *testing.B) { echo(b, false) })
	b.Run("handoff", func(b *testing.B) { echo(b, true) })
}

func echo(b *testing.B, handoff bool) {
	sc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	srv := core.NewUDPTransport(sc)
	done := make(chan struct{})
	if handoff {
		go echoHandoff(srv, done)
	} else {
		go echoInline(srv, done)
	}
	defer func() { srv.Close(); <-done }()
	conn, client := loadSocket(b)
	defer client.Close()
	hdr := proto.Header{Community: proto.CoreCommunity(), Sender: proto.ID{5}, Dest: srv.LocalAddr()}
	req := &proto.IntroRequest{Token: make([]byte, 16), LAN: client.LocalAddr()}
	runLoad(b, conn, client, hdr, req, func([]byte) bool { return true })
}

// echoInline sends back what one ReadBatch returns with one WriteBatch.
func echoInline(srv *core.UDPTransport, done chan struct{}) {
	defer close(done)
	ds := make([]core.Datagram, 32)
	for i := range ds {
		ds[i].B = make([]byte, 2048)
	}
	for {
		n, err := srv.ReadBatch(ds)
		if err != nil {
			return
		}
		for i := range ds[:n] {
			ds[i].B = ds[i].B[:ds[i].N]
		}
		srv.WriteBatch(ds[:n])
		for i := range ds[:n] {
			ds[i].B = ds[i].B[:2048]
		}
	}
}

// echoHandoff is the node's shape without the protocol: a reader queues
// buffers on a channel; a writer takes what is queued (up to 64), copies it
// and sends it back in one WriteBatch, and returns the buffers.
func echoHandoff(srv *core.UDPTransport, done chan struct{}) {
	type pkt struct {
		b    *[2048]byte
		n    int
		from netip.AddrPort
	}
	queue := make(chan pkt, 256)
	free := make(chan *[2048]byte, 512)
	for range cap(free) {
		free <- new([2048]byte)
	}
	go func() {
		defer close(done)
		out := make([]core.Datagram, 0, 64)
		arena := make([]byte, 0, 64*2048)
		add := func(p pkt) {
			start := len(arena)
			arena = append(arena, p.b[:p.n]...)
			out = append(out, core.Datagram{B: arena[start:], Addr: p.from})
			free <- p.b
		}
		for p := range queue {
			add(p)
		more:
			for len(out) < cap(out) {
				select {
				case p, ok := <-queue:
					if !ok {
						break more
					}
					add(p)
				default:
					break more
				}
			}
			srv.WriteBatch(out)
			out, arena = out[:0], arena[:0]
		}
	}()
	ds := make([]core.Datagram, 32)
	bufs := make([]*[2048]byte, len(ds))
	for i := range ds {
		bufs[i] = <-free
		ds[i].B = bufs[i][:]
	}
	for {
		n, err := srv.ReadBatch(ds)
		if err != nil {
			close(queue)
			return
		}
		for i := range ds[:n] {
			queue <- pkt{bufs[i], ds[i].N, ds[i].Addr}
			bufs[i] = <-free
			ds[i].B = bufs[i][:]
		}
	}
}
