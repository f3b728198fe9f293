package chat_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
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

// loneEnv is a node with no members and the key of the zero seed: enough
// for Post and History.
type loneEnv struct{}

// loneKey is loneEnv's key.
func loneKey() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) }

func (loneEnv) Send(proto.ID, community.Type, []byte) error { return community.ErrUnknownPeer }
func (loneEnv) Members() []community.Peer                   { return nil }
func (e loneEnv) Self() proto.ID                            { return community.IDFromKey(e.Key()) }
func (loneEnv) WAN() netip.AddrPort                         { return netip.AddrPort{} }
func (loneEnv) Logger() *slog.Logger                        { return slog.New(slog.DiscardHandler) }
func (loneEnv) Key() ed25519.PublicKey                      { return loneKey().Public().(ed25519.PublicKey) }
func (loneEnv) Sign(msg []byte) []byte                      { return ed25519.Sign(loneKey(), msg) }

// keylessEnv is a node without a key, as Env.Sign allows: it cannot sign.
type keylessEnv struct{ loneEnv }

func (keylessEnv) Self() proto.ID         { return proto.ID{1} }
func (keylessEnv) Key() ed25519.PublicKey { return nil }
func (keylessEnv) Sign([]byte) []byte     { return nil }

// TestAPIPostWithoutKey: a node without a key cannot sign, so it cannot
// post: 503 with the reason, and nothing is stored.
func TestAPIPostWithoutKey(t *testing.T) {
	c, err := chat.New(chat.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(context.Background(), keylessEnv{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.API())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/api/chat", "application/json", strings.NewReader(`{"text": "hello"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(e.Error, "no key") {
		t.Errorf("POST without a key: %d %q, want 503 saying there is no key", resp.StatusCode, e.Error)
	}
	if _, err := c.Post("hello"); !errors.Is(err, chat.ErrNoKey) {
		t.Errorf("Post without a key: %v, want ErrNoKey", err)
	}
	if h := c.History(); len(h) != 0 {
		t.Errorf("history %+v, want none", h)
	}
}
