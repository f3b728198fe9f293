package host_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/walkie-p2p/walkie/plugins/host"
	"github.com/walkie-p2p/walkie/plugins/httpjson"
	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

// serveAPI serves p's API as a node does: behind a shared cap on streams
// (of n).
func serveAPI(t *testing.T, p *host.Plugin, n int) *httptest.Server {
	t.Helper()
	h := p.API()
	if h == nil {
		t.Fatal("the plugin serves no API")
	}
	streams := httpjson.NewStreams(n, time.Second)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(httpjson.WithStreams(r.Context(), streams)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// call makes a request and returns the status, the headers and the body
// decoded as a JSON object (nil if it is none).
func call(t *testing.T, method, url, body string, hdr map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

// A request reaches the plugin's handler whole, without the node's token,
// and its answer comes back whole, without the cookie the plugin tried to
// set.
func TestHTTPThroughPlugin(t *testing.T) {
	p, _, _, _ := load(t, host.Config{})
	srv := serveAPI(t, p, 4)
	code, hdr, out := call(t, "GET", srv.URL+"/api/echo/hello?a=1&b=2", "", map[string]string{
		"Authorization": "Bearer secret", "Cookie": "walkie_token_1874=secret"})
	if code != 200 || out["path"] != "/api/echo/hello" || out["query"] != "a=1&b=2" || !strings.HasPrefix(out["host"].(string), "127.0.0.1:") {
		t.Fatalf("hello: %d %v", code, out)
	}
	if out["authorization"] != "" || out["cookie"] != "" {
		t.Errorf("the plugin saw the node's token: %v", out)
	}
	if hdr.Get("Set-Cookie") != "" || hdr.Get("X-Content-Type-Options") != "nosniff" || hdr.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", hdr)
	}
	big := strings.Repeat("b", host.MaxHTTPRequestBody)
	if code, _, out := call(t, "POST", srv.URL+"/api/echo/body", big, nil); code != 200 || out["bytes"] != float64(len(big)) {
		t.Errorf("body: %d %v", code, out)
	}
	if code, hdr, out := call(t, "GET", srv.URL+"/api/echo/status", "", nil); code != http.StatusTeapot || hdr.Get("X-Echo") != "teapot" || out["error"] != "short and stout" {
		t.Errorf("status: %d %v %v", code, hdr, out)
	}
	// An answer of many pieces (the plugin sends 64 KiB at a time) comes
	// back whole, up to the limit.
	for _, n := range []int{0, 1, 200_001, host.MaxHTTPResponseBody} {
		resp, err := http.Get(srv.URL + "/api/echo/large?n=" + strconv.Itoa(n))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		ok := err == nil && resp.StatusCode == 200 && len(b) == n
		for i := 0; ok && i < n; i += 4099 {
			ok = b[i] == byte('a'+i%26)
		}
		if !ok {
			t.Errorf("large %d: %s, %d bytes, %v", n, resp.Status, len(b), err)
		}
	}
	if code, _, out := call(t, "GET", srv.URL+"/api/echo/none", "", nil); code != 404 {
		t.Errorf("unknown path: %d %v", code, out)
	}
}

// Every way a plugin's API can fail gets an answer, in JSON, in bounded
// time: 413 for a request over the limit, 504 for a handler that never
// answers, 502 for a panic, an answer too large or malformed, a plugin
// that dies mid-request or is down.
func TestHTTPFailures(t *testing.T) {
	// A timeout that a 4 MiB answer meets under the race detector on a
	// loaded machine, and a restart slow enough to see the plugin down.
	p, _, _, _ := load(t, host.Config{HTTPTimeout: 3 * time.Second, MinBackoff: time.Second})
	srv := serveAPI(t, p, 4)
	check := func(method, path, body string, want int, wantErr string) {
		t.Helper()
		start := time.Now()
		code, hdr, out := call(t, method, srv.URL+path, body, nil)
		msg, _ := out["error"].(string)
		if code != want || !strings.Contains(msg, wantErr) || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %v, want %d with an error that says %q", method, path, code, out, want, wantErr)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s %s took %v", method, path, d)
		}
	}
	check("POST", "/api/echo/body", strings.Repeat("b", host.MaxHTTPRequestBody+1), 413, "larger than")
	check("GET", "/api/echo/slow", "", 504, "did not answer within 3s")
	check("GET", "/api/echo/panic", "", 502, "panicked")
	check("GET", "/api/echo/big", "", 502, "answered more than")
	check("GET", "/api/echo/badheader", "", 502, "invalid header")
	old := p.PID()
	check("GET", "/api/echo/exit", "", 502, `the plugin of community "echo"`)
	waitRestart(t, p, old)
	if code, _, out := call(t, "GET", srv.URL+"/api/echo/hello", "", nil); code != 200 {
		t.Errorf("after the restart: %d %v", code, out)
	}
	// Down: after a kill, until the restart (a second later), 502 too.
	old = p.PID()
	syscall.Kill(old, syscall.SIGKILL)
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, _, out := call(t, "GET", srv.URL+"/api/echo/hello", "", nil)
		msg, _ := out["error"].(string)
		if code == 502 && strings.Contains(msg, "is down") {
			break
		}
		if (code != 200 && code != 502) || time.Now().After(deadline) || (p.PID() != 0 && p.PID() != old) {
			t.Fatalf("while the plugin dies and restarts: %d %v, never 502 \"is down\"", code, out)
		}
	}
}

// readEvent reads the event stream up to the next event's data line.
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			return strings.TrimSpace(data)
		}
	}
}

// A plugin's stream of events reaches the client as it comes, counts
// against the node's cap, ends in the plugin when the client goes, and
// ends for the client when the plugin dies.
func TestHTTPStream(t *testing.T) {
	p, _, logs, _ := load(t, host.Config{MinBackoff: 100 * time.Millisecond})
	srv := serveAPI(t, p, 1)
	open := func() (*http.Response, *bufio.Reader) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/echo/stream")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %s %v", resp.Status, resp.Header)
		}
		return resp, bufio.NewReader(resp.Body)
	}
	resp, r := open()
	for i := 1; i <= 3; i++ {
		if got, want := readEvent(t, r), strings.Repeat("|", i%3)+"tick"; got != want {
			t.Fatalf("event %d: %q, want %q", i, got, want)
		}
	}
	if code, _, out := call(t, "GET", srv.URL+"/api/echo/stream", "", nil); code != 503 {
		t.Errorf("a second stream over a cap of 1: %d %v", code, out)
	}
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "stream ended") {
		if time.Now().After(deadline) {
			t.Fatalf("the plugin's handler did not see its client go:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The slot came back: a new stream opens, and ends when the plugin dies.
	var opened *http.Response
	for deadline := time.Now().Add(5 * time.Second); ; {
		if resp, err := http.Get(srv.URL + "/api/echo/stream"); err == nil && resp.StatusCode == 200 {
			opened = resp
			break
		} else if err == nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("the stream's slot did not come back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer opened.Body.Close()
	r = bufio.NewReader(opened.Body)
	readEvent(t, r)
	syscall.Kill(p.PID(), syscall.SIGKILL)
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := r.ReadString('\n'); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream outlived its plugin")
	}
}

// A plugin whose community is no APIServer has no API on the node.
func TestNoAPI(t *testing.T) {
	p, _, _, _ := load(t, host.Config{Args: []string{"-noapi"}})
	if p.API() != nil {
		t.Fatal("a plugin without an API got one")
	}
}

// The handshake constants that pluginv1 states for other languages are
// go-plugin's own.
func TestHandshakeConstants(t *testing.T) {
	if pluginv1.CoreProtocolVersion != plugin.CoreProtocolVersion || pluginv1.HealthService != plugin.GRPCServiceName {
		t.Fatalf("pluginv1 says core version %d, health service %q; go-plugin %d, %q",
			pluginv1.CoreProtocolVersion, pluginv1.HealthService, plugin.CoreProtocolVersion, plugin.GRPCServiceName)
	}
}
