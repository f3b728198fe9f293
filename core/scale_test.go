package core_test

import (
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// TestThousandNodes: 1,000 nodes, most behind NATs, on a network that loses
// 5% of all datagrams: after 2 virtual minutes every node knows at least 8
// verified peers. The synctest bubble also proves that Close leaves no
// goroutine behind: the test fails if one is still blocked when it ends.
func TestThousandNodes(t *testing.T) {
	total := 1000
	if s := os.Getenv("WALKIE_SCALE_N"); s != "" {
		total, _ = strconv.Atoi(s)
	}
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 30 * time.Millisecond, Jitter: 20 * time.Millisecond, Loss: 0.05, Seed: 3})
		boot := node(t, n.Host(ip("198.51.100.1")), nil)
		nodes := []*core.Overlay{boot}
		for i := 1; i < total; i++ {
			pub := netip.AddrFrom4([4]byte{100, byte(64 + i>>16), byte(i >> 8), byte(i)})
			var h *memnet.Host
			switch i % 10 {
			case 0, 1, 2: // public or full cone
				h = n.NAT(memnet.FullCone(pub)).Host(ip("192.168.1.2"))
			default: // port-restricted cone: the common home router
				h = n.NAT(memnet.PortRestrictedCone(pub)).Host(ip("192.168.1.2"))
			}
			nodes = append(nodes, node(t, h, []netip.AddrPort{boot.LAN()}))
		}
		time.Sleep(2 * time.Minute)
		fewest, sum := total, 0
		for _, o := range nodes {
			k := len(o.VerifiedPeers())
			fewest = min(fewest, k)
			sum += k
		}
		t.Logf("after 2 min: fewest peers %d, mean %.1f; network %+v", fewest, float64(sum)/float64(total), n.Stats())
		if fewest < 8 {
			t.Errorf("a node knows only %d peers after 2 minutes, want >= 8", fewest)
		}
		for _, o := range nodes {
			o.Close()
		}
		n.Close()
		synctest.Wait()
		t.Logf("goroutines after Close: %d", runtime.NumGoroutine())
	})
}
