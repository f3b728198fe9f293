package community

import "net/http"

// APIServer is implemented by a community that serves a local HTTP API, for
// an app on the same machine (a phone's UI, a web page). It is optional: the
// node checks each community it runs for it.
//
// The node mounts API() on its HTTP listener (walkie -http) at /api/NAME
// and everything under /api/NAME/, NAME being the community's Name, and
// sends it nothing else: one community cannot answer for another's paths
// or the node's own. The handler sees the full path. The server's limits
// apply to every request: bounded headers, and deadlines to read a request
// and to write its answer. A stream of events opens with
// plugins/httpjson.OpenStream, which counts it against the node's cap on
// open streams (shared by every community) and gives each write its own
// deadline instead of the server's. Requests may come before Start has
// run; answer them with an error (the built-in communities say 503). The
// node checks every request's Host, Origin and token before the handler
// sees it (docs/security.md).
//
// r.Context() ends when the node's HTTP server shuts down, before the
// server waits for the requests in flight; a long-lived answer (a stream of
// events) must watch it and return, or it holds up the node's shutdown.
type APIServer interface {
	// API returns the handler. The node calls it once, when it sets up its
	// HTTP server. nil means no API after all: a plugin host (plugins/host)
	// learns only at run time whether its plugin serves one.
	API() http.Handler
}
