package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
)

// get fetches url and returns the response and its body.
func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestHTTPMetrics checks that /metrics serves the node's own registry: what
// the core reports through mon.metrics, and the runtime collectors.
func TestHTTPMetrics(t *testing.T) {
	mon := newMonitor([]community.Community{announceOnly("chat")})
	mon.metrics.Add(core.PuncturesSent, 3)
	mon.metrics.Peers(2, 1)
	mon.metrics.Members("chat", 2)
	srv := httptest.NewServer(newHandler(func() core.Status { return core.Status{} }, mon, nil, nil, nil))
	defer srv.Close()

	resp, body := get(t, srv.URL+"/metrics")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"\nwalkie_punctures_sent_total 3\n",
		"\nwalkie_peers{state=\"verified\"} 2\n",
		"\nwalkie_peers{state=\"candidate\"} 1\n",
		"\nwalkie_community_members{community=\"chat\"} 2\n",
		"\nwalkie_packets_dropped_total{reason=\"queue_full\"} 0\n",
		"\ngo_goroutines ",
		"\nprocess_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestHTTPPage checks the status page and that everything it references is
// served, with a type the browser accepts under nosniff and the page's CSP.
func TestHTTPPage(t *testing.T) {
	srv := httptest.NewServer(newHandler(func() core.Status { return core.Status{} }, newMonitor(nil), nil, nil, nil))
	defer srv.Close()
	resp, body := get(t, srv.URL+"/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("the page references another host")
	}
	refs := regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(body, -1)
	if len(refs) < 3 {
		t.Fatalf("found only %d references in the page", len(refs))
	}
	types := map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
	for _, ref := range refs {
		path := ref[1]
		resp, _ := get(t, srv.URL+path)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
			continue
		}
		for ext, want := range types {
			if strings.HasSuffix(path, ext) && !strings.HasPrefix(resp.Header.Get("Content-Type"), want) {
				t.Errorf("GET %s: Content-Type %q, want %s", path, resp.Header.Get("Content-Type"), want)
			}
		}
	}
	// The scripts are modules: every one that app.js imports, and they
	// import, is served as JavaScript.
	scripts := map[string]string{}
	queue := []string{"app.js"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if _, ok := scripts[name]; ok {
			continue
		}
		resp, js := get(t, srv.URL+"/page/"+name)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("GET /page/%s: %d, Content-Type %q", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		scripts[name] = js
		for _, m := range regexp.MustCompile(`from '\./([a-z]+\.js)'`).FindAllStringSubmatch(js, -1) {
			queue = append(queue, m[1])
		}
	}
	// The scripts fetch these; a renamed route would leave the page blank.
	for name, routes := range map[string][]string{
		"app.js":  {"'/status'", "'/metrics'", "'/history'", "'/login'"},
		"chat.js": {"'/api/chat'", "'/api/chat/stream'"},
		"game.js": {"'/api/game/stream'", "'/api/game/games'", "'/api/game/scores'", "'/api/game/move'", "'/api/game/challenge'"},
	} {
		for _, route := range routes {
			if !strings.Contains(scripts[name], route) {
				t.Errorf("%s does not fetch %s", name, route)
			}
		}
	}
}

// TestHTTPHistory checks /history after the core reported peer counts.
func TestHTTPHistory(t *testing.T) {
	mon := newMonitor(nil)
	mon.metrics.Peers(1, 2)
	srv := httptest.NewServer(newHandler(func() core.Status { return core.Status{} }, mon, nil, nil, nil))
	defer srv.Close()
	_, body := get(t, srv.URL+"/history")
	var h struct {
		NowMS  int64      `json:"now_ms"`
		Points [][3]int64 `json:"points"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(h.Points) != 2 || h.Points[0][1] != 0 || h.Points[1][1] != 1 || h.Points[1][2] != 2 {
		t.Fatalf("points = %v, want the start [t,0,0] and [t,1,2]", h.Points)
	}
	if h.NowMS < h.Points[1][0] {
		t.Errorf("now_ms %d before the last point %d", h.NowMS, h.Points[1][0])
	}
}

// TestPeerHistory checks the ring: unchanged counts add nothing, changes
// within historyMerge overwrite each other, the window keeps the level it
// starts at, and the ring wraps.
func TestPeerHistory(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	h := newPeerHistory(t0)
	h.add(t0.Add(time.Second), 0, 0) // no change
	h.add(t0.Add(2*time.Second), 1, 0)
	h.add(t0.Add(2*time.Second+100*time.Millisecond), 2, 0) // merged
	h.add(t0.Add(10*time.Second), 2, 3)
	got := h.since(t0)
	want := []histPoint{{t0.UnixMilli(), 0, 0}, {t0.Add(2100 * time.Millisecond).UnixMilli(), 2, 0}, {t0.Add(10 * time.Second).UnixMilli(), 2, 3}}
	if len(got) != len(want) {
		t.Fatalf("since = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("since = %v, want %v", got, want)
		}
	}
	// A window starting at 5 s begins with the level that held then.
	if got := h.since(t0.Add(5 * time.Second)); len(got) != 2 || got[0].V != 2 || got[0].C != 0 {
		t.Fatalf("since(5s) = %v", got)
	}
	for i := range 3 * historyLen {
		h.add(t0.Add(time.Minute+time.Duration(i)*time.Second), i%5+1, 0)
	}
	all := h.since(time.Time{})
	if len(all) != historyLen {
		t.Fatalf("%d points after wrapping, want %d", len(all), historyLen)
	}
	for i := 1; i < len(all); i++ {
		if all[i].T <= all[i-1].T {
			t.Fatalf("points out of order at %d: %v then %v", i, all[i-1], all[i])
		}
	}
}

// crashyPlugin stands in for a *host.Plugin that has been restarted and has
// dropped messages.
type crashyPlugin struct{ announceOnly }

func (crashyPlugin) Dropped() int64  { return 7 }
func (crashyPlugin) Restarts() int64 { return 2 }

// TestPluginMetrics: /metrics carries the plugin host's counters, one series
// per plugin community and none for in-process communities.
func TestPluginMetrics(t *testing.T) {
	mon := newMonitor([]community.Community{announceOnly("chat"), crashyPlugin{"game"}})
	srv := httptest.NewServer(newHandler(func() core.Status { return core.Status{} }, mon, nil, nil, nil))
	defer srv.Close()
	_, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		"\nwalkie_plugin_messages_dropped_total{community=\"game\"} 7\n",
		"\nwalkie_plugin_restarts_total{community=\"game\"} 2\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `walkie_plugin_restarts_total{community="chat"}`) {
		t.Error("an in-process community has plugin series")
	}
}
