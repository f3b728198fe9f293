package main

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/chat"
	"github.com/walkie-p2p/walkie/proto"
)

// loneEnv is a node with no members: enough for Post and History.
type loneEnv struct{}

func (loneEnv) Send(proto.ID, community.Type, []byte) error { return community.ErrUnknownPeer }
func (loneEnv) Members() []community.Peer                   { return nil }
func (loneEnv) Self() proto.ID                              { return proto.ID{1} }
func (loneEnv) WAN() netip.AddrPort                         { return netip.AddrPort{} }
func (loneEnv) Logger() *slog.Logger                        { return slog.New(slog.DiscardHandler) }

func chatServer(t *testing.T) (*httptest.Server, *chat.Chat) {
	c, err := chat.New(chat.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := c.Start(ctx, loneEnv{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	srv := httptest.NewServer(withChatAPI(http.NotFoundHandler(), c, done))
	t.Cleanup(func() { close(done); srv.Close(); cancel(); c.Close() })
	return srv, c
}

func TestChatAPI(t *testing.T) {
	srv, _ := chatServer(t)
	post := func(body string) (int, map[string]any) {
		resp, err := http.Post(srv.URL+"/api/chat", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatalf("%s: answer is not JSON: %v", body, err)
		}
		return resp.StatusCode, v
	}
	code, m := post(`{"text": "hello"}`)
	if code != 200 || m["text"] != "hello" || m["lamport"] != 1.0 || m["author"] != (proto.ID{1}).String() || m["id"] == "" {
		t.Errorf("post: %d %v", code, m)
	}
	for _, body := range []string{`{"text": `, `{"txt": "x"}`, `["x"]`, `{"text": "x"} {}`,
		`{"text": ""}`, `{"text": "` + strings.Repeat("x", chat.MaxText+1) + `"}`, `{"text": "` + strings.Repeat("x", 9000) + `"}`} {
		if code, m := post(body); code != 400 || m["error"] == nil {
			t.Errorf("%.40s: %d %v, want 400 with an error", body, code, m)
		}
	}
	resp, err := http.Get(srv.URL + "/api/chat")
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Messages []chat.Message }
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if len(h.Messages) != 1 || h.Messages[0].Text != "hello" {
		t.Errorf("history %+v", h)
	}
	if resp, err := http.Post(srv.URL+"/api/chat", "text/plain", strings.NewReader(`{"text": "csrf"}`)); err != nil || resp.StatusCode != 415 {
		t.Errorf("text/plain POST: %v %v, want 415", resp, err)
	}
	req, _ := http.NewRequest("DELETE", srv.URL+"/api/chat", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("DELETE: %v %v", resp, err)
	}
}

func TestChatStream(t *testing.T) {
	srv, c := chatServer(t)
	resp, err := http.Get(srv.URL + "/api/chat/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, ":") {
		t.Fatalf("first line %q, want a comment", line)
	}
	m, err := c.Post("streamed")
	if err != nil {
		t.Fatal(err)
	}
	var event []string
	for len(event) < 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line = strings.TrimSpace(line); line != "" {
			event = append(event, line)
		}
	}
	b, _ := json.Marshal(m)
	want := []string{"id: " + m.ID.String(), "event: message", "data: " + string(b)}
	if strings.Join(event, "\n") != strings.Join(want, "\n") {
		t.Errorf("event\n%s\nwant\n%s", strings.Join(event, "\n"), strings.Join(want, "\n"))
	}
}
