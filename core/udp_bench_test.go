package core_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/proto"
)

// BenchmarkUDPIntroRequests drives a node over real loopback UDP: one client
// sends verified introduction requests as fast as it can, and counts the
// responses. resp/s is what the node answers, syscalls included; lost
// requests (socket buffers or the node's queue overflowing) show as loss%.
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
	client, err := core.ListenUDP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	id := proto.ID(uuid.New())
	hdr := proto.Header{Community: proto.CoreCommunity(), Sender: id, Dest: o.LAN()}
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
	var got, last atomic.Int64 // responses, and when the latest came (UnixNano)
	go func() {
		rb := make([]byte, 2048)
		for {
			n, _, err := client.ReadFrom(rb)
			if err != nil {
				return
			}
			if h, _, err := proto.ParseHeader(rb[:n]); err != nil || h.Type != proto.TypeIntroResponse {
				continue // the node's own walks toward us
			}
			got.Add(1)
			last.Store(time.Now().UnixNano())
		}
	}()
	req := &proto.IntroRequest{Token: resp.Token, LAN: client.LocalAddr()}
	out := make([]byte, 0, proto.MaxDatagram)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		req.Nonce = uint64(i + 2)
		out, _ = proto.Encode(out[:0], hdr, req)
		client.WriteTo(out, o.LAN())
		if i%32 == 31 {
			// Let the node keep up: at most 128 requests in flight (a
			// closed loop, not a flood that only measures the kernel
			// dropping packets), but never wait long for lost ones.
			for w := 0; got.Load() < int64(i)-128 && w < 200; w++ {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}
	deadline := time.Now().Add(time.Second)
	for got.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	// Up to the last response: waiting for lost ones is not the node's time.
	el := time.Duration(last.Load() - start.UnixNano())
	b.ReportMetric(float64(got.Load())/el.Seconds(), "resp/s")
	b.ReportMetric(100*(1-float64(got.Load())/float64(b.N)), "loss%")
}
