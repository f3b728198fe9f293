package chat_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/chat"
	"github.com/walkie-p2p/walkie/plugins/httpjson"
)

// apiServer serves the API of a started chat named name. Requests'
// contexts end when base does, as in the node.
func apiServer(t *testing.T, name string, base context.Context) (*httptest.Server, *chat.Chat) {
	c, err := chat.New(chat.Config{Dir: t.TempDir(), Name: name})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := c.Start(ctx, loneEnv{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(c.API())
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.Start()
	t.Cleanup(func() { srv.Close(); cancel(); c.Close() })
	return srv, c
}

func TestAPI(t *testing.T) {
	srv, _ := apiServer(t, "", context.Background())
	post := func(body string) (int, map[string]any) {
		resp, err := http.Post(srv.URL+"/api/chat", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatalf("%s: answer is not JSON: %v", body, err)
		}
		return resp.StatusCode, v
	}
	code, m := post(`{"text": "hello"}`)
	key := loneEnv{}.Key()
	if code != 200 || m["text"] != "hello" || m["lamport"] != 1.0 || m["author"] != community.IDFromKey(key).String() || m["id"] == "" ||
		m["signed"] != true || m["key"] != hex.EncodeToString(key) || len(m["sig"].(string)) != 2*ed25519.SignatureSize {
		t.Errorf("post: %d %v", code, m)
	}
	for _, body := range []string{`{"text": `, `{"txt": "x"}`, `["x"]`, `{"text": "x"} {}`,
		`{"text": ""}`, `{"text": "` + strings.Repeat("x", chat.MaxText+1) + `"}`, `{"text": "` + strings.Repeat("x", 9000) + `"}`} {
		if code, m := post(body); code != 400 || m["error"] == nil {
			t.Errorf("%.40s: %d %v, want 400 with an error", body, code, m)
		}
	}
	resp, err := http.Get(srv.URL + "/api/chat")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Messages []chat.Message
		Next     *string
	}
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if len(h.Messages) != 1 || h.Messages[0].Text != "hello" || h.Next != nil {
		t.Errorf("history %+v", h)
	}
	for _, tc := range []struct {
		method, path, ctype string
		code                int
		allow               string
	}{
		{"POST", "/api/chat", "text/plain", 415, ""}, // what a cross-origin form can send
		{"DELETE", "/api/chat", "", 405, "GET, HEAD, POST"},
		{"POST", "/api/chat/stream", "application/json", 405, "GET, HEAD"},
		{"GET", "/api/chat/", "", 404, ""},
		{"GET", "/api/chat/nothing", "", 404, ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(`{"text": "csrf"}`))
		req.Header.Set("Content-Type", tc.ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.code || err != nil || e.Error == "" || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q, JSON error %q (%v); want %d, Allow %q", tc.method, tc.path,
				resp.StatusCode, resp.Header.Get("Allow"), e.Error, err, tc.code, tc.allow)
		}
	}
}

// TestAPIName: a chat named otherwise serves under its own name only.
func TestAPIName(t *testing.T) {
	srv, _ := apiServer(t, "room-2", context.Background())
	for path, want := range map[string]int{"/api/room-2": 200, "/api/chat": 404} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// readEvent reads the next server-sent event's non-empty lines.
func readEvent(t *testing.T, r *bufio.Reader) []string {
	t.Helper()
	var event []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		line = strings.TrimSpace(line)
		if line == "" && len(event) > 0 {
			return event
		}
		if line != "" {
			event = append(event, line)
		}
	}
}

func TestStream(t *testing.T) {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, c := apiServer(t, "", base)
	resp, err := http.Get(srv.URL + "/api/chat/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", resp.Header)
	}
	r := bufio.NewReader(resp.Body)
	if first := readEvent(t, r); len(first) != 1 || !strings.HasPrefix(first[0], ":") {
		t.Fatalf("first event %q, want a comment", first)
	}
	m, err := c.Post("streamed")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	want := []string{"id: " + m.ID.String(), "event: message", "data: " + string(b)}
	if got := readEvent(t, r); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("event\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The node's server cancels its base context when it shuts down: the
	// stream must end then, not when the client goes.
	cancel()
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, r); ended <- err }()
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("stream ended with %v, want a clean end", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open 5 s after its request's context ended")
	}
}

// page is a GET /api/chat answer.
type page struct {
	Messages []chat.Message
	Next     *string
}

// getPage GETs path and decodes a page, failing the test unless it is a
// 200 with exactly the page's two fields.
func getPage(t *testing.T, url string) page {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || resp.StatusCode != 200 || len(raw) != 2 || raw["next"] == nil {
		t.Fatalf("GET %s: %d %v, %v; want 200 with messages and next", url, resp.StatusCode, raw, err)
	}
	var p page
	json.Unmarshal(raw["messages"], &p.Messages)
	json.Unmarshal(raw["next"], &p.Next)
	return p
}

// TestAPIPages: GET without parameters is the newest 100 messages; ?limit
// and ?before walk back through the rest, and "next" is null at the start.
func TestAPIPages(t *testing.T) {
	srv, c := apiServer(t, "", context.Background())
	var posted []chat.Message
	for i := range 103 {
		m, err := c.Post(fmt.Sprint("message ", i))
		if err != nil {
			t.Fatal(err)
		}
		posted = append(posted, m)
	}
	p := getPage(t, srv.URL+"/api/chat")
	if !slices.Equal(p.Messages, posted[3:]) || p.Next == nil {
		t.Fatalf("GET /api/chat: %d messages, next %v; want the newest 100 and a cursor", len(p.Messages), p.Next)
	}
	var got []chat.Message
	url := srv.URL + "/api/chat?limit=40"
	for pages := 0; ; pages++ {
		p := getPage(t, url)
		got = append(p.Messages, got...)
		if p.Next == nil {
			if pages != 2 {
				t.Errorf("%d pages of 40, want 3", pages+1)
			}
			break
		}
		url = srv.URL + "/api/chat?limit=40&before=" + *p.Next
	}
	if !slices.Equal(got, posted) {
		t.Errorf("the pages hold %d messages, want the 103 posted in order", len(got))
	}
	if p := getPage(t, srv.URL+"/api/chat?limit=100000"); len(p.Messages) != 103 || p.Next != nil {
		t.Errorf("limit over the maximum: %d messages, next %v; want all 103 (under 500) and null", len(p.Messages), p.Next)
	}
	for _, q := range []string{"limit=0", "limit=-1", "limit=x", "before=!!", "before=AAAA"} {
		resp, err := http.Get(srv.URL + "/api/chat?" + q)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || e.Error == "" {
			t.Errorf("?%s: %d %q, want 400 with an error", q, resp.StatusCode, e.Error)
		}
	}
}

// capServer serves the API of a started chat whose requests carry a node's
// cap of streams, as the node's server does. Its connections have a small
// send buffer, so that a client that does not read blocks its stream soon;
// closed receives each connection the server closes.
func capServer(t *testing.T, streams *httpjson.Streams) (srv *httptest.Server, c *chat.Chat, closed <-chan struct{}) {
	t.Helper()
	c, err := chat.New(chat.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := c.Start(ctx, loneEnv{}); err != nil {
		t.Fatal(err)
	}
	closes := make(chan struct{}, 16)
	srv = httptest.NewUnstartedServer(c.API())
	srv.Config.BaseContext = func(net.Listener) context.Context { return httpjson.WithStreams(context.Background(), streams) }
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closes <- struct{}{}
		}
	}
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(func() { srv.Close(); cancel(); c.Close() })
	return srv, c, closes
}

// smallSendBuffers is a listener whose connections have a 4 KiB send
// buffer (the kernel's default grows to megabytes).
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		c.(*net.TCPConn).SetWriteBuffer(4 << 10)
	}
	return c, err
}

// TestStreamCap: the node's cap on streams applies to the chat's: over it,
// 503 JSON; a stream that ends gives its slot back.
func TestStreamCap(t *testing.T) {
	streams := httpjson.NewStreams(2, time.Second)
	srv, _, _ := capServer(t, streams)
	open := func() *http.Response {
		resp, err := http.Get(srv.URL + "/api/chat/stream")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for i := range 2 {
		if resp := open(); resp.StatusCode != 200 {
			t.Fatalf("stream %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := open()
	var e struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&e); resp.StatusCode != http.StatusServiceUnavailable || err != nil || e.Error == "" {
		t.Errorf("third stream: %d %q (%v), want 503 with a JSON error", resp.StatusCode, e.Error, err)
	}
	if streams.Open() != 2 {
		t.Errorf("%d streams open, want 2", streams.Open())
	}
}

// TestStreamClientStopsReading: a client that never reads is cut off once
// one write has waited for the write timeout, rather than holding a
// goroutine and a socket for ever; its connection is closed.
func TestStreamClientStopsReading(t *testing.T) {
	const timeout = 100 * time.Millisecond
	streams := httpjson.NewStreams(2, timeout)
	srv, c, closed := capServer(t, streams)
	before := runtime.NumGoroutine()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Post until the server closes the connection: the socket's buffers
	// fill, then a write waits for the timeout. One post every 4 ms: the
	// 64 messages a subscriber may fall behind take longer than the
	// timeout, so the deadline, not the chat's own cut-off, ends the
	// stream.
	text := strings.Repeat("x", chat.MaxText)
	tick := time.NewTicker(4 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	posts := 0
	for cut := false; !cut; {
		select {
		case <-closed:
			cut = true
		case <-tick.C:
			if time.Since(start) > 10*time.Second {
				t.Fatalf("the stream is still open 10 s and %d posts after its client stopped reading", posts)
			}
			if _, err := c.Post(text); err != nil {
				t.Fatal(err)
			}
			posts++
		}
	}
	t.Logf("cut off after %d posts of %d bytes, %v", posts, len(text), time.Since(start).Round(time.Millisecond))
	if streams.Open() != 0 {
		t.Errorf("%d streams open after the cut", streams.Open())
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, conn); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the server did not close the connection: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // goroutines end a moment after their work; nothing reports it
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after the cut, %d before the client came", n, before)
	}
}
