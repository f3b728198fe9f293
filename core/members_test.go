package core_test

import (
	"fmt"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// A peer is a member of our communities within a round trip of proving
// its key, not a walk or two later: the sealed keep-alive that follows a
// handshake carries no token (we have none from a peer that is new to us),
// and its answer, full since it came sealed from where the peer proved
// itself, must count. Five nodes, twenty networks: membership lagged the
// handshakes by 2 to 36 s when that answer was ignored.
func TestMembersFollowTheHandshake(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		synctest.Test(t, func(t *testing.T) {
			n := memnet.New(memnet.Config{Latency: time.Millisecond, Seed: seed})
			defer n.Close()
			var ks []*keeper
			var nodes []*core.Overlay
			var boot []netip.AddrPort
			for i := 1; i <= 5; i++ {
				k := &keeper{name: "notes"}
				o := keyed(t, n.Host(ip(fmt.Sprintf("198.51.100.%d", i))), boot, func(c *core.Config) { c.Communities = []community.Community{k} })
				if i == 1 {
					boot = []netip.AddrPort{o.LAN()}
				}
				ks, nodes = append(ks, k), append(nodes, o)
				time.Sleep(20 * time.Millisecond) // started one after the other, as in the loopback test
			}
			waitUntil(t, 10*time.Second, "every node authenticated every other", func() bool {
				for _, a := range nodes {
					for _, b := range nodes {
						if a != b && !authenticated(a, b) {
							return false
						}
					}
				}
				return true
			})
			waitUntil(t, time.Second, fmt.Sprintf("network %d: every node a member of every other's community", seed), func() bool {
				for _, k := range ks {
					if len(k.env.Members()) != len(nodes)-1 {
						return false
					}
				}
				return true
			})
		})
	}
}
