package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/plugins/chat"
)

// TestHTTPStatus checks GET /status: JSON with the contract's fields.
func TestHTTPStatus(t *testing.T) {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := httptest.NewServer(newHandler(func() core.Status {
		return core.Status{
			PeerID: "11111111-2222-3333-4444-555555555555", LAN: "10.0.0.2:1873", NAT: "unknown",
			Peers:       []core.PeerStatus{{ID: "p", Addr: "10.0.0.3:1873", Verified: true, LastSeenMS: 12, Communities: []string{"chat"}}},
			Communities: []core.CommunityStatus{{Name: "chat", ID: "c", Members: 1}},
			StartedAt:   started,
		}
	}, nil, nil, nil, nil))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"peer_id", "lan", "wan", "nat", "peers", "communities", "started_at", "first_peer_ms"} {
		if _, ok := got[k]; !ok {
			t.Errorf("field %q missing from %v", k, got)
		}
	}
	if got["peer_id"] != "11111111-2222-3333-4444-555555555555" || got["first_peer_ms"] != nil || got["started_at"] != "2026-01-02T03:04:05Z" {
		t.Errorf("got %v", got)
	}
	peers, _ := got["peers"].([]any)
	if len(peers) != 1 || peers[0].(map[string]any)["verified"] != true {
		t.Errorf("peers = %v", got["peers"])
	}
}

// TestHTTPRoutes checks the answers to other paths and methods.
func TestHTTPRoutes(t *testing.T) {
	srv := httptest.NewServer(newHandler(func() core.Status { return core.Status{PeerID: "x"} }, nil, nil, nil, nil))
	defer srv.Close()
	tests := []struct {
		method, path string
		code         int
		body         string // a substring of the body
	}{
		{"GET", "/status", 200, `"peer_id":"x"`},
		{"HEAD", "/status", 200, ""},
		{"POST", "/status", 405, ""},
		{"DELETE", "/status", 405, ""},
		{"GET", "/", 200, "<title>walkie node</title>"},
		{"GET", "/page/app.js", 200, "'/status'"},
		{"GET", "/page/", 404, ""},
		{"GET", "/page/nothing.js", 404, ""},
		{"GET", "/index.html", 404, ""},
		{"POST", "/", 405, ""},
		{"GET", "/metrics", 404, ""}, // no monitor in this test
		{"GET", "/history", 404, ""},
		{"GET", "/status/extra", 404, ""},
		{"POST", "/nothing", 404, ""},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.body) {
			t.Errorf("%s %s: %d %q, want %d with %q", tt.method, tt.path, resp.StatusCode, b, tt.code, tt.body)
		}
		if tt.method == "HEAD" && len(b) != 0 {
			t.Errorf("HEAD returned a body: %q", b)
		}
		if tt.code == 405 && !strings.Contains(resp.Header.Get("Allow"), "GET") {
			t.Errorf("%s %s: Allow = %q", tt.method, tt.path, resp.Header.Get("Allow"))
		}
		// Every error is JSON {"error": "..."}, the catch-all's too.
		if tt.code >= 400 && tt.method != "HEAD" {
			var e struct{ Error string }
			if json.Unmarshal(b, &e) != nil || e.Error == "" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s: %d %q is not a JSON error", tt.method, tt.path, resp.StatusCode, b)
			}
		}
	}
}

// apiCommunity serves a local API that answers with the path it sees.
type apiCommunity struct{ announceOnly }

func (apiCommunity) API() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "saw "+r.URL.Path) })
}

// noAPICommunity is an APIServer whose API turns out to be nil, as a
// plugin's is when the plugin serves none.
type noAPICommunity struct{ announceOnly }

func (noAPICommunity) API() http.Handler { return nil }

// TestHTTPMountsAPIs: a community's API gets /api/NAME and what is under
// it, with the full path, and nothing else; a nil API gets nothing.
func TestHTTPMountsAPIs(t *testing.T) {
	comms := []community.Community{apiCommunity{"ping"}, announceOnly("quiet"), noAPICommunity{"none"}}
	srv := httptest.NewServer(newHandler(func() core.Status { return core.Status{} }, nil, comms, nil, nil))
	defer srv.Close()
	for path, want := range map[string]string{
		"/api/ping": "saw /api/ping", "/api/ping/": "saw /api/ping/", "/api/ping/a/b": "saw /api/ping/a/b",
		"/api/pingpong": "404", "/api/quiet": "404", "/api": "404", "/api/": "404", "/status": `"peer_id"`,
		"/api/none": "404", "/api/none/x": "404",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := string(b); !strings.Contains(got, want) && !(want == "404" && resp.StatusCode == 404) {
			t.Errorf("GET %s: %d %q, want %s", path, resp.StatusCode, got, want)
		}
	}
}

// TestHTTPShutdownEndsStreams: the server shuts down at once, not after
// httpShutdownTimeout, while a client holds the chat's event stream open.
func TestHTTPShutdownEndsStreams(t *testing.T) {
	c, err := chat.New(chat.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := newHTTPServer(base, newHandler(func() core.Status { return core.Status{} }, nil, []community.Community{c}, nil, nil))
	ln, err := listenHTTP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/chat/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || !strings.HasPrefix(line, ":") {
		t.Fatalf("stream starts with %q, %v", line, err)
	}

	cancel() // what serve does before Shutdown
	ctx, scancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer scancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown after %v: %v", time.Since(start), err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Errorf("Serve: %v", err)
	}
}
