package fleet

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/prommetrics"
	"github.com/walkie-p2p/walkie/proto"
)

// nodeRegistry is a node's registry as bin/walkie makes it, with the
// communities given, a WAN address and some counts.
func nodeRegistry(communities ...string) *prometheus.Registry {
	reg := prommetrics.NewRegistry()
	m := prommetrics.New(reg, communities)
	m.Peers(8, 2)
	m.WAN(core.IPv6, netip.MustParseAddrPort("[2001:db8:1234:5678:9abc:def0:1234:5678]:1873"), core.NATCone)
	m.Add(core.IntroRequestsSent, 1234)
	m.Drop(core.DropQueueFull)
	m.Puncture(true)
	for _, c := range communities {
		m.Members(c, 3)
	}
	return reg
}

// The table names the node's own families, with their types and labels:
// a renamed series fails here, not in an operator's fleet view.
func TestFamiliesMatchTheNode(t *testing.T) {
	mfs, err := nodeRegistry("chat", "game").Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	for i, fam := range Families() {
		mf := byName[fam.Name]
		if mf == nil {
			t.Errorf("family %d: %s is not a series of the node", i, fam.Name)
			continue
		}
		want := map[Kind]dto.MetricType{Counter: dto.MetricType_COUNTER, Gauge: dto.MetricType_GAUGE}[fam.Kind]
		if mf.GetType() != want {
			t.Errorf("%s: the node's type is %v, the table's %v", fam.Name, mf.GetType(), fam.Kind)
		}
		for _, m := range mf.GetMetric() {
			var names []string
			for _, l := range m.GetLabel() {
				names = append(names, l.GetName())
			}
			if !slices.Equal(slices.Sorted(slices.Values(fam.Labels)), names) {
				t.Errorf("%s: the node's labels are %v, the table's %v", fam.Name, names, fam.Labels)
			}
		}
	}
	if n := len(Families()); n >= MaxFamilies {
		t.Errorf("%d families, at most %d", n, MaxFamilies)
	}
	for _, c := range core.Counters() {
		if !slices.ContainsFunc(Families(), func(f Family) bool { return f.Name == c.Name() }) {
			t.Errorf("core counter %s is not reported", c.Name())
		}
	}
}

// A node with two communities reports every series of the table in one
// datagram; with the most communities a node may run it still fits in
// two.
func TestReportOfANode(t *testing.T) {
	for _, c := range []struct {
		communities []string
		parts       int
	}{
		{[]string{"chat", "game", "fleet"}, 1},
		{manyCommunities(proto.MaxCommunities), 2},
	} {
		f, err := New(Config{ReportTo: proto.ID(uuid.New()), Gatherer: nodeRegistry(c.communities...)})
		if err != nil {
			t.Fatal(err)
		}
		series, err := f.gather()
		if err != nil {
			t.Fatal(err)
		}
		// Counters, drops by reason, peers by state, the WAN of IPv4 and
		// IPv6, the first peer, members by community, punctures by result.
		want := len(core.Counters()) + len(core.DropReasons()) + 2 + 2 + 1 + len(c.communities) + 2
		if len(series) != want {
			t.Errorf("%d communities: %d series, want %d", len(c.communities), len(series), want)
		}
		parts, omitted := EncodeReport(1, DefaultInterval, series)
		size := 0
		for _, p := range parts {
			size += len(p)
		}
		t.Logf("%d communities: %d series in %d bytes, %d datagrams", len(c.communities), len(series), size, len(parts))
		if omitted != 0 || len(parts) > c.parts {
			t.Errorf("%d communities: %d parts, %d omitted; want at most %d parts", len(c.communities), len(parts), omitted, c.parts)
		}
	}
}

// manyCommunities returns n names of 32 bytes, the longest allowed.
func manyCommunities(n int) []string {
	var out []string
	for i := range n {
		out = append(out, uuid.NewSHA1(uuid.Nil, []byte{byte(i)}).String()[:32])
	}
	return out
}
