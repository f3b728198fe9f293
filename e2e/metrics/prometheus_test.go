//go:build e2e

package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/core"
)

// TestPrometheusScrapesNodes runs a real Prometheus against three nodes and
// asks its HTTP API what it scraped: the series exist with their
// pre-initialised labels, punctures happened across the network, every
// query of the Grafana dashboard works, and each node's
// walkie_peers{state="verified"} is what its /status says. promtool checks
// every node's exposition.
func TestPrometheusScrapesNodes(t *testing.T) {
	promBin := need(t, "prometheus", "prometheus")
	promtool := need(t, "promtool", "prometheus")
	nodes := startNetwork(t)

	for _, n := range nodes {
		body, err := get("http://" + n.http + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics on %s: %v\n%s", n.name, err, out)
		}
	}

	prom := startPrometheus(t, promBin, nodes)
	if !poll(30*time.Second, func() bool { return len(prom.query(t, `up == 1`)) == len(nodes) }) {
		t.Fatalf("Prometheus does not scrape all %d nodes: up = %v", len(nodes), prom.query(t, `up`))
	}

	// Every series of the contract, with its whole label set from the start.
	for _, c := range []struct {
		query string
		want  float64
	}{
		{`count(walkie_introduction_requests_sent_total)`, 3},
		{`count(walkie_packets_dropped_total)`, float64(3 * len(core.DropReasons()))}, // every drop reason on every node
		{`count(walkie_peers)`, 3 * 2},
		{`count(walkie_wan_address_info{family="ipv4"} == 1)`, 3},
		{`count(walkie_punctures_total)`, 3 * 2},
		{`count(walkie_community_members)`, 3 * 2}, // chat and game
		{`count(walkie_first_peer_seconds > 0)`, 3},
		{`count(walkie_introduction_rtt_seconds_count > 0)`, 3},
		{`count(go_goroutines)`, 3},
		{`count(process_resident_memory_bytes)`, 3},
	} {
		if got := prom.scalar(t, c.query); got != c.want {
			t.Errorf("%s = %v, want %v", c.query, got, c.want)
		}
	}

	// Punctures happened: the bootstrap introduced n3 to n2. Prometheus'
	// sum can only lag the nodes' own counters, never exceed them.
	var punctures float64
	if !poll(10*time.Second, func() bool { punctures = prom.scalar(t, `sum(walkie_punctures_sent_total)`); return punctures > 0 }) {
		t.Errorf("sum(walkie_punctures_sent_total) = %v, want > 0", punctures)
	}
	var direct float64
	for _, n := range nodes {
		direct += scrapeValue(t, n, "walkie_punctures_sent_total")
	}
	if punctures > direct {
		t.Errorf("Prometheus has %v punctures sent, more than the nodes' own %v", punctures, direct)
	}
	t.Logf("punctures sent: %v in Prometheus, %v on the nodes now; puncture requests: %v; successes: %v",
		punctures, direct, prom.scalar(t, `sum(walkie_puncture_requests_sent_total)`),
		prom.scalar(t, `sum(walkie_punctures_total{result="success"})`))
	if got := prom.scalar(t, `sum(walkie_puncture_requests_sent_total)`); got < 1 {
		t.Errorf("sum(walkie_puncture_requests_sent_total) = %v, want >= 1", got)
	}

	checkDashboard(t, prom, false)

	// walkie_peers{state="verified"} of each node equals its /status.
	for _, n := range nodes {
		s, err := n.status()
		if err != nil {
			t.Fatal(err)
		}
		want := float64(len(s.verified()))
		q := fmt.Sprintf(`walkie_peers{state="verified",node=%q}`, n.name)
		var got float64
		if !poll(10*time.Second, func() bool { got = prom.scalar(t, q); return got == want }) {
			t.Errorf("%s = %v, /status has %v verified peers", q, got, want)
		}
	}
}

// prometheus is a running Prometheus server.
type prometheus struct{ base string }

// startPrometheus writes a config that scrapes every node each second and
// starts Prometheus on a free loopback port with its data in a temporary
// directory: our own process, not the Debian package's service. It returns
// once Prometheus is ready.
func startPrometheus(t *testing.T, bin string, nodes []*node) *prometheus {
	t.Helper()
	var cfg strings.Builder
	cfg.WriteString("  - job_name: walkie\n    static_configs:\n")
	for _, n := range nodes {
		fmt.Fprintf(&cfg, "      - targets: [%q]\n        labels: {node: %q}\n", n.http, n.name)
	}
	return runPrometheus(t, bin, cfg.String())
}

// runPrometheus is startPrometheus with the given scrape_configs entries,
// scraping each second.
func runPrometheus(t *testing.T, bin, jobs string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n" + jobs)
	cfgPath := filepath.Join(dir, "prom.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("prometheus config:\n%s\nprometheus log:\n%s", cfg.String(), logs.String())
		}
	})
	p := &prometheus{base: "http://" + addr}
	ready := poll(20*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		_, err := get(p.base + "/-/ready")
		return err == nil
	})
	select {
	case <-exited:
		t.Fatalf("prometheus exited: %v\n%s", cmd.ProcessState, logs.String())
	default:
	}
	if !ready {
		t.Fatal("prometheus not ready within 20 s")
	}
	return p
}

// sample is one series of an instant vector result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [time, "value"]
}

// query runs an instant query and returns the vector.
func (p *prometheus) query(t *testing.T, q string) []sample {
	t.Helper()
	b, err := get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	var r struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []sample `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Status != "success" || r.Data.ResultType != "vector" {
		t.Fatalf("query %s: %v %s", q, err, b)
	}
	return r.Data.Result
}

// scalar runs a query that must give at most one series and returns its
// value (0 for an empty result, as for a sum over nothing).
func (p *prometheus) scalar(t *testing.T, q string) float64 {
	t.Helper()
	res := p.query(t, q)
	switch len(res) {
	case 0:
		return 0
	case 1:
		s, _ := res[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %v: %v", q, res[0].Value, err)
		}
		return v
	}
	t.Fatalf("query %s: %d series, want one: %v", q, len(res), res)
	return 0
}

// scrapeValue returns the value of an unlabelled series in a node's own
// /metrics.
func scrapeValue(t *testing.T, n *node, name string) float64 {
	t.Helper()
	b, err := get("http://" + n.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", n.name, line, err)
			}
			return f
		}
	}
	t.Fatalf("%s: no %s in /metrics", n.name, name)
	return 0
}
