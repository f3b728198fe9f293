// Package httpjson is the one shape of every JSON answer of a walkie node's
// local HTTP server, whether the node or a community's API gives it: a
// snapshot that is never cached nor sniffed, errors as {"error": "..."},
// and request bodies that are bounded and must say they are JSON.
package httpjson

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
)

// SetHeaders sets Content-Type to ctype and forbids caching and content
// sniffing: every answer is a snapshot, and a browser must never run one as
// HTML. Streams (text/event-stream) use it too.
func SetHeaders(w http.ResponseWriter, ctype string) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// Write answers v as JSON with status code.
func Write(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	SetHeaders(w, "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// Error answers {"error": msg} with status code.
func Error(w http.ResponseWriter, code int, msg string) {
	Write(w, code, struct {
		Error string `json:"error"`
	}{msg})
}

// Read decodes one JSON value of at most maxBytes from the body of r into
// v. On failure it answers 415 (not application/json) or 400 (bad, too
// large or trailing JSON) and returns false; the caller just returns.
//
// It insists on the JSON content type: a web page the user visits may send
// a plain-text or form POST to 127.0.0.1 without asking, but a JSON one
// needs a CORS preflight, which the node never grants.
func Read(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) bool {
	return read(w, r, maxBytes, v, false)
}

// ReadStrict is Read that also refuses fields v does not have.
func ReadStrict(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) bool {
	return read(w, r, maxBytes, v, true)
}

func read(w http.ResponseWriter, r *http.Request, maxBytes int64, v any, strict bool) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		Error(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		Error(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		Error(w, http.StatusBadRequest, "bad JSON: trailing data after the value")
		return false
	}
	return true
}
