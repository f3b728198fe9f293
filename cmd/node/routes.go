package main

import (
	"net/http"
	"strings"

	"github.com/walkie-p2p/walkie/plugins/httpjson"
)

// route is one method and path of the node's local HTTP API. A "GET"
// route also answers HEAD, as net/http's patterns do.
type route struct {
	method, path string
}

// apiRoutes lists the local API as docs/openapi.json describes it: the
// node's own routes (ownRoutes registers exactly these) and those of the
// built-in communities' APIs (plugins/chat/api.go, plugins/game/api.go).
// A test checks it against both the description and the code, either
// way. The status page (/, /page/NAME) is no API and not listed.
func apiRoutes() []route {
	return []route{
		{"GET", "/status"},
		{"GET", "/metrics"},
		{"GET", "/metrics/fleet"},
		{"GET", "/history"},
		{"POST", "/login"},
		{"GET", "/api/chat"},
		{"POST", "/api/chat"},
		{"GET", "/api/chat/stream"},
		{"POST", "/api/game/challenge"},
		{"POST", "/api/game/move"},
		{"GET", "/api/game/games"},
		{"GET", "/api/game/scores"},
		{"GET", "/api/game/stream"},
	}
}

// served is a route of the node's own with its handler; nil when the
// node does not serve it (no monitor in tests, no token on loopback, no
// collector).
type served struct {
	route
	h http.Handler
}

// ownRoutes returns the node's own routes and their handlers, each of
// apiRoutes that is not under /api/.
func ownRoutes(status, metrics, fleetMetrics, history, login http.Handler) []served {
	return []served{
		{route{"GET", "/status"}, status},
		{route{"GET", "/metrics"}, metrics},
		{route{"GET", "/metrics/fleet"}, fleetMetrics},
		{route{"GET", "/history"}, history},
		{route{"POST", "/login"}, login},
	}
}

// notFound is the node's catch-all, registered as "/" on mux: a path that
// mux serves with another method gets 405 with Allow, any other path 404,
// both as JSON like every other answer of the API.
func notFound(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{"GET", "POST"} {
			probe := &http.Request{Method: m, URL: r.URL, Host: r.Host}
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allow = append(allow, m)
				if m == "GET" {
					allow = append(allow, "HEAD")
				}
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			httpjson.Error(w, http.StatusMethodNotAllowed, r.Method+" not allowed")
			return
		}
		httpjson.Error(w, http.StatusNotFound, "no such path: the local API is /status, /metrics, /history and /api/NAME of each community (docs/openapi.json)")
	}
}
