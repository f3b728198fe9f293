package core_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// stallable wraps a memnet socket so that a test can stop its writes: while
// stalled, WriteTo and WriteBatch block (on a channel, so synctest sees the
// worker durably blocked) until released. It is a BatchWriter, so the
// worker's writes are batches in flight.
type stallable struct {
	*memnet.Conn
	stalled atomic.Bool
	release chan struct{}
	blocked atomic.Int32 // writers waiting now
}

func (s *stallable) wait() {
	if s.stalled.Load() {
		s.blocked.Add(1)
		<-s.release
		s.blocked.Add(-1)
	}
}

func (s *stallable) WriteTo(b []byte, to netip.AddrPort) error {
	s.wait()
	return s.Conn.WriteTo(b, to)
}

func (s *stallable) WriteBatch(ms []core.Datagram) (int, error) {
	s.wait()
	for i, m := range ms {
		if err := s.Conn.WriteTo(m.B, m.Addr); err != nil {
			return i, err
		}
	}
	return len(ms), nil
}

func (s *stallable) Close() error {
	if s.stalled.CompareAndSwap(true, false) {
		close(s.release)
	}
	return s.Conn.Close()
}

// keeper is a community that keeps its Env and counts what it receives.
type keeper struct {
	env  community.Env
	mu   sync.Mutex
	got  int
	name string
}

func (k *keeper) Name() string { return k.name }
func (k *keeper) Messages() []community.MessageSpec {
	return []community.MessageSpec{{Type: 1, Name: "note", MaxSize: 64, Handle: func(context.Context, community.Peer, []byte) error {
		k.mu.Lock()
		k.got++
		k.mu.Unlock()
		return nil
	}}}
}
func (k *keeper) Start(_ context.Context, env community.Env) error { k.env = env; return nil }
func (k *keeper) Close() error                                     { return nil }

func (k *keeper) received() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.got
}

// TestStalledWorkerBlocksNobody: with the worker stuck in a write (a batch
// in flight that the socket does not take), Env.Send, Env.Members, Env.WAN,
// Status and VerifiedPeers all return at once, since they read the view the
// worker published and queue without waiting for it; a full send queue says
// ErrBusy and counts the drop; and once the write goes through, every
// queued message reaches the member. When they took the worker's lock (as
// before), this test hung and the watchdog failed it.
func TestStalledWorkerBlocksNobody(t *testing.T) {
	watchdog := time.AfterFunc(time.Minute, func() { panic("TestStalledWorkerBlocksNobody: a call waited for the stalled worker") })
	defer watchdog.Stop()
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 5 * time.Millisecond, Seed: 7})
		defer n.Close()
		ka, kb := &keeper{name: "notes"}, &keeper{name: "notes"}
		var sa *stallable
		a := node(t, n.Host(ip("198.51.100.1")), nil, func(c *core.Config) {
			sa = &stallable{Conn: c.Transport.(*memnet.Conn), release: make(chan struct{})}
			c.Transport = sa
			c.Communities = []community.Community{ka}
			c.SendQueueLen = 16
		})
		b := node(t, n.Host(ip("198.51.100.2")), []netip.AddrPort{a.LAN()}, func(c *core.Config) {
			c.Communities = []community.Community{kb}
		})
		for len(ka.env.Members()) == 0 || len(kb.env.Members()) == 0 {
			time.Sleep(10 * time.Millisecond)
		}

		// Stall a's socket, and let a's worker run into it: a keep-alive
		// is due within KeepAlive.
		sa.stalled.Store(true)
		for sa.blocked.Load() == 0 {
			time.Sleep(time.Second)
		}
		synctest.Wait()

		start := time.Now()
		sent := 0
		var err error
		for ; err == nil; sent++ {
			err = ka.env.Send(b.ID(), 1, []byte("hello"))
		}
		sent-- // the last one failed
		if !errors.Is(err, community.ErrBusy) || sent != 16 {
			t.Fatalf("with the worker stalled: %d sends queued, then %v; want 16, then ErrBusy", sent, err)
		}
		if d := a.Metrics().(*core.Stats).Dropped(core.DropSendBusy); d != 1 {
			t.Errorf("send_busy drops: %d, want 1", d)
		}
		if m := ka.env.Members(); len(m) != 1 || m[0].ID != b.ID() {
			t.Errorf("Members with the worker stalled: %v, want [%v]", m, b.ID())
		}
		_ = ka.env.WAN()
		if st := a.Status(); len(st.Peers) == 0 || st.Peers[0].ID != b.ID().String() {
			t.Errorf("Status with the worker stalled: peers %v", st.Peers)
		}
		if !knows(a, b) {
			t.Error("VerifiedPeers with the worker stalled does not list b")
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("the calls took %v of fake time, want none", d)
		}
		if sa.blocked.Load() == 0 {
			t.Fatal("the worker is no longer stalled: the test proved nothing")
		}

		sa.stalled.Store(false)
		close(sa.release)
		time.Sleep(time.Second)
		if got := kb.received(); got != sent {
			t.Errorf("b received %d messages, %d were queued", got, sent)
		}
	})
}
