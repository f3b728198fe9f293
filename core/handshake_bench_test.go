package core

import (
	"net/netip"

	"github.com/walkie-p2p/walkie/proto"
	"testing"
	"time"
)

// BenchmarkHandshake is one whole handshake, both sides, on one goroutine:
// steps 1 to 3 of Noise XX with the Ed25519 signature and its check on each
// side, and the two sessions' AES-GCM keys. hs/s is handshakes per second of
// one core doing both sides; a node does one side, about half the work.
func BenchmarkHandshake(b *testing.B) {
	a, r := mustIdentity(b), mustIdentity(b)
	ha, hr := mustShakes(b, a), mustShakes(b, r)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		si, sr, err := run(ha, hr, a.ID, r.ID, now)
		if err != nil || si == nil || sr == nil {
			b.Fatal(err)
		}
		ha.forget(ha.byIndex[si.local]) // the initiator keeps it until confirmed
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hs/s")
}

// BenchmarkHandleSealedIntroRequest is BenchmarkHandleIntroRequest between
// authenticated peers: the requester seals its request (counted here too),
// the node opens it in the reader's path, handles it, and seals its answer.
// It must allocate nothing, as the plaintext path does.
func BenchmarkHandleSealedIntroRequest(b *testing.B) {
	me, peer := mustIdentity(b), mustIdentity(b)
	sink := newSink("198.51.100.1:1873")
	cfg := DefaultConfig()
	cfg.Key = me.Key
	cfg.Transport = sink
	cfg.Metrics = NopMetrics{}
	cfg.SourceRate, cfg.SourceBurst = 1e12, 1<<30
	cfg.MaxPeers = 512 // as BenchmarkHandleIntroRequest: no eviction on every request
	o, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := range 255 {
		addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, byte(i >> 8), byte(i), 1}), 1873) // a /24 each: PrefixPeers
		p, _ := o.table.upsert(proto.ID{2, byte(i >> 8), byte(i)}, addr, now, o.cfg.PunctureRate)
		p.lan = addr
	}
	si, sr, err := run(mustShakes(b, peer), o.shakes, peer.ID, me.ID, now)
	if err != nil {
		b.Fatal(err)
	}
	from := netip.MustParseAddrPort("203.0.113.200:40000")
	o.out.begin(now)
	o.authenticated(sr, from, now)
	o.finish()
	tok := o.tok.issue(from, time.Now())
	inner, err := proto.Encode(nil, proto.Header{Community: proto.CoreCommunity(), Sender: peer.ID, Dest: o.cfg.LAN},
		&proto.IntroRequest{Nonce: 1, LAN: netip.MustParseAddrPort("10.0.0.2:1873"), Token: tok[:]})
	if err != nil {
		b.Fatal(err)
	}
	lim := newSourceLimiter(1e12, 1<<30)
	sealed := make([]byte, 0, proto.MaxDatagram)
	writes := sink.writes.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		now := time.Now()
		sealed, _ = si.seal(sealed[:0], inner, now)
		p := o.pool.get()
		n := copy(p.buf[:], sealed)
		if r, ok := o.in.admit(p, n, from, sink, lim); !ok {
			b.Fatalf("not admitted: %v", r)
		}
		p = <-o.in.inbox
		o.out.now = now
		o.handle(p, now)
		o.pool.put(p)
	}
	b.StopTimer()
	if w := sink.writes.Load() - writes; w < uint64(2*b.N) {
		b.Fatalf("%d writes for %d requests, want a response and a puncture request each", w, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
