//go:build e2e

package metrics

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// fleetInterval is the reporters' interval in these tests, set through the
// test-only environment variable (docs/metrics.md): a minute would make the
// test take minutes.
const fleetInterval = time.Second

// fleetPeers returns the peer labels of the walkie_peers series in the
// collector's /metrics/fleet, which must parse as Prometheus parses it.
func fleetPeers(t *testing.T, coll *node) []string {
	t.Helper()
	body, err := get("http://" + coll.http + "/metrics/fleet")
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics/fleet does not parse: %v\n%s", err, body)
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

// TestFleetPrometheus: a collector on 127.0.0.1 and three nodes that report
// to it, all real processes. promtool passes the fleet exposition; a real
// Prometheus that scrapes only the collector (its /metrics and its
// /metrics/fleet, with the scrape config of docs/metrics.md) has
// walkie_peers for exactly the three, each with its peer label, and every
// query of the dashboard's Fleet row works. A reporter that stops leaves
// the fleet within three intervals, and Prometheus' answer a scrape later.
func TestFleetPrometheus(t *testing.T) {
	promBin := need(t, "prometheus", "prometheus")
	promtool := need(t, "promtool", "prometheus")
	env := []string{fmt.Sprintf("WALKIE_FLEET_TEST_INTERVAL=%ds", fleetInterval/time.Second)}
	coll := startNodeEnv(t, "collector", "127.0.0.1", env, "-collector", "-communities", "")
	var reporters []*node
	var want []string
	for i := range 3 {
		r := startNodeEnv(t, fmt.Sprintf("r%d", i+1), fmt.Sprintf("127.0.0.%d", i+2), env, "-report-to", coll.peerID+"@"+coll.lan)
		reporters = append(reporters, r)
		want = append(want, r.peerID)
	}
	slices.Sort(want)
	if !poll(15*time.Second, func() bool { return slices.Equal(fleetPeers(t, coll), want) }) {
		t.Fatalf("/metrics/fleet has walkie_peers of %v, want %v", fleetPeers(t, coll), want)
	}

	for _, path := range []string{"/metrics/fleet", "/metrics"} {
		body, err := get("http://" + coll.http + path)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics on the collector's %s: %v\n%s", path, err, out)
		}
	}

	prom := runPrometheus(t, promBin, fmt.Sprintf(`  - job_name: walkie
    static_configs:
      - targets: [%[1]q]
  - job_name: walkie-fleet
    metrics_path: /metrics/fleet
    static_configs:
      - targets: [%[1]q]
    metric_relabel_configs:
      - source_labels: [peer]
        target_label: instance
`, coll.http))
	const q = `walkie_peers{job="walkie-fleet",state="verified"}`
	peersIn := func() []string {
		var ids []string
		for _, s := range prom.query(t, q) {
			if s.Metric["instance"] != s.Metric["peer"] {
				t.Errorf("series %v: instance is not its peer", s.Metric)
			}
			ids = append(ids, s.Metric["peer"])
		}
		slices.Sort(ids)
		return ids
	}
	if !poll(20*time.Second, func() bool { return slices.Equal(peersIn(), want) }) {
		t.Fatalf("%s: peers %v, want %v", q, peersIn(), want)
	}
	var reporting float64 // the collector's own count, scraped by the other job
	if !poll(10*time.Second, func() bool { reporting = prom.scalar(t, `walkie_fleet_reporters{job="walkie"}`); return reporting == 3 }) {
		t.Errorf("walkie_fleet_reporters = %v, want 3", reporting)
	}
	checkDashboard(t, prom, true)

	// One reporter stops: gone from the fleet within three intervals, and
	// from Prometheus' answer a scrape (1 s) later.
	gone := reporters[2]
	gone.cmd.Process.Signal(syscall.SIGTERM)
	<-gone.exited
	stopped := time.Now()
	rest := slices.DeleteFunc(slices.Clone(want), func(id string) bool { return id == gone.peerID })
	if !poll(3*fleetInterval+500*time.Millisecond, func() bool { return slices.Equal(fleetPeers(t, coll), rest) }) {
		t.Errorf("%s still in /metrics/fleet %v after it stopped", gone.name, time.Since(stopped))
	}
	fleetGone := time.Since(stopped)
	if !poll(3*fleetInterval+2*time.Second, func() bool { return slices.Equal(peersIn(), rest) }) {
		t.Errorf("%s still in Prometheus' %s %v after it stopped: %v", gone.name, q, time.Since(stopped), peersIn())
	}
	t.Logf("a stopped reporter left /metrics/fleet after %v and Prometheus' answer after %v (interval %v, scrapes every 1 s)",
		fleetGone.Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond), fleetInterval)
	if got := strings.Join(peersIn(), ","); got != strings.Join(rest, ",") {
		t.Errorf("peers at the end %s, want %s", got, strings.Join(rest, ","))
	}
}
