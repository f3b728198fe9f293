package sdk

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

// httpChunk is how much of an answer the plugin collects before it sends
// a piece to the node: the node's limits are on the whole answer
// (plugins/host.MaxHTTPResponseBody), and small pieces keep memory low on
// both ends.
const httpChunk = 64 << 10

// HTTP implements pluginv1.CommunityServer: it runs the community's API
// handler (community.APIServer) on the request the node forwarded. The
// handler's r.Context() ends when the client goes, the node's timeout
// fires or the node stops. A panic in the handler becomes an error
// answer, as net/http would make of it in-process, not a crash.
func (s *server) HTTP(req *pluginv1.HTTPRequest, stream grpc.ServerStreamingServer[pluginv1.HTTPResponse]) (err error) {
	if s.api == nil {
		return status.Error(codes.Unimplemented, "this community serves no HTTP API")
	}
	r, err := toRequest(stream.Context(), req)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	w := &responseWriter{stream: stream, header: http.Header{}}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { // compared as net/http does
				err = status.Error(codes.Aborted, "handler aborted")
				return
			}
			s.logger().Error("HTTP handler panicked", "path", req.GetPath(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = status.Errorf(codes.Internal, "the handler of %s panicked", req.GetPath())
		}
	}()
	s.api.ServeHTTP(w, r)
	return w.finish()
}

// logger returns the community's Env logger once started, else a discard
// logger: a request may come before Start. It does not wait for a
// handler that holds mu.
func (s *server) logger() *slog.Logger {
	if l := s.log.Load(); l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// toRequest makes the server-side *http.Request of a forwarded request.
func toRequest(ctx context.Context, req *pluginv1.HTTPRequest) (*http.Request, error) {
	if !strings.HasPrefix(req.GetPath(), "/") {
		return nil, fmt.Errorf("path %q does not start with /", req.GetPath())
	}
	u := &url.URL{Path: req.GetPath(), RawQuery: req.GetQuery()}
	r, err := http.NewRequestWithContext(ctx, req.GetMethod(), u.String(), bytes.NewReader(req.GetBody()))
	if err != nil {
		return nil, err
	}
	r.URL = u
	r.RequestURI = u.RequestURI()
	r.RemoteAddr = req.GetRemoteAddr()
	for _, h := range req.GetHeaders() {
		if http.CanonicalHeaderKey(h.GetName()) == "Host" {
			r.Host = h.GetValue()
			continue
		}
		r.Header.Add(h.GetName(), h.GetValue())
	}
	return r, nil
}

// responseWriter is the http.ResponseWriter of a forwarded request: it
// sends the head with the first piece of the body, and a piece whenever
// httpChunk bytes are waiting or the handler flushes (a stream of
// events does, after each event).
type responseWriter struct {
	stream   grpc.ServerStreamingServer[pluginv1.HTTPResponse]
	header   http.Header
	code     int  // 0 until WriteHeader or the first Write
	sentHead bool // the head is on its way to the node
	buf      []byte
	err      error // the first failed send: the node or the client is gone
}

// Header implements http.ResponseWriter.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter; as in net/http, only the
// first call counts.
func (w *responseWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.WriteHeader(http.StatusOK)
	w.buf = append(w.buf, b...)
	off := 0
	for ; len(w.buf)-off >= httpChunk && w.err == nil; off += httpChunk {
		w.send(w.buf[off : off+httpChunk])
	}
	w.buf = append(w.buf[:0], w.buf[off:]...)
	if w.err != nil {
		return 0, w.err
	}
	return len(b), nil
}

// FlushError sends what is waiting; http.ResponseController calls it.
func (w *responseWriter) FlushError() error {
	if w.err == nil {
		w.WriteHeader(http.StatusOK)
		w.send(w.buf)
		w.buf = w.buf[:0]
	}
	return w.err
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { w.FlushError() }

// SetWriteDeadline lets plugins/httpjson.OpenStream work in a plugin. The
// node enforces the deadline where it matters, on its write to the
// client; a client that stops reading is cut off there, which ends this
// call and fails the plugin's next write.
func (w *responseWriter) SetWriteDeadline(time.Time) error { return nil }

// send sends a piece of the body, with the head if it is the first.
func (w *responseWriter) send(piece []byte) {
	m := &pluginv1.HTTPResponse{Body: piece}
	if !w.sentHead {
		w.sentHead = true
		m.Status = uint32(max(w.code, 0))
		for k, vs := range w.header {
			for _, v := range vs {
				m.Headers = append(m.Headers, &pluginv1.HTTPHeader{Name: k, Value: v})
			}
		}
	}
	if err := w.stream.Send(m); err != nil {
		w.err = err // the handler's next Write fails: nobody wants its answer
	}
}

// finish sends the rest of the answer once the handler returned.
func (w *responseWriter) finish() error {
	if w.err != nil {
		return w.err
	}
	if !w.sentHead || len(w.buf) > 0 {
		w.WriteHeader(http.StatusOK)
		w.send(w.buf)
		w.buf = w.buf[:0]
	}
	return w.err
}
