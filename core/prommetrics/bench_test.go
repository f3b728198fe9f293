package prommetrics

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/proto"
)

// The question these benchmarks answer: does counting with Prometheus cost
// the packet path more than 5% over core.NopMetrics? Compare the "prom" and
// "nop" sub-benchmarks of each (docs/metrics.md has the numbers):
//
//	go test ./core/prommetrics -run '^$' -bench . -benchmem -count 10

// implementations are the Metrics compared by every benchmark.
func implementations() []struct {
	name string
	m    func() core.Metrics
} {
	return []struct {
		name string
		m    func() core.Metrics
	}{
		{"nop", func() core.Metrics { return core.NopMetrics{} }},
		{"stats", func() core.Metrics { return core.NewStats() }},
		{"prom", func() core.Metrics { return New(prometheus.NewRegistry(), []string{"chat", "game"}) }},
	}
}

// BenchmarkAddDrop is the per-call cost of what the packet path calls most:
// one Add and one Drop. Through the interface, as the core calls them.
func BenchmarkAddDrop(b *testing.B) {
	for _, impl := range implementations() {
		b.Run(impl.name, func(b *testing.B) {
			m := impl.m()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				m.Add(core.IntroRequestsReceived, 1)
				m.Drop(core.DropReason(i & 7))
			}
		})
	}
}

// BenchmarkAddDropParallel is BenchmarkAddDrop from every core at once: the
// reader goroutines and the worker count concurrently on the same series.
func BenchmarkAddDropParallel(b *testing.B) {
	for _, impl := range implementations() {
		b.Run(impl.name, func(b *testing.B) {
			m := impl.m()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m.Add(core.IntroRequestsReceived, 1)
					m.Drop(core.DropRateLimited)
				}
			})
		})
	}
}

// BenchmarkCommunityMessage is the per-message cost of the community
// counter, after its first use created the series.
func BenchmarkCommunityMessage(b *testing.B) {
	for _, impl := range implementations() {
		b.Run(impl.name, func(b *testing.B) {
			m := impl.m()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				m.CommunityMessage("chat", uint8(i&3), core.Inbound)
			}
		})
	}
}

// pipe is a core.Transport fed by the benchmark: ReadFrom takes what the
// benchmark puts in in. While the benchmark sets up, WriteTo hands copies of
// the node's answers to out; while it measures (window set), WriteTo only
// frees a window slot per introduction response, so that the benchmark keeps
// a bounded number of requests in flight and nothing is copied.
type pipe struct {
	addr   netip.AddrPort
	in     chan datagram
	out    chan datagram
	window atomic.Pointer[chan struct{}]
	closed chan struct{}
	once   sync.Once
}

type datagram struct {
	b    []byte
	addr netip.AddrPort
}

func (p *pipe) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-p.in:
		return copy(b, d.b), d.addr, nil
	case <-p.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (p *pipe) WriteTo(b []byte, to netip.AddrPort) error {
	if w := p.window.Load(); w != nil {
		if h, _, err := proto.ParseHeader(b); err == nil && h.Type == proto.TypeIntroResponse {
			<-*w
		}
		return nil
	}
	select {
	case p.out <- datagram{append([]byte(nil), b...), to}:
	default: // nobody reads puncture requests to fake invitees: drop them
	}
	return nil
}

func (p *pipe) LocalAddr() netip.AddrPort { return p.addr }

func (p *pipe) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// fakePeer is a peer that exists only as packets the benchmark writes.
type fakePeer struct {
	id    proto.ID
	addr  netip.AddrPort
	token []byte
}

// request returns an introduction request from f, padded as an unverified
// requester must pad.
func (f *fakePeer) request(b testing.TB, dest netip.AddrPort, nonce uint64) []byte {
	req := &proto.IntroRequest{Nonce: nonce, LAN: f.addr, Token: f.token}
	pkt, err := proto.Encode(nil, proto.Header{Community: proto.CoreCommunity(), Sender: f.id, Dest: dest}, req)
	if err != nil {
		b.Fatal(err)
	}
	return proto.Pad(pkt, 128)
}

// await returns the next introduction response the node sent to to.
func await(b testing.TB, p *pipe, to netip.AddrPort) proto.IntroResponse {
	timeout := time.After(5 * time.Second)
	for {
		select {
		case d := <-p.out:
			h, body, err := proto.ParseHeader(d.b)
			if err != nil {
				b.Fatal(err)
			}
			if d.addr != to || h.Type != proto.TypeIntroResponse {
				continue // a puncture request to an invitee
			}
			resp, err := proto.DecodeIntroResponse(body)
			if err != nil {
				b.Fatal(err)
			}
			return resp
		case <-timeout:
			b.Fatal("no introduction response within 5 s")
		}
	}
}

// inFlight bounds the requests the packet-path benchmark keeps queued: well
// under the node's queue (256), so that none is dropped as queue_full.
const inFlight = 32

// BenchmarkPacketPath drives a real core.Overlay through its Transport at
// full speed: verified peers' introduction requests go in through the
// reader, the queue and the worker (decode, token check, vote, answer with
// 8 peers and an invitee, puncture request), with up to inFlight requests
// queued. One op is one request handled; 32 verified peers are in the table.
// This is BenchmarkHandleIntroRequest of core, plus the reader and the
// queue, through the public API only.
func BenchmarkPacketPath(b *testing.B) {
	for _, impl := range implementations() {
		b.Run(impl.name, func(b *testing.B) {
			p := &pipe{addr: netip.MustParseAddrPort("198.51.100.1:1873"),
				in: make(chan datagram), out: make(chan datagram, 64), closed: make(chan struct{})}
			cfg := core.DefaultConfig()
			cfg.PeerID = proto.ID{1}
			cfg.Transport = p
			cfg.LAN = p.addr
			cfg.BeaconAddr = netip.AddrPort{}
			cfg.Metrics = impl.m()
			cfg.SourceRate, cfg.SourceBurst = 1e12, 1<<30
			cfg.PrefixPeers = -1 // every fake peer is in 203.0.113.0/24
			o, err := core.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			o.Start()
			defer o.Close()

			// Each fake peer proves its address: a tokenless request
			// earns a token, the request with the token makes it a
			// verified peer.
			peers := make([]*fakePeer, 32)
			for i := range peers {
				f := &fakePeer{id: proto.ID{2, byte(i)}, addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}), 40000)}
				for range 2 {
					p.in <- datagram{f.request(b, p.addr, uint64(i)), f.addr}
					f.token = await(b, p, f.addr).Token
				}
				peers[i] = f
			}
			if n := len(o.VerifiedPeers()); n != len(peers) {
				b.Fatalf("%d verified peers, want %d", n, len(peers))
			}
			pkts := make([]datagram, len(peers))
			for i, f := range peers {
				pkts[i] = datagram{f.request(b, p.addr, uint64(1000+i)), f.addr}
			}

			window := make(chan struct{}, inFlight)
			p.window.Store(&window)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				window <- struct{}{} // freed by the response
				p.in <- pkts[i%len(pkts)]
			}
			// Wait for the answers still in flight: the window fills
			// only when every response has freed its slot. A request
			// dropped (queue_full) would never free its slot.
			timeout := time.After(10 * time.Second)
			for range inFlight {
				select {
				case window <- struct{}{}:
				case <-timeout:
					b.Fatal("responses missing after 10 s: requests were dropped")
				}
			}
			b.StopTimer()
		})
	}
}
