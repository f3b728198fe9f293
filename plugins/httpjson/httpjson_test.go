package httpjson

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	w := httptest.NewRecorder()
	Error(w, http.StatusTeapot, `no "tea"`)
	h := w.Header()
	if w.Code != http.StatusTeapot || w.Body.String() != `{"error":"no \"tea\""}`+"\n" ||
		h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%d %q %v", w.Code, w.Body, h)
	}
	w = httptest.NewRecorder()
	Write(w, http.StatusOK, func() {}) // not JSON
	if w.Code != http.StatusInternalServerError {
		t.Errorf("unmarshalable value: %d", w.Code)
	}
}

func TestRead(t *testing.T) {
	type req struct {
		Text string `json:"text"`
	}
	for _, tc := range []struct {
		ctype, body string
		strict      bool
		code        int    // 0: Read succeeds
		want        string // in the error
	}{
		{"application/json", `{"text": "a"}`, true, 0, ""},
		{"application/json; charset=utf-8", `{"text": "a"}` + " \n", false, 0, ""},
		{"application/json", `{"text": "a", "more": 1}`, false, 0, ""},
		{"application/json", `{"text": "a", "more": 1}`, true, 400, "unknown field"},
		{"text/plain", `{"text": "a"}`, false, 415, "Content-Type must be application/json"},
		{"", `{"text": "a"}`, false, 415, "Content-Type"},
		{"application/json", `{"text": `, false, 400, "bad JSON"},
		{"application/json", `{"text": "a"} {}`, false, 400, "trailing data"},
		{"application/json", `{"text": "a"} }`, false, 400, "trailing data"},
		{"application/json", `{"text": "` + strings.Repeat("x", 100) + `"}`, false, 400, "too large"},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ctype)
		w := httptest.NewRecorder()
		var v req
		read := Read
		if tc.strict {
			read = ReadStrict
		}
		ok := read(w, r, 64, &v)
		switch {
		case tc.code == 0 && (!ok || v.Text != "a" || w.Body.Len() != 0):
			t.Errorf("%q %.30q: ok %v, %+v, answered %d %q", tc.ctype, tc.body, ok, v, w.Code, w.Body)
		case tc.code != 0 && (ok || w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want)):
			t.Errorf("%q %.30q: ok %v, answered %d %q; want %d with %q", tc.ctype, tc.body, ok, w.Code, w.Body, tc.code, tc.want)
		}
	}
}
