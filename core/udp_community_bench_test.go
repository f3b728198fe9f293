package core_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/proto"
)

// counter is a community whose one message type only counts arrivals.
type counter struct {
	env community.Env
	got atomic.Int64
}

func (c *counter) Name() string { return "bench" }
func (c *counter) Messages() []community.MessageSpec {
	return []community.MessageSpec{{Type: 1, Name: "note", MaxSize: proto.MaxDatagram,
		Handle: func(context.Context, community.Peer, []byte) error { c.got.Add(1); return nil }}}
}
func (c *counter) Start(_ context.Context, env community.Env) error { c.env = env; return nil }
func (c *counter) Close() error                                     { return nil }

// commWindow bounds the messages in flight: the receiver's community queue
// holds 256, and more in flight only measures drops.
const commWindow = 128

// BenchmarkUDPCommunityMessages is community traffic between two nodes over
// real loopback UDP: Env.Send on one node, the handler on the other, 100-byte
// bodies, at most commWindow in flight. msg/s is what reaches the handler;
// a message lost on the way (a full queue, a socket buffer) shows as loss%.
// Both nodes share the machine's cores with the loop that sends. "sealed"
// runs nodes with keys, which authenticate each other and seal every
// datagram (AES-256-GCM both ways); "plaintext" nodes without keys, as the
// previous release: the price of sealing is the difference.
func BenchmarkUDPCommunityMessages(b *testing.B) {
	b.Run("plaintext", func(b *testing.B) { communityMessages(b, false) })
	b.Run("sealed", func(b *testing.B) { communityMessages(b, true) })
}

func communityMessages(b *testing.B, keyed bool) {
	a, ca := benchNode(b, nil, keyed)
	peer, cb := benchNode(b, a, keyed)
	deadline := time.Now().Add(10 * time.Second)
	for len(ca.env.Members()) == 0 || len(cb.env.Members()) == 0 {
		if time.Now().After(deadline) {
			b.Fatal("the two nodes did not become members of each other within 10 s")
		}
		time.Sleep(time.Millisecond) // setup only: the walk runs on its own
	}
	to := peer.ID()
	body := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	// lost: written off after 100 ms without progress, as lost in flight.
	// last: when the latest message arrived.
	sent, lost, seen := 0, 0, 0
	last := start
	for {
		if got := int(cb.got.Load()); got != seen {
			seen, last = got, time.Now()
		}
		if seen+lost >= b.N {
			break
		}
		if sent == b.N || sent-seen-lost >= commWindow {
			if time.Since(last) > 100*time.Millisecond {
				lost = sent - seen
			}
			runtime.Gosched()
			continue
		}
		err := ca.env.Send(to, 1, body)
		switch {
		case err == nil:
			sent++
		case errors.Is(err, community.ErrBusy):
			runtime.Gosched()
		default:
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(seen)/last.Sub(start).Seconds(), "msg/s")
	b.ReportMetric(100*float64(b.N-seen)/float64(b.N), "loss%")
}

// benchNode starts a node on a loopback UDP socket with the counting
// community, bootstrapped to boot if given, with a key if keyed.
func benchNode(b *testing.B, boot *core.Overlay, keyed bool) (*core.Overlay, *counter) {
	tr, err := core.ListenUDP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	c := &counter{}
	cfg := core.DefaultLocalConfig()
	cfg.PeerID = proto.ID(uuid.New())
	if keyed {
		id, err := core.NewIdentity()
		if err != nil {
			b.Fatal(err)
		}
		cfg.Key, cfg.PeerID = id.Key, id.ID
	}
	cfg.Transport = tr
	cfg.Communities = []community.Community{c}
	cfg.SourceRate, cfg.SourceBurst = 1e9, 1e9 // one peer sends all the load
	cfg.SendRate, cfg.SendByteRate = math.Inf(1), math.Inf(1)
	if boot != nil {
		cfg.Bootstrap = append(cfg.Bootstrap, boot.LAN())
	}
	o, err := core.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	o.Start()
	b.Cleanup(func() { o.Close() })
	return o, c
}
