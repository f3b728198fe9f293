//go:build natlab

package natlab

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/walkie-p2p/walkie/e2e/internal/e2etest"
)

// fleetInterval is the reporters' interval here, through the test-only
// environment variable (docs/metrics.md): the default minute would make
// the scenario take minutes.
const fleetInterval = 2 * time.Second

// fleetView is what a collector's /metrics/fleet says of each reporter:
// its NAT type (walkie_wan_address_info's nat label), by peer ID.
func fleetView(t *testing.T, coll *node) map[string]string {
	t.Helper()
	b, err := e2etest.Get(coll.client, "http://"+httpAddr+"/metrics/fleet")
	if err != nil {
		return nil // not answering yet
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("/metrics/fleet does not parse: %v\n%s", err, b)
	}
	view := map[string]string{}
	for _, m := range fams["walkie_peers"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "peer" {
				view[l.GetValue()] = ""
			}
		}
	}
	for _, m := range fams["walkie_wan_address_info"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if _, ok := view[labels["peer"]]; ok {
			view[labels["peer"]] = labels["nat"]
		}
	}
	return view
}

// TestFleet: a public collector, two hosts behind port-restricted cone
// NATs and one behind a symmetric NAT that report to it (one in the mobile
// profile), and a cone host that knows the collector and does not report.
// Within 15 s the collector's /metrics/fleet holds exactly the three,
// each with its peer label, and the cone hosts' reports say "cone" within
// 20 s; the host that does not report is the collector's peer and not in
// the fleet. A reporter that stops leaves it within three intervals. The
// real Prometheus part of the fleet is e2e/metrics' TestFleetPrometheus.
func TestFleet(t *testing.T) {
	l := newLab(t, "coll:public a:cone b:cone s:symmetric q:cone", options{})
	env := []string{"env", fmt.Sprintf("WALKIE_FLEET_TEST_INTERVAL=%ds", fleetInterval/time.Second)}
	coll := l.launchWith("coll", "", runner{prefix: env, args: []string{"-collector"}})
	coll.waitReady(t)
	to := []string{"-report-to", coll.peerID + "@" + l.bootAddr("coll")}
	nodes := map[string]*node{
		"a": l.launchWith("a", "", runner{prefix: env, args: to}),
		"b": l.launchWith("b", "", runner{prefix: env, args: append([]string{"-profile", "mobile"}, to...)}),
		"s": l.launchWith("s", "", runner{prefix: env, args: to}),
		"q": l.launch("q", "", l.bootAddr("coll")),
	}
	start := time.Now()
	for _, n := range nodes {
		n.waitReady(t)
	}
	want := []string{nodes["a"].peerID, nodes["b"].peerID, nodes["s"].peerID}
	slices.Sort(want)
	var view map[string]string
	if !e2etest.Poll(15*time.Second, 100*time.Millisecond, func() bool {
		view = fleetView(t, coll)
		return slices.Equal(slices.Sorted(maps.Keys(view)), want)
	}) {
		t.Fatalf("/metrics/fleet has %v, want a, b and s: %v", view, want)
	}
	t.Logf("the three reporters in the fleet after %.2fs", time.Since(start).Seconds())
	cones := func() bool {
		view = fleetView(t, coll)
		return view[nodes["a"].peerID] == "cone" && view[nodes["b"].peerID] == "cone"
	}
	if !e2etest.Poll(20*time.Second, 200*time.Millisecond, cones) {
		t.Errorf("the cone hosts' reports say %q and %q, want cone", view[nodes["a"].peerID], view[nodes["b"].peerID])
	}
	st, err := coll.status()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.peer(nodes["q"].peerID); !ok {
		t.Errorf("q, which does not report, is not the collector's peer: the scenario proves nothing about it")
	}
	if _, ok := view[nodes["q"].peerID]; ok {
		t.Errorf("q, which does not report, is in the fleet")
	}
	t.Logf("NAT types in the fleet: a %q, b %q, s %q", view[nodes["a"].peerID], view[nodes["b"].peerID], view[nodes["s"].peerID])

	nodes["b"].stop(t) // just after a report: the cone check passed on one
	stopped := time.Now()
	rest := []string{nodes["a"].peerID, nodes["s"].peerID}
	slices.Sort(rest)
	if !e2etest.Poll(3*fleetInterval+500*time.Millisecond, 100*time.Millisecond, func() bool {
		return slices.Equal(slices.Sorted(maps.Keys(fleetView(t, coll))), rest)
	}) {
		t.Fatalf("b still in the fleet %v after it stopped: %v", time.Since(stopped), strings.Join(slices.Sorted(maps.Keys(fleetView(t, coll))), ", "))
	}
	t.Logf("b left the fleet %.2fs after it stopped (interval %v)", time.Since(stopped).Seconds(), fleetInterval)
}
