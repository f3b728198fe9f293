//go:build e2e

package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dashboardVars stands in for Grafana's variables, as Grafana would expand
// them for "all nodes" and a short range.
var dashboardVars = strings.NewReplacer("$instance", ".*", "$__rate_interval", "1m", "$__range", "5m")

// checkDashboard runs every query of docs/grafana-dashboard.json against a
// Prometheus that scrapes real nodes: each must parse and, unless it filters
// (a "> 0" that is empty on a healthy network), return data. A renamed
// series or a typo in the dashboard fails here, not on an operator's screen.
// The panels of the Fleet row need a collector's /metrics/fleet: they are
// checked when fleet says Prometheus scrapes one (TestFleetPrometheus).
func checkDashboard(t *testing.T, prom *prometheus, fleet bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	// rate() needs two samples in its window: wait for three scrapes.
	if !poll(15*time.Second, func() bool { return prom.scalar(t, `min(count_over_time(up[1m]))`) >= 3 }) {
		t.Fatal("Prometheus did not scrape every node three times within 15 s")
	}
	queries, row, fleetPanels := 0, "", 0
	for _, p := range dash.Panels {
		if p.Type == "row" {
			row = p.Title
		}
		if row == "Fleet" && p.Type != "row" {
			if fleetPanels++; !fleet {
				continue
			}
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			q := dashboardVars.Replace(tg.Expr)
			queries++
			if res := prom.query(t, q); len(res) == 0 && !strings.HasSuffix(q, "> 0") {
				t.Errorf("dashboard panel %q: %s returns nothing", p.Title, q)
			}
		}
	}
	if queries < 10 || fleetPanels < 5 {
		t.Errorf("the dashboard has only %d queries here, %d fleet panels", queries, fleetPanels)
	}
	if !fleet {
		t.Logf("the %d panels of the Fleet row are checked by TestFleetPrometheus", fleetPanels)
	}
}
