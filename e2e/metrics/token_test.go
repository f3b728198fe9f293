//go:build e2e

package metrics

import (
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestPrometheusWithToken: a node whose -http listens beyond loopback asks
// for its token on /metrics too; a real Prometheus scrapes it with the
// authorization block that docs/metrics.md shows, and fails without it.
func TestPrometheusWithToken(t *testing.T) {
	promBin := need(t, "prometheus", "prometheus")
	data := t.TempDir()
	n := startNode(t, "open", "127.0.0.1", "-http", "0.0.0.0:0", "-data", data)
	_, port, _ := net.SplitHostPort(n.http) // [::]:PORT
	target := "127.0.0.1:" + port
	jobs := fmt.Sprintf(`  - job_name: with-token
    authorization:
      credentials_file: %q
    static_configs:
      - targets: [%q]
  - job_name: without-token
    static_configs:
      - targets: [%q]
`, filepath.Join(data, "http-token"), target, target)
	prom := runPrometheus(t, promBin, jobs)
	if !poll(30*time.Second, func() bool {
		return prom.scalar(t, `up{job="with-token"}`) == 1 && len(prom.query(t, `up{job="without-token"}`)) == 1
	}) {
		t.Fatalf("Prometheus did not scrape both jobs: %v", prom.query(t, `up`))
	}
	if got := prom.scalar(t, `up{job="without-token"}`); got != 0 {
		t.Errorf(`up{job="without-token"} = %v, want 0: /metrics answered without the token`, got)
	}
	if got := prom.scalar(t, `count(walkie_peers{job="with-token"})`); got != 2 {
		t.Errorf(`count(walkie_peers{job="with-token"}) = %v, want 2`, got)
	}
}
