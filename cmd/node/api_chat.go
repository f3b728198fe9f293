package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/walkie-p2p/walkie/internal/httpjson"
	"github.com/walkie-p2p/walkie/plugins/chat"
)

// The chat API, for a local app (an Android UI, a web page) on the -http
// address:
//
//	POST /api/chat         {"text": "..."} -> 200 the message as JSON
//	GET  /api/chat         -> 200 {"messages": [...]}, the history in order
//	GET  /api/chat/stream  -> server-sent events, one "message" event per new message
//
// Errors are JSON {"error": "..."}: 400 for bad JSON or a bad text (empty,
// over chat.MaxText bytes, not UTF-8), 415 for a POST that is not
// application/json, 503 while the node is not running.
const (
	chatMaxRequest     = 8 << 10 // bytes of a POST body: MaxText escaped, with room to spare
	chatStreamKeepOpen = 15 * time.Second
)

// withChatAPI serves the chat API on top of h (the node's other routes).
// Streams end when done closes, so that the HTTP server can shut down. With
// no chat it returns h unchanged.
func withChatAPI(h http.Handler, c *chat.Chat, done <-chan struct{}) http.Handler {
	if c == nil {
		return h
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) { postChat(w, r, c) })
	mux.HandleFunc("GET /api/chat", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, struct {
			Messages []chat.Message `json:"messages"`
		}{Messages: append([]chat.Message{}, c.History()...)})
	})
	mux.HandleFunc("GET /api/chat/stream", func(w http.ResponseWriter, r *http.Request) { streamChat(w, r, c, done) })
	mux.HandleFunc("/api/chat", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD, POST")
		httpjson.Error(w, http.StatusMethodNotAllowed, r.Method+" not allowed")
	})
	return mux
}

// postChat posts the text of a JSON request.
func postChat(w http.ResponseWriter, r *http.Request, c *chat.Chat) {
	var req struct {
		Text *string `json:"text"`
	}
	if !httpjson.Read(w, r, chatMaxRequest, &req) {
		return
	}
	if req.Text == nil {
		httpjson.Error(w, http.StatusBadRequest, `bad JSON: want {"text": "..."}`)
		return
	}
	m, err := c.Post(*req.Text)
	switch {
	case errors.Is(err, chat.ErrBadText):
		httpjson.Error(w, http.StatusBadRequest, err.Error())
	case err != nil:
		httpjson.Error(w, http.StatusServiceUnavailable, err.Error())
	default:
		httpjson.Write(w, http.StatusOK, m)
	}
}

// streamChat sends every new message as a server-sent event until the
// client goes, the node stops, or the client falls too far behind (then it
// should reconnect and read GET /api/chat again).
func streamChat(w http.ResponseWriter, r *http.Request, c *chat.Chat, done <-chan struct{}) {
	rc := http.NewResponseController(w)
	// The server's WriteTimeout is meant for small documents; a stream
	// lives as long as the client.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "streaming unsupported: "+err.Error())
		return
	}
	msgs, stop := c.Subscribe()
	defer stop()
	httpjson.SetHeaders(w, "text/event-stream")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, ": walkie chat\n\n")
	rc.Flush()
	tick := time.NewTicker(chatStreamKeepOpen)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-done:
			return
		case <-tick.C:
			io.WriteString(w, ": keep-alive\n\n") // proxies close silent streams
		case m, ok := <-msgs:
			if !ok {
				return
			}
			b, _ := json.Marshal(m)
			fmt.Fprintf(w, "id: %s\nevent: message\ndata: %s\n\n", m.ID, b)
		}
		if rc.Flush() != nil {
			return
		}
	}
}
