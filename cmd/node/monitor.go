package main

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/prommetrics"
	"github.com/walkie-p2p/walkie/plugins/httpjson"
)

// monitor is what the HTTP server shows besides /status: the node's own
// Prometheus registry (served at /metrics) and a short history of the peer
// table's size (the chart on the status page, served at /history).
type monitor struct {
	reg     *prometheus.Registry
	hist    *peerHistory
	metrics core.Metrics // for core.Config.Metrics
}

// newMonitor makes the node's registry, with Go runtime and process
// collectors, and its metrics, labelled with the communities it runs, and
// the plugin host's counters for the communities that are plugins.
func newMonitor(communities []community.Community) *monitor {
	names := make([]string, len(communities))
	for i, c := range communities {
		names[i] = c.Name()
	}
	reg := prommetrics.NewRegistry()
	reg.MustRegister(newPluginCollector(communities))
	hist := newPeerHistory(time.Now())
	return &monitor{reg: reg, hist: hist, metrics: historyMetrics{prommetrics.New(reg, names), hist}}
}

// historyMetrics is the node's core.Metrics: Prometheus, plus every change of
// the peer counts recorded for the chart. Recording here, where the core
// reports a change, needs no sampling goroutine and misses no short dip.
type historyMetrics struct {
	*prommetrics.Metrics
	hist *peerHistory
}

// Peers implements core.Metrics.
func (m historyMetrics) Peers(verified, candidates int) {
	m.Metrics.Peers(verified, candidates)
	m.hist.add(time.Now(), verified, candidates)
}

// History bounds. The page draws the last historyWindow; a point is kept per
// change, and changes closer than historyMerge overwrite each other, so
// historyLen points cover the window even on a busy node.
const (
	historyLen    = 1024
	historyWindow = 15 * time.Minute
	historyMerge  = 500 * time.Millisecond
)

// peerHistory is a ring of peer-count changes.
type peerHistory struct {
	mu   sync.Mutex
	pts  [historyLen]histPoint
	n    int // points held, <= historyLen
	next int // where the next point goes
}

// histPoint is one change: at T (Unix ms) the table held V verified peers
// and C candidates. It encodes as [T, V, C] to keep /history small.
type histPoint struct {
	T    int64
	V, C int
}

// MarshalJSON implements json.Marshaler.
func (p histPoint) MarshalJSON() ([]byte, error) {
	return json.Marshal([3]int64{p.T, int64(p.V), int64(p.C)})
}

// newPeerHistory starts with an empty table at now.
func newPeerHistory(now time.Time) *peerHistory {
	h := &peerHistory{}
	h.add(now, 0, 0)
	return h
}

// add records the counts at now, unless they did not change.
func (h *peerHistory) add(now time.Time, verified, candidates int) {
	p := histPoint{T: now.UnixMilli(), V: verified, C: candidates}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n > 0 {
		lastIdx := (h.next - 1 + historyLen) % historyLen
		last := &h.pts[lastIdx]
		switch {
		case last.V == verified && last.C == candidates:
			return // the walker reports every tick; only changes matter
		case h.n > 1 && p.T-last.T < historyMerge.Milliseconds():
			*last = p
			return
		}
	}
	h.pts[h.next] = p
	h.next = (h.next + 1) % historyLen
	h.n = min(h.n+1, historyLen)
}

// since returns the points after from, oldest first, led by the last point
// before from (the level the window starts at).
func (h *peerHistory) since(from time.Time) []histPoint {
	cut := from.UnixMilli()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]histPoint, 0, h.n)
	for i := range h.n {
		p := h.pts[(h.next-h.n+i+historyLen)%historyLen]
		if p.T < cut && len(out) > 0 {
			out[0] = p // a later point before the window: the new start level
			continue
		}
		out = append(out, p)
	}
	return out
}

// serveHistory answers GET /history: {"now_ms": ..., "points": [[t, verified,
// candidates], ...]} for the last historyWindow.
func (h *peerHistory) serveHistory(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	httpjson.Write(w, http.StatusOK, struct {
		NowMS  int64       `json:"now_ms"`
		Points []histPoint `json:"points"`
	}{now.UnixMilli(), h.since(now.Add(-historyWindow))})
}
