package coretest_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
)

// hello is the smallest community that shows membership: one message type
// that it sends to every member and ignores on receipt. The test brings its
// own rather than import an example from plugins, which sits above core.
type hello struct{ env community.Env }

func (h *hello) Name() string { return "hello" }

func (h *hello) Messages() []community.MessageSpec {
	return []community.MessageSpec{{Type: 1, Name: "hello", MaxSize: 8,
		Handle: func(context.Context, community.Peer, []byte) error { return nil }}}
}

func (h *hello) Start(_ context.Context, env community.Env) error { h.env = env; return nil }

func (h *hello) Close() error { return nil }

// sendAll sends a hello to every member and counts the sends that succeeded.
func (h *hello) sendAll() (sent int) {
	for _, m := range h.env.Members() {
		if h.env.Send(m.ID, 1, []byte("hello")) == nil {
			sent++
		}
	}
	return sent
}

func hellos(t *testing.T, opts coretest.Options) (*coretest.Network, []*hello) {
	hs := make([]*hello, opts.Nodes)
	net := coretest.Start(t, opts, func(i int) []community.Community {
		hs[i] = &hello{}
		return []community.Community{hs[i]}
	})
	return net, hs
}

// Five nodes behind 20% loss all become members of each other, and a
// restarted node keeps its peer ID, its address and its data directory,
// gets fresh communities, and is a member again.
func TestStartWaitRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, hs := hellos(t, coretest.Options{Nodes: 5, Loss: 0.2, Latency: 20 * time.Millisecond})
		took := net.WaitMembers("hello")
		t.Logf("5 nodes, 20%% loss: all members of each other after %v", took)
		if net.Len() != 5 {
			t.Fatalf("Len %d", net.Len())
		}
		n := net.Node(3)
		id, addr, dir, old := n.ID, n.Addr, n.Dir, hs[3]
		net.Stop(3)
		if n.Running() || n.Overlay != nil {
			t.Fatal("node 3 still running after Stop")
		}
		net.WaitMembers("hello") // the four others still see each other
		net.Start(3)
		if n.ID != id || n.Addr != addr || n.Dir != dir {
			t.Errorf("restart changed the node: %v %v %v, was %v %v %v", n.ID, n.Addr, n.Dir, id, addr, dir)
		}
		if hs[3] == old {
			t.Error("restart reused the old community")
		}
		net.WaitMembers("hello")
		if sent := hs[3].sendAll(); sent != 4 {
			t.Errorf("restarted node sent to %d members, want 4", sent)
		}
	})
}

// WaitFor reports the condition's error after the timeout.
func TestWaitForTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, _ := hellos(t, coretest.Options{Nodes: 1})
		start := time.Now()
		_, err := net.WaitFor(time.Second, func() error { return errNever })
		if err == nil || time.Since(start) < time.Second {
			t.Errorf("WaitFor: %v after %v", err, time.Since(start))
		}
	})
}

var errNever = errorString("never")

type errorString string

func (e errorString) Error() string { return string(e) }
