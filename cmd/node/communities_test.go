package main

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/chat"
	"github.com/walkie-p2p/walkie/plugins/game"
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

// TestGameScoresFile: the built-in game keeps its score table in
// DATA/game/scores.json, reads it at start, and a corrupt one stops the
// node with one line that names it, the file left as it was.
func TestGameScoresFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "game", game.ScoresFile)
	const kept = `{"version": 1, "scores": [{"peer": "00000000-0000-0000-0000-000000000002", "wins": 3, "losses": 1, "draws": 0}]}`
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(kept), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := openCommunities(&options{dataDir: dir, communities: []string{"game"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s := list[0].(*game.Community).Scores()
	closeAll(list)
	if len(s) != 1 || s[0].Wins != 3 || s[0].Losses != 1 {
		t.Errorf("scores %+v, want those of %s", s, path)
	}

	const corrupt = `{"version": 1, "scores": [{"peer": "00000000-0000-0000-0000-0000000`
	if err := os.WriteFile(path, []byte(corrupt), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr safeBuffer
	if code := run(context.Background(), quietArgs(dir), io.Discard, &stderr); code != exitError {
		t.Errorf("exit code %d, want %d", code, exitError)
	}
	checkOneLine(t, stderr.String(), path+" is corrupt")
	if b, _ := os.ReadFile(path); string(b) != corrupt {
		t.Errorf("the file now holds %q", b)
	}
}
