package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/plugins/chat"
	"github.com/walkie-p2p/walkie/plugins/game"
	"github.com/walkie-p2p/walkie/proto"
)

// loneEnv is a node with no members: enough for a chat to post (it signs
// with chatEnv's key).
type loneEnv struct{}

func (loneEnv) Send(proto.ID, community.Type, []byte) error { return community.ErrUnknownPeer }
func (loneEnv) Members() []community.Peer                   { return nil }
func (loneEnv) Self() proto.ID                              { return chatEnv{}.Self() }
func (loneEnv) WAN() netip.AddrPort                         { return netip.AddrPort{} }
func (loneEnv) Logger() *slog.Logger                        { return slog.New(slog.DiscardHandler) }
func (loneEnv) Key() ed25519.PublicKey                      { return chatEnv{}.Key() }
func (loneEnv) Sign(msg []byte) []byte                      { return chatEnv{}.Sign(msg) }

// nodeServer serves what a node serves, under acc's rules, with a monitor,
// a running chat and a running game, on 127.0.0.1.
func nodeServer(t *testing.T, acc *access) (*httptest.Server, *chat.Chat) {
	t.Helper()
	c, err := chat.New(chat.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := c.Start(ctx, loneEnv{}); err != nil {
		t.Fatal(err)
	}
	g := game.New(game.Config{})
	if err := g.Start(ctx, loneEnv{}); err != nil {
		t.Fatal(err)
	}
	comms := []community.Community{c, g}
	srv := httptest.NewServer(newHandler(func() core.Status { return core.Status{PeerID: "x"} }, newMonitor(comms), comms, acc, nil))
	t.Cleanup(func() { srv.Close(); cancel(); c.Close(); g.Close() })
	return srv, c
}

// call sends method path to srv with the headers and, for a POST, a JSON
// body, and returns the status and the body; hdr "Host" sets the Host. A
// nil client is one that gives up after 5 s: a stream that should have
// been refused never ends.
func call(t *testing.T, client *http.Client, srv *httptest.Server, method, path, body string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, string(b) + " (then " + err.Error() + ")", resp.Header
	}
	return resp.StatusCode, string(b), resp.Header
}

// jsonError returns the "error" of a JSON error answer, or "".
func jsonError(body string) string {
	var e struct{ Error string }
	json.Unmarshal([]byte(body), &e)
	return e.Error
}

// TestHTTPRebinding: a page that reaches the node through a name of its
// own (DNS rebinding) gets 421 on every path, reads nothing and posts
// nothing. Before the Host check it got 200 on all of them.
func TestHTTPRebinding(t *testing.T) {
	srv, c := nodeServer(t, nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	evil := map[string]string{"Host": "rebind.evil.example:" + strconv.Itoa(port)}
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/", ""}, {"GET", "/page/app.js", ""}, {"GET", "/status", ""}, {"GET", "/metrics", ""}, {"GET", "/history", ""},
		{"GET", "/api/chat", ""}, {"GET", "/api/chat/stream", ""}, {"POST", "/api/chat", `{"text": "posted by a web page"}`},
		{"GET", "/api/game/games", ""}, {"GET", "/api/game/stream", ""}, {"HEAD", "/status", ""}, {"GET", "/nothing", ""},
	} {
		code, body, _ := call(t, nil, srv, tc.method, tc.path, tc.body, evil)
		if code != http.StatusMisdirectedRequest || (tc.method != "HEAD" && !strings.Contains(jsonError(body), "-http-host rebind.evil.example")) {
			t.Errorf("%s %s with Host %s: %d %q, want 421 with a JSON error naming -http-host", tc.method, tc.path, evil["Host"], code, body)
		}
	}
	if n := len(c.History()); n != 0 {
		t.Errorf("the page posted %d messages", n)
	}
}

// TestHTTPHostNames: which Host values the node answers to. Any port.
func TestHTTPHostNames(t *testing.T) {
	acc := &access{hosts: []string{"node.lan", "192.0.2.80", "0.0.0.0"}}
	for host, ok := range map[string]bool{
		"127.0.0.1:1874": true, "127.0.0.1": true, "127.9.8.7:80": true, "localhost:1874": true, "LocalHost": true,
		"localhost.": true, "[::1]:1874": true, "[::1]": true, "[::ffff:127.0.0.1]:1": true,
		"node.lan:9": true, "NODE.LAN": true, "node.lan.": true, "192.0.2.80:1874": true, "0.0.0.0:1874": true,
		// The address the request arrived at (below) is the node's own.
		"198.51.100.4:1874": true, "198.51.100.4": true,
		"rebind.evil.example": false, "": false, "localhost.evil.example": false, "evil.localhost": false,
		"node.lan.evil.example": false, "127.0.0.1.nip.io:1874": false, "2130706433": false, "0x7f000001": false,
		"198.51.100.5:1874": false, "[2001:db8::1]:1874": false, "lan": false,
	} {
		r := httptest.NewRequest("GET", "/status", nil)
		r.Host = host
		local := &net.TCPAddr{IP: net.ParseIP("198.51.100.4"), Port: 1874}
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
		if got := acc.hostAllowed(r); got != ok {
			t.Errorf("Host %q: allowed %v, want %v", host, got, ok)
		}
	}
}

// TestHTTPForeignOrigin: a change (POST) from another origin is refused
// with 403, as is one that a browser marks cross-site; the node's own
// page and programs that send no Origin may post; reads are not changes.
func TestHTTPForeignOrigin(t *testing.T) {
	srv, c := nodeServer(t, nil)
	own := srv.URL // http://127.0.0.1:PORT
	post := `{"text": "hello"}`
	for _, tc := range []struct {
		method string
		hdr    map[string]string
		code   int
	}{
		{"POST", map[string]string{"Origin": "http://evil.example"}, 403},
		{"POST", map[string]string{"Origin": "http://localhost:" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)}, 403}, // another name of the node: another origin
		{"POST", map[string]string{"Origin": "http://127.0.0.1:1"}, 403},
		{"POST", map[string]string{"Origin": "null"}, 403},
		{"POST", map[string]string{"Origin": "file://"}, 403},
		{"POST", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"POST", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:1"}, 403},
		{"POST", map[string]string{"Origin": own, "Sec-Fetch-Site": "same-origin"}, 200},
		{"POST", nil, 200}, // curl
		{"GET", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, 200},
	} {
		body := ""
		if tc.method == "POST" {
			body = post
		}
		code, got, _ := call(t, nil, srv, tc.method, "/api/chat", body, tc.hdr)
		if code != tc.code || (code == 403 && jsonError(got) == "") {
			t.Errorf("%s with %v: %d %q, want %d", tc.method, tc.hdr, code, got, tc.code)
		}
	}
	if n := len(c.History()); n != 2 {
		t.Errorf("%d messages posted, want 2 (the node's own origin and curl)", n)
	}
}

// TestHTTPToken: beyond loopback, /status, /metrics, /history and /api/
// need the token, as a bearer token or the cookie that POST /login sets;
// the page does not. Compared in constant time (validToken).
func TestHTTPToken(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	acc := &access{token: token, cookie: "walkie_token_1874"}
	srv, c := nodeServer(t, acc)
	bearer := map[string]string{"Authorization": "Bearer " + token}
	for _, path := range []string{"/status", "/metrics", "/history", "/api/chat", "/api/chat/stream", "/api/game/stream", "/nothing", "/page/../status"} {
		code, body, h := call(t, nil, srv, "GET", path, "", nil)
		if code != http.StatusUnauthorized || !strings.Contains(jsonError(body), "Authorization: Bearer") || h.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without the token: %d %q, want 401 with a JSON error", path, code, body)
		}
		for _, wrong := range []string{"Bearer " + token[1:], "Bearer " + token + "x", "Basic " + token, token} {
			if code, _, _ := call(t, nil, srv, "GET", path, "", map[string]string{"Authorization": wrong}); code != http.StatusUnauthorized {
				t.Errorf("GET %s with Authorization %q: %d, want 401", path, wrong, code)
			}
		}
	}
	if code, _, _ := call(t, nil, srv, "POST", "/api/chat", `{"text": "no token"}`, nil); code != http.StatusUnauthorized {
		t.Errorf("POST /api/chat without the token: %d, want 401", code)
	}
	for _, path := range []string{"/status", "/metrics", "/history", "/api/chat"} {
		if code, body, _ := call(t, nil, srv, "GET", path, "", bearer); code != 200 {
			t.Errorf("GET %s with the bearer token: %d %q", path, code, body)
		}
	}
	for _, path := range []string{"/", "/page/app.js", "/page/style.css"} {
		if code, _, _ := call(t, nil, srv, "GET", path, "", nil); code != 200 {
			t.Errorf("GET %s (the page) without the token: %d, want 200", path, code)
		}
	}
	if code, _, _ := call(t, nil, srv, "POST", "/api/chat", `{"text": "with the token"}`, bearer); code != 200 {
		t.Errorf("POST /api/chat with the bearer token: %d", code)
	}

	// The page's way: POST /login, then the cookie.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	for _, wrong := range []string{`{"token": "nope"}`, `{"token": "` + strings.ToUpper(token) + `"}`, `{"tok": "` + token + `"}`} {
		if code, body, h := call(t, browser, srv, "POST", "/login", wrong, nil); code == 200 || h.Get("Set-Cookie") != "" || jsonError(body) == "" {
			t.Errorf("POST /login %s: %d %q, Set-Cookie %q", wrong, code, body, h.Get("Set-Cookie"))
		}
	}
	if code, _, _ := call(t, nil, srv, "POST", "/login", `{"token": "`+token+`"}`, map[string]string{"Origin": "http://evil.example"}); code != 403 {
		t.Errorf("POST /login from a foreign origin: %d, want 403", code)
	}
	code, body, h := call(t, browser, srv, "POST", "/login", `{"token": "`+token+`"}`, map[string]string{"Origin": srv.URL})
	cookie := h.Get("Set-Cookie")
	if code != 200 || !strings.HasPrefix(cookie, "walkie_token_1874="+token+";") {
		t.Fatalf("POST /login with the token: %d %q, Set-Cookie %q", code, body, cookie)
	}
	for _, attr := range []string{"Path=/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("the cookie %q lacks %s", cookie, attr)
		}
	}
	for _, path := range []string{"/status", "/metrics", "/history", "/api/chat"} {
		if code, body, _ := call(t, browser, srv, "GET", path, "", nil); code != 200 {
			t.Errorf("GET %s with the cookie: %d %q", path, code, body)
		}
	}
	if code, _, _ := call(t, browser, srv, "POST", "/api/chat", `{"text": "with the cookie"}`, map[string]string{"Origin": srv.URL}); code != 200 {
		t.Errorf("POST /api/chat with the cookie: %d", code)
	}
	// An EventSource sends the cookie too.
	req, _ := http.NewRequest("GET", srv.URL+"/api/chat/stream", nil)
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(line, ":") {
		t.Errorf("the stream with the cookie: %d %q", resp.StatusCode, line)
	}
	if n := len(c.History()); n != 2 {
		t.Errorf("%d messages posted, want 2 (bearer and cookie)", n)
	}
	// On loopback there is no /login: nothing to log in to.
	loop, _ := nodeServer(t, nil)
	if code, _, _ := call(t, nil, loop, "POST", "/login", `{"token": "x"}`, nil); code != 404 {
		t.Errorf("POST /login on loopback: %d, want 404", code)
	}
}

// TestHTTPStreamCap: the node caps the event streams of all its
// communities at httpjson.MaxStreams (32); the next gets 503 JSON. Before
// the cap, 500 idle clients held 1,000 goroutines and 512 files.
func TestHTTPStreamCap(t *testing.T) {
	srv, _ := nodeServer(t, nil)
	for i := range 32 {
		// The chat's streams and the game's share the cap.
		path := []string{"/api/chat/stream", "/api/game/stream"}[i%2]
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("stream %d: %d", i+1, resp.StatusCode)
		}
	}
	for _, path := range []string{"/api/chat/stream", "/api/game/stream"} {
		code, body, _ := call(t, nil, srv, "GET", path, "", nil)
		if code != http.StatusServiceUnavailable || !strings.Contains(jsonError(body), "too many event streams") {
			t.Errorf("stream 33 (%s): %d %q, want 503 with a JSON error", path, code, body)
		}
	}
}
