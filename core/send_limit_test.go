package core_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/proto"
)

// flooder is a community that can send as fast as it likes, and counts
// the bytes it receives.
type flooder struct {
	env community.Env
	got atomic.Int64
}

func (f *flooder) Name() string { return "flood" }
func (f *flooder) Messages() []community.MessageSpec {
	return []community.MessageSpec{{Type: 1, Name: "blob", MaxSize: proto.MaxDatagram,
		Handle: func(_ context.Context, _ community.Peer, b []byte) error { f.got.Add(int64(len(b))); return nil }}}
}
func (f *flooder) Start(_ context.Context, env community.Env) error { f.env = env; return nil }
func (f *flooder) Close() error                                     { return nil }

// A community (a plugin, say) that sends to one member as fast as it can
// for 20 s gets the node's default rate and no more: before the limit, one
// plugin sent 27 MB in 20 s. What is cut off is counted, and Send says
// ErrBusy.
func TestCommunitySendRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := make([]*flooder, 2)
		// The receiver takes everything (no per-source limit): what arrives
		// is what the sender let go.
		open := func(_ int, c *core.Config) { c.SourceRate, c.SourceBurst = 1e9, 1e9; c.CommunityQueueLen = 4096 }
		net := coretest.Start(t, coretest.Options{Nodes: 2, Latency: time.Millisecond, Config: open}, func(i int) []community.Community {
			fs[i] = &flooder{}
			return []community.Community{fs[i]}
		})
		net.WaitMembers("flood")
		to := net.Node(1).ID
		body := make([]byte, 1100)
		busy := 0
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
			for range 10 { // 10,000 a second asked for
				if fs[0].env.Send(to, 1, body) != nil {
					busy++
				}
			}
		}
		time.Sleep(time.Second)
		d := core.DefaultConfig()
		limit := int64(d.SendByteRate*20 + 2*d.SendByteRate) // 20 s at the rate, and one burst
		got := fs[1].got.Load()
		t.Logf("20 s of flooding: %d bytes arrived (limit %d), %d sends refused", got, limit, busy)
		if got > limit || got < limit/2 {
			t.Errorf("%d bytes arrived in 20 s; want the rate, at most %d", got, limit)
		}
		if drops := net.Node(0).Stats.Dropped(core.DropSendRateLimited); drops == 0 || int(drops) != busy {
			t.Errorf("send_rate_limited drops: %d, refused sends %d", drops, busy)
		}
	})
}
