package core

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPeerIDPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	id1, err := LoadOrCreatePeerID(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id1.IsZero() {
		t.Fatal("zero peer ID")
	}
	id2, err := LoadOrCreatePeerID(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id1 != id2 {
		t.Fatalf("peer ID changed across restarts: %v then %v", id1, id2)
	}
	b, _ := os.ReadFile(filepath.Join(dir, PeerIDFile))
	if strings.TrimSpace(string(b)) != id1.String() {
		t.Fatalf("file holds %q, want %v", b, id1)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

func TestPeerIDCorruptIsAnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, PeerIDFile)
	for _, content := range []string{"", "not-a-uuid\n", "00000000-0000-0000-0000-000000000000"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreatePeerID(dir)
		if err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Fatalf("content %q: err %v, want a 'corrupt' error", content, err)
		}
		b, _ := os.ReadFile(path)
		if string(b) != content {
			t.Fatalf("corrupt file was overwritten with %q", b)
		}
	}
}
