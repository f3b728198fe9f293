package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"golang.org/x/net/http/httpguts"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/httpjson"
	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

// Limits of a plugin's HTTP API (README, docs/writing-a-plugin.md). The
// node holds a request and a whole answer in memory, so both are bounded;
// a stream is bounded by the node's cap on streams and its write deadline
// instead (plugins/httpjson).
const (
	// MaxHTTPRequestBody is the largest request body the node forwards to
	// a plugin; a larger one gets 413.
	MaxHTTPRequestBody = 1 << 20
	// MaxHTTPResponseBody is the largest answer the node takes from a
	// plugin, and the largest piece of a stream; a larger one gets 502.
	MaxHTTPResponseBody = 4 << 20
	// DefaultHTTPTimeout is Config.HTTPTimeout's default: under the
	// node's own write timeout (10 s), so that the 504 still gets out.
	DefaultHTTPTimeout = 5 * time.Second

	maxHTTPHeaders     = 64       // header lines of an answer
	maxHTTPHeaderBytes = 16 << 10 // their names and values together
	// maxPluginMessage bounds every gRPC message the node takes from a
	// plugin: the largest answer and its headers, with room to spare.
	maxPluginMessage = MaxHTTPResponseBody + maxHTTPHeaderBytes + 16<<10
	// httpWriteGrace is how long the node gives itself to write an answer
	// once the plugin gave it, beyond HTTPTimeout.
	httpWriteGrace = 5 * time.Second
)

// errHTTPTimeout is the cause of a request the plugin did not answer in
// time.
var errHTTPTimeout = errors.New("walkie plugin: HTTP timeout")

// API implements community.APIServer: the plugin's HTTP API, forwarded
// over gRPC, or nil if the plugin described none. Every answer the node
// makes itself is JSON {"error": "..."}: 413 for a request body over
// MaxHTTPRequestBody, 502 while the plugin is down or when it fails or
// gives a bad answer, 504 when it does not answer within
// Config.HTTPTimeout. A stream of events (text/event-stream) counts
// against the node's cap on streams, and ends when the plugin ends it, the
// client goes, the plugin goes down or the node stops.
func (p *Plugin) API() http.Handler {
	if !p.api {
		return nil
	}
	return http.HandlerFunc(p.serveHTTP)
}

var _ community.APIServer = (*Plugin)(nil)

// serveHTTP forwards one request to the plugin.
func (p *Plugin) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxHTTPRequestBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxHTTPRequestBody))
		} else {
			httpjson.Error(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		}
		return
	}
	p.mu.Lock()
	pr, up := p.proc, p.serving
	p.mu.Unlock()
	if !up {
		httpjson.Error(w, http.StatusBadGateway, fmt.Sprintf("the plugin of community %q is down; try again shortly", p.name))
		return
	}
	// The server's write deadline started when the request did; reading
	// the body took some of it.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(p.cfg.HTTPTimeout + httpWriteGrace))

	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	timer := time.AfterFunc(p.cfg.HTTPTimeout, func() { cancel(errHTTPTimeout) })
	defer timer.Stop()
	stream, err := pr.conn.Community.HTTP(ctx, toHTTPRequest(r, body))
	if err != nil {
		p.httpFailed(w, ctx, err)
		return
	}
	head, err := stream.Recv()
	if err != nil {
		p.httpFailed(w, ctx, err)
		return
	}
	code, hdr, err := answerHead(head)
	if err != nil {
		httpjson.Error(w, http.StatusBadGateway, fmt.Sprintf("the plugin of community %q answered badly: %v", p.name, err))
		return
	}
	if mt, _, _ := mime.ParseMediaType(hdr.Get("Content-Type")); code == http.StatusOK && mt == "text/event-stream" {
		if !timer.Stop() { // fired after the head arrived: the call is canceled
			p.httpFailed(w, ctx, context.Cause(ctx))
			return
		}
		p.relay(w, r, hdr, head.GetBody(), stream)
		return
	}
	out := head.GetBody()
	for len(out) <= MaxHTTPResponseBody {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.httpFailed(w, ctx, err)
			return
		}
		out = append(out, m.GetBody()...)
	}
	if len(out) > MaxHTTPResponseBody {
		httpjson.Error(w, http.StatusBadGateway, fmt.Sprintf("the plugin of community %q answered more than %d bytes", p.name, MaxHTTPResponseBody))
		return
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.WriteHeader(code)
	w.Write(out)
}

// relay passes a plugin's stream of events on to the client, through the
// node's cap on streams and with its write deadline.
func (p *Plugin) relay(w http.ResponseWriter, r *http.Request, hdr http.Header, first []byte,
	stream grpc.ServerStreamingClient[pluginv1.HTTPResponse]) {
	for k, v := range hdr {
		w.Header()[k] = v
	}
	st, ok := httpjson.OpenStream(w, r, p.streams)
	if !ok {
		return
	}
	defer st.Close()
	// Written even if empty: it sends the head, so the client sees the
	// stream open at once.
	if st.Raw(first) != nil {
		return
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			return // the plugin ended it or went down, or the client went
		}
		if st.Raw(m.GetBody()) != nil {
			return
		}
	}
}

// httpFailed answers a call that failed: 504 if it ran out of time, 502
// if the plugin failed, nothing if the client went away.
func (p *Plugin) httpFailed(w http.ResponseWriter, ctx context.Context, err error) {
	switch {
	case errors.Is(context.Cause(ctx), errHTTPTimeout):
		httpjson.Error(w, http.StatusGatewayTimeout, fmt.Sprintf("the plugin of community %q did not answer within %v", p.name, p.cfg.HTTPTimeout))
	case ctx.Err() != nil:
		// The client is gone (or the node stops): nobody reads an answer.
	default:
		msg := err.Error()
		if s, ok := status.FromError(err); ok {
			msg = s.Message()
		}
		httpjson.Error(w, http.StatusBadGateway, fmt.Sprintf("the plugin of community %q failed: %s", p.name, msg))
	}
}

// toHTTPRequest converts r, whose body was read, to the schema. The
// node's token (Authorization, the login cookie) stays in the node.
func toHTTPRequest(r *http.Request, body []byte) *pluginv1.HTTPRequest {
	req := &pluginv1.HTTPRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body, RemoteAddr: r.RemoteAddr}
	req.Headers = append(req.Headers, &pluginv1.HTTPHeader{Name: "Host", Value: r.Host})
	for k, vs := range r.Header {
		if k == "Authorization" || k == "Cookie" {
			continue
		}
		for _, v := range vs {
			req.Headers = append(req.Headers, &pluginv1.HTTPHeader{Name: k, Value: v})
		}
	}
	return req
}

// droppedHeader reports whether the node drops the answer header k (in
// canonical form) of a plugin: it frames the answer itself, and its
// cookies (the login) are its own.
func droppedHeader(k string) bool {
	switch k {
	case "Connection", "Content-Length", "Keep-Alive", "Proxy-Connection", "Set-Cookie", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// answerHead checks the first message of an answer and returns its status
// and headers. Every answer is nosniff: the node's origin must never run
// what a plugin sends as a script by mistake.
func answerHead(m *pluginv1.HTTPResponse) (int, http.Header, error) {
	code := int(m.GetStatus())
	if code == 0 {
		code = http.StatusOK
	}
	if code < 200 || code > 599 {
		return 0, nil, fmt.Errorf("status %d", m.GetStatus())
	}
	if len(m.GetHeaders()) > maxHTTPHeaders {
		return 0, nil, fmt.Errorf("%d header lines, at most %d", len(m.GetHeaders()), maxHTTPHeaders)
	}
	hdr := http.Header{}
	size := 0
	for _, h := range m.GetHeaders() {
		size += len(h.GetName()) + len(h.GetValue())
		switch {
		case size > maxHTTPHeaderBytes:
			return 0, nil, fmt.Errorf("headers over %d bytes", maxHTTPHeaderBytes)
		case !httpguts.ValidHeaderFieldName(h.GetName()) || !httpguts.ValidHeaderFieldValue(h.GetValue()):
			return 0, nil, fmt.Errorf("invalid header %q", h.GetName())
		}
		if k := http.CanonicalHeaderKey(h.GetName()); !droppedHeader(k) {
			hdr.Add(k, h.GetValue())
		}
	}
	hdr.Set("X-Content-Type-Options", "nosniff")
	return code, hdr, nil
}
