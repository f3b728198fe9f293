package core

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// sinkTransport discards what is written and never delivers anything.
type sinkTransport struct {
	addr    netip.AddrPort
	writes  atomic.Uint64
	closed  chan struct{}
	closeMu atomic.Bool
}

func newSink(addr string) *sinkTransport {
	return &sinkTransport{addr: netip.MustParseAddrPort(addr), closed: make(chan struct{})}
}

func (s *sinkTransport) ReadFrom([]byte) (int, netip.AddrPort, error) {
	<-s.closed
	return 0, netip.AddrPort{}, net.ErrClosed
}
func (s *sinkTransport) WriteTo(b []byte, _ netip.AddrPort) error { s.writes.Add(1); return nil }
func (s *sinkTransport) LocalAddr() netip.AddrPort                { return s.addr }
func (s *sinkTransport) Close() error {
	if s.closeMu.CompareAndSwap(false, true) {
		close(s.closed)
	}
	return nil
}

// benchOverlay returns a node with `peers` verified peers in its table.
func benchOverlay(b testing.TB, m Metrics, peers int) (*Overlay, *sinkTransport) {
	sink := newSink("198.51.100.1:1873")
	cfg := DefaultConfig()
	cfg.PeerID = proto.ID{1}
	cfg.Transport = sink
	cfg.Metrics = m
	cfg.SourceRate, cfg.SourceBurst = 1e12, 1<<30
	cfg.MaxPeers = 2 * peers // a requester joins the table once: no eviction on every request
	o, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := range peers {
		addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, byte(i >> 8), byte(i), 1}), 1873) // a /24 each: PrefixPeers
		p, _ := o.table.upsert(proto.ID{2, byte(i >> 8), byte(i)}, addr, now, o.cfg.PunctureRate)
		p.lan = addr
	}
	return o, sink
}

// BenchmarkHandleIntroRequest is the work one verified introduction request
// costs a node with 256 peers: admit (header parse, rate limit, queue),
// decode, token check, vote, response with 8 peers and an invitee, puncture
// request to the invitee. Requests per second = 1e9 / (ns/op).
func BenchmarkHandleIntroRequest(b *testing.B) {
	for _, bc := range []struct {
		name string
		m    Metrics
	}{{"stats", NewStats()}, {"nop", NopMetrics{}}} {
		b.Run(bc.name, func(b *testing.B) {
			o, sink := benchOverlay(b, bc.m, 256)
			from := netip.MustParseAddrPort("203.0.113.200:40000")
			tok := o.tok.issue(from, time.Now())
			req := &proto.IntroRequest{Nonce: 1, LAN: netip.MustParseAddrPort("10.0.0.2:1873"), Token: tok[:]}
			pkt, err := proto.Encode(nil, proto.Header{Community: proto.CoreCommunity(), Sender: proto.ID{9}, Dest: o.cfg.LAN}, req)
			if err != nil {
				b.Fatal(err)
			}
			lim := newSourceLimiter(1e12, 1<<30)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				p := o.pool.get()
				n := copy(p.buf[:], pkt)
				if _, ok := o.in.admit(p, n, from, sink, lim); !ok {
					b.Fatal("not admitted")
				}
				p = <-o.in.inbox
				o.handle(p, time.Now())
				o.pool.put(p)
			}
			b.StopTimer()
			if w := sink.writes.Load(); w < uint64(2*b.N) {
				b.Fatalf("%d writes for %d requests, want a response and a puncture request each", w, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
