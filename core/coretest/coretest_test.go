package coretest_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/examples/ping"
)

func pings(t *testing.T, opts coretest.Options) (*coretest.Network, []*ping.Ping) {
	ps := make([]*ping.Ping, opts.Nodes)
	net := coretest.Start(t, opts, func(i int) []community.Community {
		ps[i] = ping.New()
		return []community.Community{ps[i]}
	})
	return net, ps
}

// Five nodes behind 20% loss all become members of each other, and a
// restarted node keeps its peer ID, its address and its data directory,
// gets fresh communities, and is a member again.
func TestStartWaitRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, ps := pings(t, coretest.Options{Nodes: 5, Loss: 0.2, Latency: 20 * time.Millisecond})
		took := net.WaitMembers("ping")
		t.Logf("5 nodes, 20%% loss: all members of each other after %v", took)
		if net.Len() != 5 {
			t.Fatalf("Len %d", net.Len())
		}
		n := net.Node(3)
		id, addr, dir, old := n.ID, n.Addr, n.Dir, ps[3]
		net.Stop(3)
		if n.Running() || n.Overlay != nil {
			t.Fatal("node 3 still running after Stop")
		}
		net.WaitMembers("ping") // the four others still see each other
		net.Start(3)
		if n.ID != id || n.Addr != addr || n.Dir != dir {
			t.Errorf("restart changed the node: %v %v %v, was %v %v %v", n.ID, n.Addr, n.Dir, id, addr, dir)
		}
		if ps[3] == old {
			t.Error("restart reused the old community")
		}
		net.WaitMembers("ping")
		if sent := ps[3].PingAll(); sent != 4 {
			t.Errorf("restarted node pinged %d members, want 4", sent)
		}
	})
}

// WaitFor reports the condition's error after the timeout.
func TestWaitForTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, _ := pings(t, coretest.Options{Nodes: 1})
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
