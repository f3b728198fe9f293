package prommetrics

import (
	"math"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/walkie-p2p/walkie/core"
)

// gather returns the registry's families by name.
func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// value returns the value of the series of family name whose labels
// include every pair of want ("k=v"); it fails if there is not exactly one.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
	var found []*dto.Metric
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		ok := true
		for _, kv := range want {
			k, v, _ := strings.Cut(kv, "=")
			if got, present := have[k]; !present || got != v {
				ok = false
			}
		}
		if ok {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d series, want 1", name, want, len(found))
	}
	m := found[0]
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("%s: unexpected metric type", name)
	return 0
}

// TestContractSeriesFromStart checks that every series of the contract is
// exported, at zero, before anything happened: a dashboard's rate() over a
// quiet series must be 0, not "no data".
func TestContractSeriesFromStart(t *testing.T) {
	reg := NewRegistry()
	New(reg, []string{"chat", "game"})
	fams := gather(t, reg)
	for _, c := range core.Counters() {
		if v := value(t, fams, c.Name()); v != 0 {
			t.Errorf("%s = %v at start", c.Name(), v)
		}
	}
	for _, r := range core.DropReasons() {
		value(t, fams, "walkie_packets_dropped_total", "reason="+r.String())
	}
	if n := len(fams["walkie_packets_dropped_total"].GetMetric()); n != len(core.DropReasons()) {
		t.Errorf("%d drop reason series, want %d", n, len(core.DropReasons()))
	}
	value(t, fams, "walkie_peers", "state=verified")
	value(t, fams, "walkie_peers", "state=candidate")
	value(t, fams, "walkie_punctures_total", "result=success")
	value(t, fams, "walkie_punctures_total", "result=failure")
	value(t, fams, "walkie_community_members", "community=chat")
	value(t, fams, "walkie_community_members", "community=game")
	if v := value(t, fams, "walkie_wan_address_info", "family=ipv4", "address=", "nat=unknown"); v != 1 {
		t.Errorf("walkie_wan_address_info = %v, want 1", v)
	}
	if v := value(t, fams, "walkie_first_peer_seconds"); !math.IsNaN(v) {
		t.Errorf("walkie_first_peer_seconds = %v before a peer, want NaN", v)
	}
	value(t, fams, "walkie_introduction_rtt_seconds")
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("NewRegistry: no %s", name)
		}
	}
}

// TestValues drives every method and reads the series back.
func TestValues(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, []string{"chat"})
	m.Add(core.PuncturesSent, 3)
	m.Add(core.PuncturesSent, 2)
	m.Add(core.Counter(200), 1) // out of range: ignored, no panic
	m.Drop(core.DropBadMagic)
	m.Drop(core.DropBadMagic)
	m.Drop(core.DropReason(200))
	m.Peers(5, 2)
	m.FirstPeer(1500 * time.Millisecond)
	m.IntroRTT(3 * time.Millisecond)
	m.IntroRTT(40 * time.Millisecond)
	m.Puncture(true)
	m.Puncture(true)
	m.Puncture(false)
	m.Members("chat", 4)
	m.Members("nosuch", 9) // not ours: no new series
	m.CommunityMessage("chat", 1, core.Inbound)
	m.CommunityMessage("chat", 1, core.Inbound)
	m.CommunityMessage("chat", 1, core.Outbound)
	m.CommunityMessage("evil-"+strings.Repeat("x", 20), 7, core.Inbound)
	m.CommunityMessage("another", 7, core.Inbound)

	fams := gather(t, reg)
	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{value(t, fams, "walkie_punctures_sent_total"), 5, "punctures sent"},
		{value(t, fams, "walkie_packets_dropped_total", "reason=bad_magic"), 2, "bad_magic drops"},
		{value(t, fams, "walkie_packets_dropped_total", "reason=short"), 0, "short drops"},
		{value(t, fams, "walkie_peers", "state=verified"), 5, "verified"},
		{value(t, fams, "walkie_peers", "state=candidate"), 2, "candidates"},
		{value(t, fams, "walkie_first_peer_seconds"), 1.5, "first peer"},
		{value(t, fams, "walkie_introduction_rtt_seconds"), 2, "RTT samples"},
		{value(t, fams, "walkie_punctures_total", "result=success"), 2, "successes"},
		{value(t, fams, "walkie_punctures_total", "result=failure"), 1, "failures"},
		{value(t, fams, "walkie_community_members", "community=chat"), 4, "chat members"},
		{value(t, fams, "walkie_community_messages_total", "community=chat", "type=1", "direction=in"), 2, "chat in"},
		{value(t, fams, "walkie_community_messages_total", "community=chat", "type=1", "direction=out"), 1, "chat out"},
		{value(t, fams, "walkie_community_messages_total", "community=other", "type=7", "direction=in"), 2, "other in"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if n := len(fams["walkie_community_members"].GetMetric()); n != 1 {
		t.Errorf("%d members series, want 1 (unknown communities must not add labels)", n)
	}
	if n := len(fams["walkie_community_messages_total"].GetMetric()); n != 3 {
		t.Errorf("%d community message series, want 3", n)
	}
}

// TestWANInfoOneSeries checks that walkie_wan_address_info always has
// exactly one series per family it was told of (IPv4 from the start), with
// the latest labels.
func TestWANInfoOneSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, nil)
	m.WAN(core.IPv4, netip.MustParseAddrPort("203.0.113.5:1873"), core.NATCone)
	m.WAN(core.IPv4, netip.MustParseAddrPort("203.0.113.9:4000"), core.NATCone)
	m.WAN(core.IPv4, netip.AddrPort{}, core.NATSymmetric)
	fams := gather(t, reg)
	if n := len(fams["walkie_wan_address_info"].GetMetric()); n != 1 {
		t.Fatalf("%d wan_address_info series, want 1", n)
	}
	value(t, fams, "walkie_wan_address_info", "family=ipv4", "address=", "nat=symmetric")
	m.WAN(core.IPv4, netip.MustParseAddrPort("198.51.100.7:1873"), core.NATPublic)
	m.WAN(core.IPv6, netip.MustParseAddrPort("[2001:db8::7]:1873"), core.NATPublic)
	fams = gather(t, reg)
	if n := len(fams["walkie_wan_address_info"].GetMetric()); n != 2 {
		t.Fatalf("%d wan_address_info series after IPv6, want 2", n)
	}
	value(t, fams, "walkie_wan_address_info", "family=ipv4", "address=198.51.100.7:1873", "nat=public")
	value(t, fams, "walkie_wan_address_info", "family=ipv6", "address=[2001:db8::7]:1873", "nat=public")
}

// TestLint runs Prometheus' own linter (naming, units, help) over every
// walkie series.
func TestLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, []string{"chat"})
	m.CommunityMessage("chat", 1, core.Inbound)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(fams).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestTwoNodesOneProcess checks that nothing is package-global: two
// Metrics on two registries do not share values.
func TestTwoNodesOneProcess(t *testing.T) {
	r1, r2 := prometheus.NewRegistry(), prometheus.NewRegistry()
	a, _ := New(r1, nil), New(r2, nil)
	a.Add(core.IntroRequestsSent, 1)
	if v := value(t, gather(t, r2), "walkie_introduction_requests_sent_total"); v != 0 {
		t.Fatalf("second registry sees %v", v)
	}
}

// TestConcurrent hammers every method from several goroutines; run with
// -race. The lazily created community counters are the racy part.
func TestConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, []string{"chat", "game"})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				m.Add(core.IntroRequestsReceived, 1)
				m.Drop(core.DropQueueFull)
				m.CommunityMessage([]string{"chat", "game", "x"}[i%3], uint8(i), core.Direction(g%2))
				m.Peers(i, g)
				m.WAN(core.IPv4, netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(g)}), 1), core.NATCone)
			}
		})
	}
	for range 20 {
		if _, err := reg.Gather(); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
	fams := gather(t, reg)
	if v := value(t, fams, "walkie_introduction_requests_received_total"); v != 8000 {
		t.Errorf("requests received = %v, want 8000", v)
	}
	var total float64
	for _, s := range fams["walkie_community_messages_total"].GetMetric() {
		total += s.GetCounter().GetValue()
	}
	if total != 8000 {
		t.Errorf("community messages = %v, want 8000", total)
	}
	if n := len(fams["walkie_wan_address_info"].GetMetric()); n != 1 {
		t.Errorf("%d wan_address_info series, want 1", n)
	}
}
