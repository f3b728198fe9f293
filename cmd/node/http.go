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
// scrapers and one status page, so every limit is tight.
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
//	GET  /          the status page (page.go), which polls the three below
//	GET  /status    status() as JSON (core.Status: its field names are a contract)
//	GET  /metrics   mon's registry in the Prometheus text format
//	GET  /metrics/fleet  a collector's fleet (plugins/fleet), the same format
//	GET  /history   the peer counts of the last minutes, for the page's chart
//	POST /login     {"token": "..."}: sets the login cookie (only when acc has a token)
//	/api/NAME       the API of each community that serves one
//	                (community.APIServer), and everything under /api/NAME/
//
// A "GET" pattern also matches HEAD; other methods get 405 with an Allow
// header, other paths 404. Before any of them, acc's rules apply (Host,
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
		if f, ok := c.(*fleet.Fleet); ok && f.Handler() != nil {
			mux.Handle("GET /metrics/fleet", f.Handler()) // a collector's reporters, each series with its peer label
		}
		if a, ok := c.(community.APIServer); ok {
			// Names are distinct and valid, so no two communities share
			// a path and none reaches the node's own routes.
			h, root := a.API(), "/api/"+c.Name()
			mux.Handle(root, h)
			mux.Handle(root+"/", h)
		}
	}
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, status())
	})
	if mon != nil {
		// promhttp answers in the format the scraper asks for and gzips
		// when allowed; one failing collector must not hide the others.
		mux.Handle("GET /metrics", promhttp.HandlerFor(mon.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
		mux.HandleFunc("GET /history", mon.hist.serveHistory)
	}
	if acc.token != "" {
		mux.HandleFunc("POST /login", acc.login)
	}
	addPage(mux)
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
