package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/walkie-p2p/walkie/core"
)

// quietArgs are the flags of a node that touches nothing outside the test:
// loopback only, ephemeral ports, no multicast.
func quietArgs(dir string, extra ...string) []string {
	return append([]string{"-data", dir, "-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-lan-discovery=false"}, extra...)
}

var peerIDLog = regexp.MustCompile(`msg="walkie started" peer_id=([0-9a-f-]{36}) `)

// runCancelled runs a node with a context that is already done and returns
// the peer ID from its start line.
func runCancelled(t *testing.T, args []string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr safeBuffer
	if code := run(ctx, args, &stdout, &stderr); code != exitOK {
		t.Fatalf("run = %d, stderr:\n%s", code, stderr.String())
	}
	m := peerIDLog.FindStringSubmatch(stderr.String())
	if m == nil || !strings.Contains(stderr.String(), "msg=stopped") {
		t.Fatalf("no start or stop line in:\n%s", stderr.String())
	}
	return m[1]
}

// TestRunCancelledKeepsPeerID checks that a node started with a cancelled
// context exits 0, and that its peer ID is written and reused.
func TestRunCancelledKeepsPeerID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state") // created by the node
	id1 := runCancelled(t, quietArgs(dir))
	b, err := os.ReadFile(filepath.Join(dir, core.PeerIDFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(b)) != id1 {
		t.Errorf("peer-id file %q, logged %s", b, id1)
	}
	if id2 := runCancelled(t, quietArgs(dir)); id2 != id1 {
		t.Errorf("second run has peer ID %s, first %s", id2, id1)
	}
	if id3 := runCancelled(t, quietArgs(t.TempDir())); id3 == id1 {
		t.Errorf("a fresh data directory got the same peer ID %s", id3)
	}
}

// TestRunServesStatus runs a node until its context is cancelled and reads
// its /status and the API of the one community it runs in between.
func TestRunServesStatus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, quietArgs(t.TempDir(), "-communities", "chat", "-announce", "x-1"), io.Discard, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var start string
	for sc.Scan() {
		if strings.Contains(sc.Text(), `msg="walkie started"`) {
			start = sc.Text()
			break
		}
	}
	if start == "" {
		t.Fatalf("no start line; run returned %d", <-done)
	}
	go io.Copy(io.Discard, pr) // keep the node's logging unblocked
	httpAddr := logField(start, "http")
	resp, err := http.Get("http://" + httpAddr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var st core.Status
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if st.PeerID != logField(start, "peer_id") || st.LAN != logField(start, "lan") || !strings.HasPrefix(st.LAN, "127.0.0.1:") {
		t.Errorf("status %+v does not match start line %s", st, start)
	}
	if len(st.Communities) != 2 || st.Communities[0].Name != "chat" || st.Communities[0].ID != "c0d54b47-323f-51e3-b429-c8b6606985e8" ||
		st.Communities[1].Name != "x-1" {
		t.Errorf("communities %+v", st.Communities)
	}
	for path, want := range map[string]int{"/api/chat": 200, "/api/game/games": 404, "/api/x-1": 404} {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("run = %d after cancel", code)
	}
}

// TestRunAddressInUse checks that a UDP or TCP address in use is one clear
// line and exit code 1.
func TestRunAddressInUse(t *testing.T) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	tests := []struct {
		args []string
		want string
	}{
		{quietArgs(t.TempDir(), "-listen", udp.LocalAddr().String()), "walkie: -listen " + udp.LocalAddr().String() + ": bind: address already in use"},
		{quietArgs(t.TempDir(), "-http", tcp.Addr().String()), "walkie: -http " + tcp.Addr().String() + ": bind: address already in use"},
	}
	for _, tt := range tests {
		var stderr safeBuffer
		if code := run(context.Background(), tt.args, io.Discard, &stderr); code != exitError {
			t.Errorf("%v: exit code %d, want %d", tt.args, code, exitError)
		}
		checkOneLine(t, stderr.String(), tt.want)
	}
}

// TestRunCorruptPeerID checks that a damaged peer-id file stops the node
// with one line, rather than giving it a new identity.
func TestRunCorruptPeerID(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, core.PeerIDFile), []byte("not a uuid\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr safeBuffer
	if code := run(context.Background(), quietArgs(dir), io.Discard, &stderr); code != exitError {
		t.Errorf("exit code %d, want %d", code, exitError)
	}
	checkOneLine(t, stderr.String(), "is corrupt")
	if strings.HasPrefix(stderr.String(), "walkie: walkie:") {
		t.Errorf("doubled prefix: %q", stderr.String())
	}
}

// TestRunCorruptKey: a damaged identity.key stops the node with one line
// that names the file, and the file stays as it was.
func TestRunCorruptKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, core.KeyFile)
	if err := os.WriteFile(path, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr safeBuffer
	if code := run(context.Background(), quietArgs(dir), io.Discard, &stderr); code != exitError {
		t.Errorf("exit code %d, want %d", code, exitError)
	}
	checkOneLine(t, stderr.String(), path+" is corrupt")
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "AAAA") {
		t.Errorf("the corrupt key file was overwritten: %q", b)
	}
}

// TestRunUpgradesOldPeerID: a data directory of the previous release (a
// random peer ID, no key) starts, gets a key-derived ID, and keeps the old
// ID in peer-id.old; the log names both.
func TestRunUpgradesOldPeerID(t *testing.T) {
	dir := t.TempDir()
	old := "6f1a8a2e-2b0c-4b7e-9a55-0d6b51e0c0de"
	if err := os.WriteFile(filepath.Join(dir, core.PeerIDFile), []byte(old+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := runCancelled(t, quietArgs(dir))
	if id == old {
		t.Fatal("the old random peer ID was kept")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, core.OldPeerIDFile)); strings.TrimSpace(string(b)) != old {
		t.Errorf("%s holds %q, want %s", core.OldPeerIDFile, b, old)
	}
}

// logField returns the value of key=value in a slog text line.
func logField(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}
