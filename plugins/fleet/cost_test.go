package fleet_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/core/prommetrics"
	"github.com/walkie-p2p/walkie/plugins/fleet"
)

// costNode starts a node with a key on h, its metrics on a registry of its
// own, and the communities cs returns given that registry.
func costNode(t *testing.T, h *memnet.Host, boot []netip.AddrPort, mobile bool, cs func(prometheus.Gatherer) []community.Community, tune ...func(*core.Config)) *core.Overlay {
	t.Helper()
	ident, err := core.LoadOrCreateIdentity(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := h.Listen(1873)
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.DefaultLocalConfig()
	if mobile {
		cfg = core.MobileConfig()
		cfg.BeaconAddr = netip.AddrPort{}
	}
	reg := prometheus.NewRegistry()
	cfg.Key, cfg.Transport, cfg.Bootstrap = ident.Key, conn, boot
	if cs != nil {
		cfg.Communities = cs(reg)
	}
	cfg.Metrics = tee{core.NewStats(), prommetrics.New(reg, []string{fleet.Name})}
	for _, f := range tune {
		f(&cfg)
	}
	o, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o.Start()
	t.Cleanup(func() { o.Close() })
	return o
}

// What reporting costs a phone: two phones in the mobile profile behind
// port-restricted cone NATs, in a network of 28 such hosts, a public
// bootstrap and a public collector, 40 ms latency. One reports to the
// collector every 5 minutes, the other does not. Over 30 minutes, after
// 5 to settle, the reporting phone sends its reports (one datagram each)
// and about as many packets as the other: reporting adds 0.2 datagrams a
// minute. docs/android.md and docs/performance.md quote this test's log.
func TestPhoneCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const settle, measure = 5 * time.Minute, 30 * time.Minute
		n := memnet.New(memnet.Config{Latency: 40 * time.Millisecond, Seed: 7})
		defer n.Close()
		var coll *fleet.Fleet
		collector := costNode(t, n.Host(netip.MustParseAddr("198.51.100.2")), nil, false, func(prometheus.Gatherer) []community.Community {
			coll, _ = fleet.New(fleet.Config{Collect: true})
			return []community.Community{coll}
		}, func(c *core.Config) { c.KeepAlive = fleet.CollectorKeepAlive })
		boot := costNode(t, n.Host(netip.MustParseAddr("198.51.100.1")), []netip.AddrPort{collector.LAN()}, false, nil)
		bs := []netip.AddrPort{boot.LAN()}
		cone := func(i int) *memnet.Host {
			return n.NAT(memnet.PortRestrictedCone(netip.AddrFrom4([4]byte{203, 0, byte(10 + i), 1}))).Host(netip.MustParseAddr("10.0.0.2"))
		}
		for i := range 28 {
			costNode(t, cone(i), bs, false, nil)
		}
		var rep *fleet.Fleet
		// -report-to adds the collector's address to the bootstrap list.
		reporting := costNode(t, cone(100), append(bs, collector.LAN()), true, func(g prometheus.Gatherer) []community.Community {
			rep, _ = fleet.New(fleet.Config{ReportTo: collector.ID(), Interval: fleet.MobileInterval, Gatherer: g})
			return []community.Community{rep}
		})
		quiet := costNode(t, cone(101), bs, true, nil)

		time.Sleep(settle)
		r0, q0, s0, c0 := reporting.Status().PacketsSent, quiet.Status().PacketsSent, rep.ReporterStats(), coll.CollectorStats()
		time.Sleep(measure)
		r1, q1, s1, c1 := reporting.Status().PacketsSent, quiet.Status().PacketsSent, rep.ReporterStats(), coll.CollectorStats()
		mins := measure.Minutes()
		rRate, qRate := float64(r1-r0)/mins, float64(q1-q0)/mins
		reports, parts := s1.Reports-s0.Reports, s1.Datagrams-s0.Datagrams
		t.Logf("over %v: the reporting phone sent %.1f packets/min, the other %.1f; reports %d in %d datagrams (%.2f/min, %d bytes each), skipped %v; peers %d and %d; the collector took %d reports and holds %d reporter(s)",
			measure, rRate, qRate, reports, parts, float64(parts)/mins, (s1.Bytes-s0.Bytes)/max(parts, 1), s1.Skipped,
			len(reporting.VerifiedPeers()), len(quiet.VerifiedPeers()), c1.Reports-c0.Reports, c1.Reporters)
		if parts < 5 || parts > 7 || parts != reports {
			t.Errorf("%d report datagrams in %d reports over %v, want one a report, one report per 5 minutes", parts, reports, measure)
		}
		if c1.Reporters != 1 || c1.Reports-c0.Reports < reports-1 {
			t.Errorf("the collector took %d of the %d reports and holds %d reporters, want the phone", c1.Reports-c0.Reports, reports, c1.Reporters)
		}
	})
}
