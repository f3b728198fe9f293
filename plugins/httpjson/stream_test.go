package httpjson

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// streamServer serves a stream that writes "hello" and then events from
// next until it fails or the request ends; every handler's end is sent on
// ended with the error that ended it. The server's requests carry node, if
// not nil; own is the handler's own cap. wrap, if not nil, wraps the
// server's listener.
func streamServer(t *testing.T, node, own *Streams, next func() []byte, wrap func(net.Listener) net.Listener) (*httptest.Server, <-chan error) {
	t.Helper()
	ended := make(chan error, 64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, ok := OpenStream(w, r, own)
		if !ok {
			return
		}
		err := st.Comment("hello")
		for err == nil {
			if next == nil {
				<-r.Context().Done()
				err = r.Context().Err()
				break
			}
			err = st.Event("", "tick", next())
		}
		st.Close()
		ended <- err
	}))
	if node != nil {
		srv.Config.BaseContext = func(net.Listener) context.Context { return WithStreams(context.Background(), node) }
	}
	if wrap != nil {
		srv.Listener = wrap(srv.Listener)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, ended
}

// openStream opens a stream and returns its status and body reader.
func openStream(t *testing.T, url string) (*http.Response, *bufio.Reader) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	r := bufio.NewReader(resp.Body)
	if resp.StatusCode == http.StatusOK {
		b := make([]byte, len(": hello\n\n"))
		if _, err := io.ReadFull(r, b); err != nil || string(b) != ": hello\n\n" {
			t.Fatalf("stream opens with %q, %v", b, err)
		}
	}
	return resp, r
}

// TestStreamsCap: the cap in the request's context applies, not the
// handler's own; the stream over it gets 503 JSON; a closed stream frees
// its slot.
func TestStreamsCap(t *testing.T) {
	node := NewStreams(2, time.Second)
	srv, ended := streamServer(t, node, NewStreams(10, time.Second), nil, nil)
	first, _ := openStream(t, srv.URL)
	second, _ := openStream(t, srv.URL)
	if first.StatusCode != 200 || second.StatusCode != 200 || node.Open() != 2 {
		t.Fatalf("two streams: %d, %d; %d open", first.StatusCode, second.StatusCode, node.Open())
	}
	third, r := openStream(t, srv.URL)
	var e struct{ Error string }
	if err := json.NewDecoder(r).Decode(&e); third.StatusCode != http.StatusServiceUnavailable || err != nil ||
		!strings.Contains(e.Error, "too many event streams") || third.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("third stream: %d %q (%v)", third.StatusCode, e.Error, err)
	}
	first.Body.Close()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream's handler still runs 5 s after its client left")
	}
	if again, _ := openStream(t, srv.URL); again.StatusCode != 200 {
		t.Errorf("after one stream closed: %d", again.StatusCode)
	}
}

// TestStreamsOwnCap: outside a node, the API's own cap applies.
func TestStreamsOwnCap(t *testing.T) {
	srv, _ := streamServer(t, nil, NewStreams(1, time.Second), nil, nil)
	if resp, _ := openStream(t, srv.URL); resp.StatusCode != 200 {
		t.Fatalf("first stream: %d", resp.StatusCode)
	}
	if resp, _ := openStream(t, srv.URL); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second stream: %d, want 503", resp.StatusCode)
	}
}

// smallBuffers is a listener whose connections have a small send buffer,
// so that a client that does not read blocks the server's writes soon.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		c.(*net.TCPConn).SetWriteBuffer(4 << 10)
	}
	return c, err
}

// dialNoRead connects and sends a GET; the caller then never reads until
// it wants to see the connection's end.
func dialNoRead(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStreamWriteTimeout: a client that stops reading is cut off once a
// write has waited for the write timeout; the handler's goroutine, the
// server's and the socket are freed.
func TestStreamWriteTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	node := NewStreams(4, timeout)
	event := []byte(strings.Repeat("x", 4<<10))
	srv, ended := streamServer(t, node, node, func() []byte { return event },
		func(ln net.Listener) net.Listener { return smallBuffers{ln} })
	before := runtime.NumGoroutine()

	c := dialNoRead(t, srv.Listener.Addr().String(), "/")
	start := time.Now()
	var werr error
	select {
	case werr = <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("a client that reads nothing still holds its stream after 10 s")
	}
	if !errors.Is(werr, os.ErrDeadlineExceeded) {
		t.Errorf("the stream ended with %v, want the write deadline", werr)
	}
	t.Logf("stream cut off %v after the client connected (write timeout %v)", time.Since(start).Round(time.Millisecond), timeout)
	if node.Open() != 0 {
		t.Errorf("%d streams open after the cut", node.Open())
	}
	// The server closed the socket: what the client has not read yet
	// ends in EOF or a reset, not in our own read deadline.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the server did not close the client's connection: %v", err)
	}
	if n := goroutinesAtMost(before, 5*time.Second); n > before {
		t.Errorf("%d goroutines after the cut, %d before the client came", n, before)
	}
}

// goroutinesAtMost waits up to timeout for the number of goroutines to
// fall to n and returns the last count. Goroutines end a moment after the
// work that ends them, and nothing reports when.
func goroutinesAtMost(n int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		got := runtime.NumGoroutine()
		if got <= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStreamFormat: events as the EventSource spec reads them; a writer
// without deadlines gets 500 rather than a stream without a bound.
func TestStreamFormat(t *testing.T) {
	srv, _ := streamServer(t, nil, NewStreams(1, time.Second), func() []byte { return []byte("a\nb") }, nil)
	resp, r := openStream(t, srv.URL)
	if resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", resp.Header)
	}
	var got []string
	for len(got) < 4 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if want := "event: tick\ndata: a\ndata: b\n\n"; strings.Join(got, "") != want {
		t.Errorf("event %q, want %q", strings.Join(got, ""), want)
	}

	w := httptest.NewRecorder()
	if _, ok := OpenStream(w, httptest.NewRequest("GET", "/", nil), NewStreams(1, time.Second)); ok || w.Code != 500 {
		t.Errorf("recorder: ok %v, %d", ok, w.Code)
	}
}
