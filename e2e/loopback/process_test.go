package loopback

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSIGTERM checks that SIGTERM stops a node cleanly: exit code 0 within
// 5 s, with a "stopped" line.
func TestSIGTERM(t *testing.T) {
	n := startNode(t, "node", nodeArgs(t.TempDir(), "127.0.0.1")...)
	if code := n.stop(5 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0 (%v)", code, n.err)
	}
	if !strings.Contains(n.logs(), "msg=stopped") {
		t.Error(`no "stopped" line after SIGTERM`)
	}
}

// TestRestartKeepsPeerID checks that a node restarted on the same -data
// directory has the same peer ID, and one on another directory does not.
func TestRestartKeepsPeerID(t *testing.T) {
	dir := t.TempDir()
	first := startNode(t, "first", nodeArgs(dir, "127.0.0.1")...)
	s1, err := first.status()
	if err != nil {
		t.Fatal(err)
	}
	if code := first.stop(5 * time.Second); code != 0 {
		t.Fatalf("first run exited %d", code)
	}
	second := startNode(t, "second", nodeArgs(dir, "127.0.0.1")...)
	s2, err := second.status()
	if err != nil {
		t.Fatal(err)
	}
	if s1.PeerID == "" || s2.PeerID != s1.PeerID {
		t.Errorf("peer_id %q after restart, %q before", s2.PeerID, s1.PeerID)
	}
	other := startNode(t, "other", nodeArgs(t.TempDir(), "127.0.0.1")...)
	if other.peerID == s1.PeerID {
		t.Errorf("a fresh -data directory reused peer ID %s", other.peerID)
	}
}

// TestBadFlags checks that mistakes on the command line exit with code 2
// and one line on stderr.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-listen", "foo"},
		{"-bootstrap", "boot.example.org"},
		{"-log-level", "loud"},
		{"-nosuchflag"},
		{"-plugin", "./chess"},
		{"-communities", "caht"},
		{"-communities", "chat", "-announce", "chat"},
	} {
		cmd := exec.Command(walkieBin, append([]string{"-data", t.TempDir()}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 2 {
			t.Errorf("%v: exit code %d (%v), want 2", args, code, err)
		}
		line := stderr.String()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") || !strings.HasPrefix(line, "walkie: ") ||
			strings.Contains(line, "goroutine") || strings.Contains(line, "panic") {
			t.Errorf("%v: stderr %q, want one line starting with \"walkie: \"", args, line)
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout %q", args, stdout.String())
		}
	}
}

// TestUnresolvableBootstrap checks that a bootstrap name that does not
// resolve is retried and logged, and never stops the node.
func TestUnresolvableBootstrap(t *testing.T) {
	n := startNode(t, "node", nodeArgs(t.TempDir(), "127.0.0.1", "-bootstrap", "nosuchhost.invalid:1873")...)
	line := n.waitLine("bootstrap nosuchhost.invalid:1873 not resolved, retrying in 1s", 10*time.Second)
	t.Log(line)
	if !strings.Contains(line, "level=WARN") {
		t.Errorf("retry line is not a warning: %s", line)
	}
	if _, err := n.status(); err != nil {
		t.Errorf("/status after the failed lookup: %v", err)
	}
	if !n.running() {
		t.Fatalf("the node exited: %v", n.err)
	}
	if code := n.stop(5 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}
