package game_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/game"
	"github.com/walkie-p2p/walkie/proto"
)

// gameEnv is an Env with one member, 0000...0002, that swallows messages.
type gameEnv struct{}

func (gameEnv) Send(proto.ID, community.Type, []byte) error { return nil }
func (gameEnv) Members() []community.Peer                   { return []community.Peer{{ID: proto.ID{15: 2}}} }
func (gameEnv) Self() proto.ID                              { return proto.ID{15: 1} }
func (gameEnv) WAN() netip.AddrPort                         { return netip.AddrPort{} }
func (gameEnv) Logger() *slog.Logger                        { return slog.New(slog.DiscardHandler) }
func (gameEnv) Key() ed25519.PublicKey                      { return nil }
func (gameEnv) Sign([]byte) []byte                          { return nil }

func TestAPI(t *testing.T) {
	g := game.New(game.Config{})
	h := g.API()
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %d %q is not JSON", method, path, w.Code, w.Body)
		}
		return w.Code, out
	}
	const member = `{"peer": "00000000-0000-0000-0000-000000000002"}`
	csrf := httptest.NewRequest("POST", "/api/game/challenge", strings.NewReader(member))
	csrf.Header.Set("Content-Type", "text/plain") // what a cross-origin form can send
	w := httptest.NewRecorder()
	h.ServeHTTP(w, csrf)
	if w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain POST: %d, want 415", w.Code)
	}
	if code, out := do("POST", "/api/game/challenge", member); code != 503 {
		t.Errorf("before Start: %d %v", code, out)
	}
	if err := g.Start(context.Background(), gameEnv{}); err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	for _, tc := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/api/game/challenge", `{"peer": `, 400, "bad JSON"},
		{"/api/game/challenge", `{"peer": "x", "extra": 1}`, 400, "bad JSON"},
		{"/api/game/challenge", `{"peer": "not-an-id"}`, 400, "peer ID"},
		{"/api/game/challenge", `{"peer": "00000000-0000-0000-0000-000000000009"}`, 400, "not a member"},
		{"/api/game/challenge", `{"peer": "00000000-0000-0000-0000-000000000001"}`, 400, "yourself"},
		{"/api/game/move", `{"game": "00112233445566778899aabbccddeeff", "move": "rock"}`, 404, "no such game"},
		{"/api/game/move", `{"game": "0011", "move": "rock"}`, 400, "32 hex digits"},
		{"/api/game/move", `{"game": "00112233445566778899aabbccddeeff", "move": "lizard"}`, 400, "unknown move"},
		{"/api/game/move", strings.Repeat(" ", 5000) + "{}", 400, "bad JSON"},
	} {
		code, out := do("POST", tc.path, tc.body)
		if msg, _ := out["error"].(string); code != tc.code || !strings.Contains(msg, tc.want) {
			t.Errorf("POST %s %.40q: %d %v; want %d and %q", tc.path, tc.body, code, out, tc.code, tc.want)
		}
	}

	code, out := do("POST", "/api/game/challenge", member)
	id, _ := out["game"].(string)
	if code != 200 || len(id) != 32 {
		t.Fatalf("challenge: %d %v", code, out)
	}
	move := `{"game": "` + id + `", "move": "Paper"}`
	if code, out := do("POST", "/api/game/move", move); code != 200 || out["played"] != true || out["mine"] != "paper" {
		t.Errorf("move: %d %v", code, out)
	}
	if code, out := do("POST", "/api/game/move", move); code != 409 {
		t.Errorf("second move: %d %v", code, out)
	}
	if code, out := do("GET", "/api/game/games", ""); code != 200 || len(out["games"].([]any)) != 1 {
		t.Errorf("games: %d %v", code, out)
	}
	if code, out := do("GET", "/api/game/scores", ""); code != 200 || len(out["scores"].([]any)) != 0 {
		t.Errorf("scores: %d %v", code, out)
	}
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/api/game/move", 405, "POST"},
		{"POST", "/api/game/games", 405, "GET, HEAD"},
		{"GET", "/api/game", 404, ""},
		{"GET", "/api/game/", 404, ""},
		{"GET", "/api/game/nothing", 404, ""},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var out struct{ Error string }
		err := json.Unmarshal(w.Body.Bytes(), &out)
		if w.Code != tc.code || err != nil || out.Error == "" || w.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q, %q; want %d, Allow %q and a JSON error", tc.method, tc.path,
				w.Code, w.Header().Get("Allow"), w.Body, tc.code, tc.allow)
		}
	}
}

// TestAPIName: a game named otherwise serves under its own name only.
func TestAPIName(t *testing.T) {
	h := game.New(game.Config{Name: "rps"}).API()
	for path, want := range map[string]int{"/api/rps/games": 200, "/api/game/games": 404} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("GET %s: %d, want %d", path, w.Code, want)
		}
	}
}
