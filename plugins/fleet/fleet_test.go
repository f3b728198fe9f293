package fleet_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/plugins/fleet"
	"github.com/walkie-p2p/walkie/proto"
)

// A collector, three reporters and a node that does not report: the
// fleet text holds walkie_peers for exactly the three, each with its peer
// label. A reporter that stops is still there one interval later and gone
// within three.
func TestFleetOfThree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := startFleet(t, plan{nodes: 5, role: func(i int, coll proto.ID, reg prometheus.Gatherer) []community.Community {
			if i == 4 {
				return nil // not opted in
			}
			f, err := fleet.New(fleet.Config{ReportTo: coll, Gatherer: reg})
			if err != nil {
				t.Fatal(err)
			}
			return []community.Community{f}
		}})
		want := n.ids(1, 2, 3)
		took, err := n.WaitFor(2*time.Minute, func() error {
			if got := n.peers(t); !slices.Equal(got, want) {
				return fmt.Errorf("fleet peers %v, want %v", got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("three reporters in the fleet view after %v", took)
		if st := n.coll().CollectorStats(); st.Reporters != 3 || st.Drops != ([len(st.Drops)]uint64{}) {
			t.Errorf("collector stats %+v", st)
		}

		n.Stop(3)
		time.Sleep(fleet.DefaultInterval)
		if got := n.peers(t); !slices.Equal(got, want) {
			t.Errorf("one interval after node 3 stopped: %v, want it still there", got)
		}
		gone, err := n.WaitFor(2*fleet.DefaultInterval+time.Second, func() error {
			if got := n.peers(t); !slices.Equal(got, n.ids(1, 2)) {
				return fmt.Errorf("fleet peers %v", got)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("node 3 still in the view three intervals after it stopped: %v", err)
		}
		t.Logf("node 3 left the view %v after it stopped", fleet.DefaultInterval+gone)
		for i := 1; i <= 2; i++ {
			if st := n.fleets[i].ReporterStats(); st.Reports < 3 || st.Datagrams != st.Reports || st.Skipped[0]+st.Skipped[1]+st.Skipped[2] > 1 {
				t.Errorf("node %d reporter stats %+v", i, st)
			}
		}
	})
}

// forger is a hostile member of "fleet" that sends whatever body it is
// given, as often as it is told; auth says whether it asks for
// authenticated members, as the real community does.
type forger struct {
	auth bool
	env  community.Env
}

func (f *forger) Name() string                                     { return fleet.Name }
func (f *forger) Messages() []community.MessageSpec                { return nil }
func (f *forger) Start(_ context.Context, env community.Env) error { f.env = env; return nil }
func (f *forger) Close() error                                     { return nil }
func (f *forger) Policy() community.Policy                         { return community.Policy{Authenticated: f.auth} }
func (f *forger) send(to proto.ID, seq uint32, peers float64) error {
	return f.env.Send(to, fleet.TypeReport, report(seq, peers))
}

// report is a one-part report of a verified peer count.
func report(seq uint32, peers float64) []byte {
	parts, _ := fleet.EncodeReport(seq, fleet.DefaultInterval, []fleet.Series{{Family: 15, Labels: []string{"verified"}, Value: peers}})
	return parts[0]
}

// Reports from a member the accept list does not name, and from a peer
// that never proved a key, are dropped and counted; neither appears.
func TestForgedReportsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keyless := &forger{}
		n := startFleet(t, plan{nodes: 5,
			collector: func(ids []proto.ID) fleet.Config { return fleet.Config{Accept: ids[1:3]} },
			role: func(i int, coll proto.ID, reg prometheus.Gatherer) []community.Community {
				if i == 4 {
					return []community.Community{keyless}
				}
				f, _ := fleet.New(fleet.Config{ReportTo: coll, Gatherer: reg})
				return []community.Community{f}
			},
			config: func(i int, c *core.Config) {
				if i == 4 { // a node of the previous release: no key to prove
					c.Key, c.PeerID = nil, proto.ID(uuid.New())
				}
			}})
		if _, err := n.WaitFor(2*time.Minute, func() error {
			if st := n.coll().CollectorStats(); st.Reporters != 2 || st.Dropped("not_accepted") == 0 {
				return fmt.Errorf("collector stats %+v", st)
			}
			return keyless.send(n.collector, 1, 99) // once the collector is a member in its eyes
		}); err != nil {
			t.Fatal(err)
		}
		before := n.Node(0).Stats.Dropped(core.DropUnauthenticated)
		for seq := range uint32(10) {
			time.Sleep(fleet.DefaultMinGap)
			if err := keyless.send(n.collector, seq+2, 99); err != nil {
				t.Fatalf("the keyless node cannot send: %v", err)
			}
		}
		time.Sleep(time.Second)
		if d := n.Node(0).Stats.Dropped(core.DropUnauthenticated) - before; d < 10 {
			t.Errorf("the collector's node dropped %d of the keyless node's 10 reports as unauthenticated", d)
		}
		if got, want := n.peers(t), n.ids(1, 2); !slices.Equal(got, want) {
			t.Errorf("fleet peers %v, want %v (not node 3 %v, not node 4 %v)", got, want, n.Node(3).ID, n.Node(4).Overlay.ID())
		}
		st := n.coll().CollectorStats()
		if st.Dropped("unauthenticated") != 0 {
			t.Errorf("an unauthenticated report reached the handler: %+v", st)
		}
		t.Logf("collector: %d not accepted, %d unauthenticated at the node", st.Dropped("not_accepted"),
			n.Node(0).Stats.Dropped(core.DropUnauthenticated))
	})
}

// An authenticated member that sends a new report ten times a second gets
// one taken per MinGap; the others are dropped and counted, and an honest
// reporter beside it is not held up.
func TestReportFloodRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		flood := &forger{auth: true}
		n := startFleet(t, plan{nodes: 3, role: func(i int, coll proto.ID, reg prometheus.Gatherer) []community.Community {
			if i == 1 {
				return []community.Community{flood}
			}
			f, _ := fleet.New(fleet.Config{ReportTo: coll, Gatherer: reg})
			return []community.Community{f}
		}})
		if _, err := n.WaitFor(2*time.Minute, func() error { return flood.send(n.collector, 0, 0) }); err != nil {
			t.Fatal(err)
		}
		start := n.coll().CollectorStats()
		honest := n.fleets[2].ReporterStats().Reports
		const sends, every = 600, 100 * time.Millisecond
		for seq := range uint32(sends) {
			time.Sleep(every)
			if err := flood.send(n.collector, seq+1, float64(seq+1)); err != nil {
				t.Fatalf("send %d: %v", seq, err)
			}
		}
		time.Sleep(time.Second)
		st := n.coll().CollectorStats()
		taken := st.Reports - start.Reports - (n.fleets[2].ReporterStats().Reports - honest)
		limit := uint64(sends*every/fleet.DefaultMinGap) + 1
		t.Logf("%d reports in %v: %d taken, %d rate-limited", sends, sends*every, taken, st.Dropped("rate_limited")-start.Dropped("rate_limited"))
		if taken > limit || taken == 0 {
			t.Errorf("%d of the flood's reports taken, want 1 to %d", taken, limit)
		}
		if d := st.Dropped("rate_limited") - start.Dropped("rate_limited"); d+taken < sends-1 {
			t.Errorf("%d rate-limited and %d taken of %d", d, taken, sends)
		}
		if got := n.peers(t); !slices.Equal(got, n.ids(1, 2)) {
			t.Errorf("fleet peers %v, want the flooder and the honest reporter", got)
		}
	})
}
