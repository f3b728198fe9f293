package main

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/chat"
	"github.com/walkie-p2p/walkie/proto"
)

// TestBuiltins: every built-in opens under its own valid, distinct name,
// and keeps its files in its own directory.
func TestBuiltins(t *testing.T) {
	var seen []string
	for _, b := range builtins() {
		if !community.ValidName(b.name) || slices.Contains(seen, b.name) {
			t.Errorf("built-in %q: invalid or listed twice", b.name)
		}
		seen = append(seen, b.name)
		data := t.TempDir()
		c, err := b.open(builtinSetup{dir: filepath.Join(data, b.name)})
		if err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		if c.Name() != b.name {
			t.Errorf("built-in %q opens a community named %q", b.name, c.Name())
		}
		if err := c.Close(); err != nil {
			t.Errorf("%s: Close: %v", b.name, err)
		}
		entries, _ := os.ReadDir(data)
		for _, e := range entries {
			if e.Name() != b.name {
				t.Errorf("%s wrote %s outside its directory", b.name, e.Name())
			}
		}
	}
	if !slices.Equal(builtinNames(), seen) {
		t.Errorf("builtinNames() = %q, want %q", builtinNames(), seen)
	}
}

// TestOpenCommunities: the -communities names in order, each the built-in
// of that name.
func TestOpenCommunities(t *testing.T) {
	opts := &options{dataDir: t.TempDir(), communities: []string{"game", "chat"}}
	list, err := openCommunities(opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(list)
	var names []string
	for _, c := range list {
		names = append(names, c.Name())
		if _, ok := c.(community.APIServer); !ok {
			t.Errorf("%s serves no API", c.Name())
		}
	}
	if !slices.Equal(names, opts.communities) {
		t.Errorf("opened %q, want %q", names, opts.communities)
	}
}

// chatEnv is a node with no members, enough for the chat to post: the
// methods a post calls (it signs with the key of the zero seed). Any other
// would panic on the nil Env.
type chatEnv struct{ community.Env }

func chatKey() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) }

func (chatEnv) Members() []community.Peer { return nil }
func (e chatEnv) Self() proto.ID          { return community.IDFromKey(e.Key()) }
func (chatEnv) Key() ed25519.PublicKey    { return chatKey().Public().(ed25519.PublicKey) }
func (chatEnv) Sign(msg []byte) []byte    { return ed25519.Sign(chatKey(), msg) }

// TestChatFlags: the retention flags reach the built-in chat.
func TestChatFlags(t *testing.T) {
	opts, err := parseFlags([]string{"-data", t.TempDir(), "-communities", "chat", "-chat-max-messages", "2"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := openCommunities(opts, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(list)
	c := list[0].(*chat.Chat)
	if err := c.Start(context.Background(), chatEnv{}); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"one", "two", "three"} {
		if _, err := c.Post(text); err != nil {
			t.Fatal(err)
		}
	}
	if h := c.History(); len(h) != 2 || h[1].Text != "three" {
		t.Errorf("history %+v, want the newest 2 of 3 (-chat-max-messages 2)", h)
	}
}
