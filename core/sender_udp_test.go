package core

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// countingUDP is a UDPTransport that counts how the overlay writes to it.
type countingUDP struct {
	*UDPTransport
	writeTo, calls, batched, largest atomic.Uint64
}

func (c *countingUDP) WriteTo(b []byte, to netip.AddrPort) error {
	c.writeTo.Add(1)
	return c.UDPTransport.WriteTo(b, to)
}

func (c *countingUDP) WriteBatch(ms []Datagram) (int, error) {
	n, err := c.UDPTransport.WriteBatch(ms)
	c.calls.Add(1)
	c.batched.Add(uint64(n))
	if uint64(n) > c.largest.Load() {
		c.largest.Store(uint64(n))
	}
	return n, err
}

// TestBatchedNodeUDP: a node over real loopback UDP gets bursts of verified
// introduction requests, more than one batch each, and answers every one
// exactly once; everything it sends leaves through WriteBatch, and
// packets_sent is exactly what arrived.
func TestBatchedNodeUDP(t *testing.T) {
	udp, err := ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &countingUDP{UDPTransport: udp}
	cfg := DefaultLocalConfig()
	cfg.PeerID = proto.ID{1}
	cfg.Transport = tr
	cfg.SourceRate, cfg.SourceBurst = 1e9, 1e9
	cfg.WalkFast, cfg.WalkInterval = time.Hour, time.Hour // only answers, no walks
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o.Start()
	defer o.Close()
	client, err := ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.conn.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	hdr := proto.Header{Community: proto.CoreCommunity(), Sender: proto.ID{2}, Dest: o.LAN()}
	received := 0
	in := make([]Datagram, 64)
	for i := range in {
		in[i].B = make([]byte, 2048)
	}
	// answers reads until it has n introduction responses, and returns
	// their nonces.
	answers := func(n int) map[uint64]int {
		nonces := map[uint64]int{}
		for len(nonces) < n {
			client.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			k, err := client.ReadBatch(in)
			if err != nil {
				t.Fatalf("%d of %d answers: %v", len(nonces), n, err)
			}
			received += k
			for _, d := range in[:k] {
				if d.Addr != o.LAN() {
					t.Fatalf("a datagram from %v, want %v", d.Addr, o.LAN())
				}
				h, body, err := proto.ParseHeader(d.B[:d.N])
				if err != nil || h.Type != proto.TypeIntroResponse {
					t.Fatalf("not an introduction response: %v %v", h.Type, err)
				}
				r, err := proto.DecodeIntroResponse(body)
				if err != nil {
					t.Fatal(err)
				}
				nonces[r.Nonce]++
			}
		}
		return nonces
	}
	pkt, _ := proto.Encode(nil, hdr, &proto.IntroRequest{Nonce: 1})
	if err := client.WriteTo(proto.Pad(pkt, 128), o.LAN()); err != nil {
		t.Fatal(err)
	}
	_ = answers(1)
	_, body, _ := proto.ParseHeader(in[0].B[:in[0].N])
	first, err := proto.DecodeIntroResponse(body)
	if err != nil || len(first.Token) == 0 {
		t.Fatalf("no token: %v", err)
	}
	tok := first.Token
	const bursts, burst = 4, 100 // each more than batchLen answers
	nonce := uint64(100)
	for range bursts {
		out := make([]Datagram, burst)
		for i := range out {
			nonce++
			b, err := proto.Encode(nil, hdr, &proto.IntroRequest{Nonce: nonce, Token: tok, LAN: client.LocalAddr()})
			if err != nil {
				t.Fatal(err)
			}
			out[i] = Datagram{B: b, Addr: o.LAN()}
		}
		if n, err := client.WriteBatch(out); n != burst || err != nil {
			t.Fatalf("the client sent %d of %d: %v", n, burst, err)
		}
		got := answers(burst)
		for i := range burst {
			if c := got[nonce-uint64(i)]; c != 1 {
				t.Fatalf("request %d answered %d times", nonce-uint64(i), c)
			}
		}
		if len(got) != burst {
			t.Fatalf("%d distinct answers to %d requests", len(got), burst)
		}
	}
	// The worker counts a batch once WriteBatch returned, which can be after
	// the client read it: closing waits for the worker.
	o.Close()
	st := o.Status()
	if want := 1 + bursts*burst; received != want || st.PacketsSent != uint64(received) {
		t.Errorf("the client received %d datagrams (want %d), packets_sent says %d", received, want, st.PacketsSent)
	}
	if n := o.Metrics().(*Stats).Count(IntroResponsesSent); n != uint64(received) {
		t.Errorf("%d responses counted, %d received", n, received)
	}
	if w := tr.writeTo.Load(); w != 0 || tr.batched.Load() != st.PacketsSent {
		t.Errorf("%d WriteTo calls and %d datagrams in %d WriteBatch calls, want 0 and %d", w, tr.batched.Load(), tr.calls.Load(), st.PacketsSent)
	}
	t.Logf("%d answers in %d WriteBatch calls, the largest of %d", tr.batched.Load(), tr.calls.Load(), tr.largest.Load())
}
