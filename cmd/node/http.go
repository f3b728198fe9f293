package main

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/plugins/fleet"
	"github.com/walkie-p2p/walkie/plugins/httpjson"
)

// Limits of the HTTP server. It serves a few small documents to operators,
// scrapers and one page, so every limit is tight.
const (
	httpReadHeaderTimeout = 5 * time.Second
	httpReadTimeout       = 10 * time.Second
	httpWriteTimeout      = 10 * time.Second
	httpIdleTimeout       = 60 * time.Second
	httpMaxHeaderBytes    = 16 << 10
	httpShutdownTimeout   = 3 * time.Second
)

// newHandler returns the node's HTTP handler:
//
//	GET  /          the page (page.go): chat, game and status; it polls the
//	                three below and uses the communities' APIs
//	GET  /status    status() as JSON (core.Status: its field names are a contract)
//	GET  /metrics   mon's registry in the Prometheus text format
//	GET  /metrics/fleet  a collector's fleet (plugins/fleet), the same format
//	GET  /history   the peer counts of the last minutes, for the page's chart
//	POST /login     {"token": "..."}: sets the login cookie (only when acc has a token)
//	/api/NAME       the API of each community that serves one
//	                (community.APIServer), and everything under /api/NAME/
//
// A "GET" pattern also matches HEAD; other methods get 405 with an Allow
// header, other paths 404, as JSON (routes.go). Before any of them, acc's rules apply (Host,
// Origin, token: access.go); a nil acc is loopback's. Every community's
// event streams share one cap, streams (nil: httpjson's defaults). With a
// nil mon (tests) there is no /metrics and no /history.
func newHandler(status func() core.Status, mon *monitor, comms []community.Community, acc *access, streams *httpjson.Streams) http.Handler {
	if acc == nil {
		acc = &access{}
	}
	if streams == nil {
		streams = httpjson.NewStreams(httpjson.MaxStreams, httpjson.StreamWriteTimeout)
	}
	mux := http.NewServeMux()
	for _, c := range comms {
		a, ok := c.(community.APIServer)
		if !ok {
			continue
		}
		// Names are distinct and valid, so no two communities share a
		// path and none reaches the node's own routes. A plugin's API is
		// nil when the plugin serves none.
		if h, root := a.API(), "/api/"+c.Name(); h != nil {
			mux.Handle(root, h)
			mux.Handle(root+"/", h)
		}
	}
	var metrics, fleetMetrics, history, login http.Handler
	for _, c := range comms {
		if f, ok := c.(*fleet.Fleet); ok && f.Handler() != nil {
			fleetMetrics = f.Handler() // a collector's reporters, each series with its peer label
		}
	}
	if mon != nil {
		// promhttp answers in the format the scraper asks for and gzips
		// when allowed; one failing collector must not hide the others.
		metrics = promhttp.HandlerFor(mon.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
		history = http.HandlerFunc(mon.hist.serveHistory)
	}
	if acc.token != "" {
		login = http.HandlerFunc(acc.login)
	}
	statusJSON := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, status())
	})
	for _, o := range ownRoutes(statusJSON, metrics, fleetMetrics, history, login) {
		if o.h != nil {
			mux.Handle(o.method+" "+o.path, o.h)
		}
	}
	addPage(mux)
	mux.Handle("/", notFound(mux))
	return acc.wrap(mux, streams)
}

// newHTTPServer returns a server for h with bounded timeouts and headers.
// Every request's context ends when base does: the node cancels base before
// it shuts the server down, because Shutdown waits for the requests in
// flight and a stream (the chat's) would otherwise hold it up.
func newHTTPServer(base context.Context, h http.Handler) *http.Server {
	return &http.Server{
		BaseContext:       func(net.Listener) context.Context { return base },
		Handler:           h,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
	}
}

// listenHTTP opens the TCP listener of -http, so that an address in use is
// reported before the node starts.
func listenHTTP(addr string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(context.Background(), "tcp", addr)
}
