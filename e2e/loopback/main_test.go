package loopback

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/e2e/internal/e2etest"
)

// walkieBin is the binary under test, built by TestMain.
var walkieBin string

// TestMain builds the binary once for all tests.
func TestMain(m *testing.M) { os.Exit(testMain(m)) }

// testMain finds the module root, builds ./cmd/node into a temporary
// directory, checks that 127.0.0.1 to 127.0.0.5 are usable and runs the
// tests. It returns the exit code.
func testMain(m *testing.M) int {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		fmt.Fprintf(os.Stderr, "e2e: cannot find the module root (go env GOMOD: %q, %v)\n", out, err)
		return 1
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	tmp, err := os.MkdirTemp("", "walkie-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	walkieBin = filepath.Join(tmp, "walkie")
	build := exec.Command("go", "build", "-o", walkieBin, "./cmd/node")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building ./cmd/node:", err)
		return 1
	}
	for i := 1; i <= 5; i++ { // the tests need 127.0.0.1 to 127.0.0.5
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(i))})
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: 127.0.0.%d is not usable here: %v\n", i, err)
			return 1
		}
		c.Close()
	}
	return m.Run()
}

// node is a running walkie process.
type node struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's result, after exited

	mu      sync.Mutex
	lines   []string      // its stderr so far
	newLine chan struct{} // closed and replaced at every line

	// From the start line.
	peerID, lan, http string
}

// nodeArgs are the flags every test node gets: its own data directory, an
// ephemeral UDP port on ip, an ephemeral HTTP port on 127.0.0.1 and no
// multicast.
func nodeArgs(dataDir, ip string, extra ...string) []string {
	return append([]string{"-data", dataDir, "-listen", ip + ":0", "-http", "127.0.0.1:0", "-lan-discovery=false"}, extra...)
}

// startNode starts walkie with args and waits for its start line. The
// process is killed when the test ends, if it still runs.
func startNode(t *testing.T, name string, args ...string) *node {
	t.Helper()
	n := &node{t: t, name: name, cmd: exec.Command(walkieBin, args...), exited: make(chan struct{}), newLine: make(chan struct{})}
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			n.mu.Lock()
			n.lines = append(n.lines, sc.Text())
			close(n.newLine)
			n.newLine = make(chan struct{})
			n.mu.Unlock()
		}
		n.err = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-n.exited:
		default:
			n.cmd.Process.Kill()
			<-n.exited
		}
		if t.Failed() {
			t.Logf("stderr of %s (%v):\n%s", n.name, args, n.logs())
		}
	})
	start := n.waitLine(`msg="walkie started"`, 5*time.Second)
	n.peerID, n.lan, n.http = e2etest.LogField(start, "peer_id"), e2etest.LogField(start, "lan"), e2etest.LogField(start, "http")
	return n
}

// waitLine waits until the node has logged a line containing s and returns
// it. It fails the test at the deadline or if the node exits first.
func (n *node) waitLine(s string, timeout time.Duration) string {
	n.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		n.mu.Lock()
		lines, next := n.lines, n.newLine
		n.mu.Unlock()
		for _, l := range lines[seen:] {
			if strings.Contains(l, s) {
				return l
			}
		}
		seen = len(lines)
		select {
		case <-next:
		case <-n.exited:
			n.t.Fatalf("%s exited (%v) before logging %q", n.name, n.err, s)
		case <-deadline.C:
			n.t.Fatalf("%s did not log %q within %v", n.name, s, timeout)
		}
	}
}

// logs returns the node's stderr so far.
func (n *node) logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.lines, "\n")
}

// stop sends SIGTERM and returns the exit code, failing the test if the
// node takes longer than timeout.
func (n *node) stop(timeout time.Duration) int {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.t.Fatalf("SIGTERM to %s: %v", n.name, err)
	}
	select {
	case <-n.exited:
		return n.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		n.t.Fatalf("%s still running %v after SIGTERM", n.name, timeout)
		return -1
	}
}

// running reports whether the process has not exited.
func (n *node) running() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// status is GET /status, decoded with the contract's field names
// (core.Status's).
type status struct {
	PeerID      string         `json:"peer_id"`
	LAN         string         `json:"lan"`
	WAN         string         `json:"wan"`
	NAT         string         `json:"nat"`
	Peers       []e2etest.Peer `json:"peers"`
	Communities []struct {
		Name    string `json:"name"`
		ID      string `json:"id"`
		Members int    `json:"members"`
	} `json:"communities"`
	StartedAt   time.Time `json:"started_at"`
	FirstPeerMS *int64    `json:"first_peer_ms"`
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// status fetches the node's /status.
func (n *node) status() (*status, error) {
	b, err := e2etest.Get(httpClient, "http://"+n.http+"/status")
	if err != nil {
		return nil, err
	}
	var s status
	return &s, json.Unmarshal(b, &s)
}

// verified returns the IDs of the node's verified peers.
func (s *status) verified() map[string]bool { return e2etest.Verified(s.Peers) }

// poll calls f every 20 ms until it returns true or timeout passes.
func poll(timeout time.Duration, f func() bool) bool {
	return e2etest.Poll(timeout, 20*time.Millisecond, f)
}
