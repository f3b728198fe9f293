package fleet_test

import (
	"bytes"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/core/prommetrics"
	"github.com/walkie-p2p/walkie/plugins/fleet"
	"github.com/walkie-p2p/walkie/proto"
)

// tee is a test node's metrics: the core's Stats, which the tests read
// drops from, and Prometheus series on the node's own registry, which its
// reporter gathers, as bin/walkie's monitor does.
type tee struct {
	*core.Stats
	p *prommetrics.Metrics
}

func (m tee) Add(c core.Counter, n uint64)                         { m.Stats.Add(c, n); m.p.Add(c, n) }
func (m tee) Drop(r core.DropReason)                               { m.Stats.Drop(r); m.p.Drop(r) }
func (m tee) Peers(v, c int)                                       { m.p.Peers(v, c) }
func (m tee) WAN(f core.Family, a netip.AddrPort, n core.NATType)  { m.p.WAN(f, a, n) }
func (m tee) FirstPeer(d time.Duration)                            { m.p.FirstPeer(d) }
func (m tee) IntroRTT(d time.Duration)                             { m.p.IntroRTT(d) }
func (m tee) Puncture(ok bool)                                     { m.Stats.Puncture(ok); m.p.Puncture(ok) }
func (m tee) CommunityMessage(c string, t uint8, d core.Direction) { m.p.CommunityMessage(c, t, d) }
func (m tee) Members(c string, n int)                              { m.p.Members(c, n) }

// plan says what each node of a fleet test runs.
type plan struct {
	nodes int
	// collector returns node 0's configuration (Collect is set), given
	// every node's peer ID; nil for the defaults.
	collector func(ids []proto.ID) fleet.Config
	// role returns node i's communities (i > 0): nil for none. The
	// default makes every node a reporter with the interval below.
	role     func(i int, collector proto.ID, reg prometheus.Gatherer) []community.Community
	interval time.Duration // default fleet.DefaultInterval
	config   func(i int, c *core.Config)
}

// fleetNet is a coretest network whose node 0 collects.
type fleetNet struct {
	*coretest.Network
	collector proto.ID
	fleets    []*fleet.Fleet // node i's fleet community, if it runs one
}

// startFleet starts p's network. Node 0 is everyone's bootstrap and the
// collector, with room in its table for every node.
func startFleet(t testing.TB, p plan) *fleetNet {
	t.Helper()
	opts := coretest.Options{Nodes: p.nodes, Dir: t.TempDir(), Latency: 5 * time.Millisecond}
	ids := make([]proto.ID, p.nodes) // known before the nodes start, for the accept list
	for i := range ids {
		ident, err := core.LoadOrCreateIdentity(opts.NodeDir(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = ident.ID
	}
	if p.interval == 0 {
		p.interval = fleet.DefaultInterval
	}
	fn := &fleetNet{collector: ids[0], fleets: make([]*fleet.Fleet, p.nodes)}
	regs := make([]*prometheus.Registry, p.nodes)
	opts.Config = func(i int, c *core.Config) {
		if regs[i] != nil {
			c.Metrics = tee{c.Metrics.(*core.Stats), prommetrics.New(regs[i], []string{fleet.Name})}
		}
		if i == 0 { // as bin/walkie's -collector runs
			c.MaxPeers, c.KeepAlive = p.nodes+64, fleet.CollectorKeepAlive
		}
		if p.config != nil {
			p.config(i, c)
		}
	}
	fn.Network = coretest.Start(t, opts, func(i int) []community.Community {
		regs[i], fn.fleets[i] = prometheus.NewRegistry(), nil
		var cs []community.Community
		switch {
		case i == 0:
			var cfg fleet.Config
			if p.collector != nil {
				cfg = p.collector(ids)
			}
			cfg.Collect = true
			f, err := fleet.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			cs = []community.Community{f}
		case p.role != nil:
			cs = p.role(i, ids[0], regs[i])
		default:
			f, err := fleet.New(fleet.Config{ReportTo: ids[0], Interval: p.interval, Gatherer: regs[i]})
			if err != nil {
				t.Fatal(err)
			}
			cs = []community.Community{f}
		}
		for _, c := range cs {
			if f, ok := c.(*fleet.Fleet); ok {
				fn.fleets[i] = f
			}
		}
		return cs
	})
	return fn
}

// coll is the collector's community.
func (n *fleetNet) coll() *fleet.Fleet { return n.fleets[0] }

// peers returns the peer label of every walkie_peers series in the
// collector's fleet text, which must parse as Prometheus parses it.
func (n *fleetNet) peers(t testing.TB) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	n.coll().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics/fleet", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("fleet text: %v", err)
	}
	var ids []string
	for _, m := range fams["walkie_peers"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "peer" && !slices.Contains(ids, l.GetValue()) {
				ids = append(ids, l.GetValue())
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// ids returns the peer IDs of nodes, sorted, as strings.
func (n *fleetNet) ids(nodes ...int) []string {
	var out []string
	for _, i := range nodes {
		out = append(out, n.Node(i).ID.String())
	}
	slices.Sort(out)
	return out
}
