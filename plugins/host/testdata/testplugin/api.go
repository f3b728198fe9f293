package main

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/walkie-p2p/walkie/plugins/host"
	"github.com/walkie-p2p/walkie/plugins/httpjson"
)

// API implements community.APIServer with a route for each way an API can
// behave or fail:
//
//	GET  /api/echo/hello   {"path", "query", "host", "authorization", "cookie"}, and a Set-Cookie the node drops
//	POST /api/echo/body    {"bytes": N}, the size of the body it got
//	GET  /api/echo/status  418, with a header of its own
//	GET  /api/echo/slow    never answers (ignores its context, as a stuck handler would)
//	GET  /api/echo/exit    the process exits mid-request
//	GET  /api/echo/panic   the handler panics
//	GET  /api/echo/large   ?n=N: N bytes a..z, a..z, ... in two writes
//	GET  /api/echo/big     an answer one byte over host.MaxHTTPResponseBody
//	GET  /api/echo/badheader an answer with a header name no HTTP allows
//	GET  /api/echo/stream  events "tick" 1, 2, ... every 20 ms until the client goes; logs "stream ended"
func (e *echo) API() http.Handler {
	own := httpjson.NewStreams(0, 0)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/echo/hello", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "walkie_token_1874", Value: "stolen"})
		httpjson.Write(w, http.StatusOK, map[string]string{"path": r.URL.Path, "query": r.URL.RawQuery, "host": r.Host,
			"authorization": r.Header.Get("Authorization"), "cookie": r.Header.Get("Cookie")})
	})
	mux.HandleFunc("POST /api/echo/body", func(w http.ResponseWriter, r *http.Request) {
		var n int
		buf := make([]byte, 32<<10)
		for {
			k, err := r.Body.Read(buf)
			n += k
			if err != nil {
				break
			}
		}
		httpjson.Write(w, http.StatusOK, map[string]int{"bytes": n})
	})
	mux.HandleFunc("GET /api/echo/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", "teapot")
		httpjson.Error(w, http.StatusTeapot, "short and stout")
	})
	mux.HandleFunc("GET /api/echo/slow", func(http.ResponseWriter, *http.Request) {
		time.Sleep(time.Hour)
	})
	mux.HandleFunc("GET /api/echo/exit", func(http.ResponseWriter, *http.Request) {
		os.Exit(3)
	})
	mux.HandleFunc("GET /api/echo/panic", func(http.ResponseWriter, *http.Request) {
		panic("testplugin: HTTP panic on request")
	})
	mux.HandleFunc("GET /api/echo/large", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + i%26)
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(b[:n/3]) // pieces of odd sizes, the last written as the handler returns
		w.Write(b[n/3:])
	})
	mux.HandleFunc("GET /api/echo/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", host.MaxHTTPResponseBody+1)))
	})
	mux.HandleFunc("GET /api/echo/badheader", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Bad Name"] = []string{"x"}
		w.Write([]byte("{}"))
	})
	mux.HandleFunc("GET /api/echo/stream", func(w http.ResponseWriter, r *http.Request) {
		st, ok := httpjson.OpenStream(w, r, own)
		if !ok {
			return
		}
		defer st.Close()
		defer e.env.Logger().Info("stream ended")
		if st.Comment("echo stream") != nil {
			return
		}
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for i := 1; ; i++ {
			select {
			case <-r.Context().Done():
				return
			case <-t.C:
			}
			if st.Event("", "tick", []byte(strings.Repeat("|", i%3)+"tick")) != nil {
				return
			}
		}
	})
	return mux
}
