package core

import (
	"bytes"
	"crypto/ed25519"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/community"
)

func TestIdentityPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	id1, err := LoadOrCreateIdentity(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !id1.ID.KeyDerived() || id1.ID != community.IDFromKey(id1.Key.Public().(ed25519.PublicKey)) {
		t.Fatalf("peer ID %v is not the UUIDv5 of the key", id1.ID)
	}
	id2, err := LoadOrCreateIdentity(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id1.ID != id2.ID || !id1.Key.Equal(id2.Key) {
		t.Fatalf("identity changed across restarts: %v then %v", id1.ID, id2.ID)
	}
	b, _ := os.ReadFile(filepath.Join(dir, PeerIDFile))
	if strings.TrimSpace(string(b)) != id1.ID.String() {
		t.Fatalf("peer-id holds %q, want %v", b, id1.ID)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
	// peer-id is rewritten from the key if it was lost.
	os.Remove(filepath.Join(dir, PeerIDFile))
	if id3, err := LoadOrCreateIdentity(dir, nil); err != nil || id3.ID != id1.ID {
		t.Fatalf("after losing peer-id: %v, %v", id3.ID, err)
	}
}

// A corrupt key file is an error that names it, and stays as it was: a
// node never silently becomes somebody else.
func TestIdentityCorruptKeyIsAnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFile)
	for _, content := range []string{"", "not a key\n", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateIdentity(dir, nil)
		if err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), path) {
			t.Fatalf("content %q: err %v, want a 'corrupt' error naming %s", content, err, path)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Fatalf("corrupt key file was overwritten with %q", b)
		}
	}
}

func TestIdentityCorruptPeerIDIsAnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, PeerIDFile)
	for _, content := range []string{"", "not-a-uuid\n", "00000000-0000-0000-0000-000000000000"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateIdentity(dir, nil)
		if err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Fatalf("content %q: err %v, want a 'corrupt' error", content, err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Fatalf("corrupt file was overwritten with %q", b)
		}
		if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
			t.Fatal("a key was made next to a corrupt peer-id")
		}
	}
}

// A node of the previous release (a random peer ID, no key) upgrades: it
// gets a key, the old ID is kept in peer-id.old, and the log says both.
func TestIdentityUpgradesAnOldPeerID(t *testing.T) {
	dir := t.TempDir()
	old := uuid.New()
	if err := os.WriteFile(filepath.Join(dir, PeerIDFile), []byte(old.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	id, err := LoadOrCreateIdentity(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !id.ID.KeyDerived() {
		t.Fatalf("new peer ID %v is not key-derived", id.ID)
	}
	kept, _ := os.ReadFile(filepath.Join(dir, OldPeerIDFile))
	if strings.TrimSpace(string(kept)) != old.String() {
		t.Fatalf("%s holds %q, want the old ID %v", OldPeerIDFile, kept, old)
	}
	if !strings.Contains(logs.String(), old.String()) || !strings.Contains(logs.String(), id.ID.String()) {
		t.Fatalf("the log does not name both IDs:\n%s", logs.String())
	}
	again, err := LoadOrCreateIdentity(dir, nil)
	if err != nil || again.ID != id.ID {
		t.Fatalf("after the upgrade: %v, %v; want %v", again.ID, err, id.ID)
	}
}

// A key-derived peer ID without its key means the key was lost: an error
// that says so, never a new identity in its place.
func TestIdentityLostKeyIsAnError(t *testing.T) {
	dir := t.TempDir()
	id, err := LoadOrCreateIdentity(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, KeyFile))
	_, err = LoadOrCreateIdentity(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "missing") || !strings.Contains(err.Error(), id.ID.String()) {
		t.Fatalf("err %v, want one that names the lost key's ID", err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
		t.Fatal("a new key was made in place of the lost one")
	}
}
