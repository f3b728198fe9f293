package chat

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core/coretest"
)

// release1 copies the chat.db that a node of the release before signed
// messages wrote (testdata/release1) into dir, and returns the history that
// release showed.
func release1(t *testing.T, dir string) []Message {
	t.Helper()
	in, err := os.Open(filepath.Join("testdata", "release1", "chat.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "release1", "history.json"))
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Messages []Message }
	if err := json.Unmarshal(b, &h); err != nil || len(h.Messages) == 0 {
		t.Fatalf("history.json: %d messages, %v", len(h.Messages), err)
	}
	return h.Messages
}

// A chat.db written by the release before signed messages opens with every
// message, in its order, marked unsigned (JSON "signed": false and no key);
// the node posts signed messages after them, and survives a restart. The
// unsigned ones stay on this node: a node that joins gets the signed post
// by sync, never the old ones.
func TestRelease1FileOpensUnsigned(t *testing.T) {
	opts := coretest.Options{Nodes: 2, Latency: 10 * time.Millisecond, Dir: t.TempDir()}
	old := release1(t, opts.NodeDir(0))
	synctest.Test(t, func(t *testing.T) {
		net, chats, _ := mixedRoom(t, opts, Config{}, func(int) bool { return false })
		h := chats[0].History()
		if !slices.Equal(h, old) {
			t.Fatalf("history %+v\nwant the release's %+v", h, old)
		}
		for _, m := range h {
			b, _ := json.Marshal(m)
			var raw map[string]any
			json.Unmarshal(b, &raw)
			if m.Signed || raw["signed"] != false || raw["key"] != nil || raw["sig"] != nil || len(raw) != 5 {
				t.Fatalf("an old message shows as %s, want it unsigned", b)
			}
		}
		net.WaitMembers(DefaultName)
		p := mustPost(t, chats[0], "after the upgrade")
		if !p.Signed || p.Lamport != old[len(old)-1].Lamport+1 {
			t.Errorf("post %+v, want signed, after the old history", p)
		}
		if _, err := net.WaitFor(time.Minute, func() error {
			if !holds(chats[1], p.ID) {
				return errors.New("the new node lacks the post")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Second) // twenty sync rounds each
		if h := chats[1].History(); !slices.Equal(h, []Message{p}) {
			t.Errorf("the new node holds %d messages, want only the signed post", len(h))
		}
		if s := chats[0].Stats(); s.SyncSent != 0 {
			t.Errorf("node 0 sent %d messages by sync, want none (the new node had the post)", s.SyncSent)
		}
		net.Restart(0)
		if h := chats[0].History(); !slices.Equal(h, append(slices.Clone(old), p)) {
			t.Errorf("after a restart %d messages, want the %d old and the post", len(h), len(old))
		}
	})
}

// The unsigned messages of an old file are never offered in sync, whatever
// the request's range and filter: no node of this version would take them.
// In a bubble, as the file was written: its store clock notes are of the
// bubble's time (2000), and retention would delete what is 30 days old.
func TestUnsignedNeverOffered(t *testing.T) {
	dir := t.TempDir()
	old := release1(t, dir)
	synctest.Test(t, func(t *testing.T) {
		s, err := openStore(dir, roomy(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer s.close()
		if a := mustAdd(t, s, signedBy(testKey(1), 2, "signed, among the old ones"), time.Now()); a.outcome != stored {
			t.Fatalf("adding a signed message: %+v", a)
		}
		got, err := s.missing(&syncRequest{Lo: 0, Hi: ^uint64(0), Bits: make([]byte, minFilterBytes)}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !isSigned(got[0]) {
			t.Errorf("offered %d messages of %d, want only the signed one", len(got), len(old)+1)
		}
	})
}
