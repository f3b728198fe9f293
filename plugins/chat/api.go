package chat

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/httpjson"
)

// Limits of the API.
const (
	apiMaxRequest = 8 << 10 // bytes of a POST body: MaxText escaped, with room to spare
)

var _ community.APIServer = (*Chat)(nil)

// API returns the chat's local HTTP API (community.APIServer), for an app on
// the node's -http address; NAME is the chat's Name, "chat" by default:
//
//	POST /api/NAME         {"text": "..."} -> 200 the message as JSON, signed by the node
//	GET  /api/NAME         -> 200 {"messages": [...], "next": "cursor" or null}:
//	                          the newest page of the history, in order;
//	                          ?limit=N (default 100, at most 500; more is 500)
//	                          and ?before=CURSOR (a "next") for the page before
//	GET  /api/NAME/stream  -> server-sent events, one "message" event per new message,
//	                          a keep-alive comment every 15 s
//
// A message in JSON is {"id", "author", "lamport", "text", "signed"}, and
// when signed (every message since chat protocol version 2) "key" and
// "sig" in hex as well; an unsigned one was kept from before the upgrade.
//
// A stream counts against the node's cap on open streams
// (httpjson.MaxStreams, shared by every community) and is cut off when one
// write takes longer than httpjson.StreamWriteTimeout.
//
// Errors are JSON {"error": "..."}: 400 for bad JSON or a bad text (empty,
// over MaxText bytes, not UTF-8) or a bad limit or cursor, 415 for a POST
// that is not application/json, 503 while the community is not running, for
// a POST on a node without a key to sign with, or when too many streams are
// open, 405 for a wrong method and 404 for any other path under /api/NAME/.
func (c *Chat) API() http.Handler {
	root := "/api/" + c.Name()
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+root, c.postAPI)
	mux.HandleFunc("GET "+root, c.pageAPI)
	// Its own cap on streams, for when it is served outside a node; in a
	// node the node's cap applies (httpjson.OpenStream).
	streams := httpjson.NewStreams(httpjson.MaxStreams, httpjson.StreamWriteTimeout)
	mux.HandleFunc("GET "+root+"/stream", func(w http.ResponseWriter, r *http.Request) { c.stream(w, r, streams) })
	// The catch-alls keep every answer JSON.
	allow := map[string]string{root: "GET, HEAD, POST", root + "/stream": "GET, HEAD"}
	notAllowed := func(w http.ResponseWriter, r *http.Request) {
		if a, ok := allow[r.URL.Path]; ok {
			w.Header().Set("Allow", a)
			httpjson.Error(w, http.StatusMethodNotAllowed, r.Method+" not allowed")
			return
		}
		httpjson.Error(w, http.StatusNotFound, "no such endpoint")
	}
	mux.HandleFunc(root, notAllowed)
	mux.HandleFunc(root+"/", notAllowed)
	return mux
}

// Pages of GET /api/NAME.
const (
	apiPage    = 100 // messages in a page without ?limit
	apiMaxPage = 500 // the most a page holds; a larger ?limit is taken as this
)

// pageAPI answers one page of the history: ?limit=N (default apiPage, at
// most apiMaxPage) messages before the cursor ?before= (the newest without
// it), in order, with the cursor of the page before in "next" (null when
// there is none).
func (c *Chat) pageAPI(w http.ResponseWriter, r *http.Request) {
	limit := apiPage
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			httpjson.Error(w, http.StatusBadRequest, "bad limit: want a positive number (pages hold at most "+strconv.Itoa(apiMaxPage)+")")
			return
		}
		limit = min(n, apiMaxPage)
	}
	msgs, next, err := c.Page(r.URL.Query().Get("before"), limit)
	switch {
	case errors.Is(err, ErrBadCursor):
		httpjson.Error(w, http.StatusBadRequest, "bad cursor: pass back a \"next\" of an earlier answer")
		return
	case err != nil:
		httpjson.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	page := struct {
		Messages []Message `json:"messages"`
		Next     *string   `json:"next"`
	}{Messages: append([]Message{}, msgs...)}
	if next != "" {
		page.Next = &next
	}
	httpjson.Write(w, http.StatusOK, page)
}

// postAPI posts the text of a JSON request.
func (c *Chat) postAPI(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Text *string `json:"text"`
	}
	if !httpjson.Read(w, r, apiMaxRequest, &req) {
		return
	}
	if req.Text == nil {
		httpjson.Error(w, http.StatusBadRequest, `bad JSON: want {"text": "..."}`)
		return
	}
	m, err := c.Post(*req.Text)
	switch {
	case errors.Is(err, ErrBadText):
		httpjson.Error(w, http.StatusBadRequest, err.Error())
	case err != nil:
		httpjson.Error(w, http.StatusServiceUnavailable, err.Error())
	default:
		httpjson.Write(w, http.StatusOK, m)
	}
}

// stream sends every new message as a server-sent event until the client
// goes, the node's HTTP server shuts down (both end r.Context()), the chat
// closes, the client falls too far behind (then it should reconnect and
// read GET /api/NAME again) or stops reading (a write takes longer than
// the stream's write timeout). streams is the API's own cap, for when no
// node's cap is in r's context (httpjson.OpenStream).
func (c *Chat) stream(w http.ResponseWriter, r *http.Request, streams *httpjson.Streams) {
	st, ok := httpjson.OpenStream(w, r, streams)
	if !ok {
		return
	}
	defer st.Close()
	// Subscribe before the opening line: a client that posts once it has
	// read it must see its message.
	msgs, stop := c.Subscribe()
	defer stop()
	httpjson.Serve(r.Context(), st, "walkie chat", msgs, func(m Message) (string, string, []byte) {
		b, _ := json.Marshal(m)
		return m.ID.String(), "message", b
	})
}
