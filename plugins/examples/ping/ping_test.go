package ping

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
)

// Three nodes on the in-memory network: each pings the other two and gets
// both pongs. synctest's fake clock makes the waits free.
func TestPingPong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pings := make([]*Ping, 3)
		net := coretest.Start(t, coretest.Options{Nodes: 3, Latency: 10 * time.Millisecond},
			func(i int) []community.Community {
				pings[i] = New()
				return []community.Community{pings[i]}
			})
		net.WaitMembers("ping")
		for i, p := range pings {
			if n := p.PingAll(); n != 2 {
				t.Fatalf("node %d sent %d pings, want 2", i, n)
			}
		}
		time.Sleep(time.Second) // a round trip is 20 ms
		for i, p := range pings {
			for j := range pings {
				if id := net.Node(j).ID; j != i && p.Pongs()[id] != 1 {
					t.Errorf("node %d got %d pongs from node %d, want 1", i, p.Pongs()[id], j)
				}
			}
		}
	})
}
