package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"time"

	"github.com/walkie-p2p/walkie/core"
)

// Limits of the HTTP server. It serves a few small JSON documents to
// operators and scrapers, so every limit is tight.
const (
	httpReadHeaderTimeout = 5 * time.Second
	httpReadTimeout       = 10 * time.Second
	httpWriteTimeout      = 10 * time.Second
	httpIdleTimeout       = 60 * time.Second
	httpMaxHeaderBytes    = 16 << 10
	httpShutdownTimeout   = 3 * time.Second
)

// newHandler returns the node's HTTP handler: GET (or HEAD) /status serves
// status() as JSON. Other paths are 404; other methods on /status are 405.
// /metrics and the HTML page at / come later.
func newHandler(status func() core.Status) http.Handler {
	mux := http.NewServeMux()
	// A "GET" pattern also matches HEAD; the mux answers other methods
	// with 405 and an Allow header.
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		b, err := json.Marshal(status())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write(append(b, '\n'))
	})
	return mux
}

// newHTTPServer returns a server for h with bounded timeouts and headers.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
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
