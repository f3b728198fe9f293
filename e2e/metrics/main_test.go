//go:build e2e

package metrics

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
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/e2e/internal/e2etest"
)

// walkieBin is the binary under test, built by TestMain; moduleRoot holds
// testout/.
var walkieBin, moduleRoot string

// TestMain builds ./cmd/node once for all tests, as e2e/loopback does.
func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		fmt.Fprintf(os.Stderr, "e2e/metrics: cannot find the module root (go env GOMOD: %q, %v)\n", out, err)
		return 1
	}
	moduleRoot = filepath.Dir(gomod)
	tmp, err := os.MkdirTemp("", "walkie-e2e-metrics-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e/metrics:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	walkieBin = filepath.Join(tmp, "walkie")
	build := exec.Command("go", "build", "-o", walkieBin, "./cmd/node")
	build.Dir, build.Stdout, build.Stderr = moduleRoot, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e/metrics: building ./cmd/node:", err)
		return 1
	}
	return m.Run()
}

// need returns the path of an external program, or fails the test saying
// which Debian package to install: a missing tool must fail CI, not pass it.
func need(t *testing.T, program, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		t.Fatalf("%s not found (%v): this test needs it; install it with: apt-get install -y --no-install-recommends %s", program, err, pkg)
	}
	return path
}

// node is a running walkie process.
type node struct {
	name, peerID, lan, http string // from its start line
	token                   string // for /status, when its -http is beyond loopback
	cmd                     *exec.Cmd
	exited                  chan struct{}

	mu    sync.Mutex
	lines []string // its stderr so far
}

// startNode starts walkie on ip with an ephemeral UDP port, an ephemeral
// HTTP port on 127.0.0.1, no multicast, and the extra flags; it waits for
// the start line. The process is killed when the test ends.
func startNode(t *testing.T, name, ip string, extra ...string) *node {
	t.Helper()
	return startNodeEnv(t, name, ip, nil, extra...)
}

// startNodeEnv is startNode with env added to the process' environment.
func startNodeEnv(t *testing.T, name, ip string, env []string, extra ...string) *node {
	t.Helper()
	args := append([]string{"-data", t.TempDir(), "-listen", ip + ":0", "-http", "127.0.0.1:0", "-lan-discovery=false"}, extra...)
	n := &node{name: name, cmd: exec.Command(walkieBin, args...), exited: make(chan struct{})}
	if env != nil {
		n.cmd.Env = append(os.Environ(), env...)
	}
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			n.mu.Lock()
			n.lines = append(n.lines, sc.Text())
			n.mu.Unlock()
			if strings.Contains(sc.Text(), `msg="walkie started"`) {
				started <- sc.Text()
			}
		}
		n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.cmd.Process.Kill()
		<-n.exited
		if t.Failed() {
			n.mu.Lock()
			t.Logf("stderr of %s:\n%s", n.name, strings.Join(n.lines, "\n"))
			n.mu.Unlock()
		}
	})
	select {
	case line := <-started:
		n.peerID, n.lan, n.http = e2etest.LogField(line, "peer_id"), e2etest.LogField(line, "lan"), e2etest.LogField(line, "http")
	case <-n.exited:
		t.Fatalf("%s exited before its start line", name)
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not start within 5 s", name)
	}
	return n
}

// startNetwork starts a bootstrap on 127.0.0.1 and two nodes that know only
// the bootstrap, the second once the first has a peer: then the bootstrap
// introduces them to each other, which is a puncture request and a puncture.
// It returns when every node has verified both others.
func startNetwork(t *testing.T) []*node {
	t.Helper()
	boot := startNode(t, "n1", "127.0.0.1")
	n2 := startNode(t, "n2", "127.0.0.2", "-bootstrap", boot.lan)
	if !poll(5*time.Second, func() bool { s, err := n2.status(); return err == nil && len(s.verified()) == 1 }) {
		t.Fatal("n2 did not verify the bootstrap within 5 s")
	}
	n3 := startNode(t, "n3", "127.0.0.3", "-bootstrap", boot.lan)
	nodes := []*node{boot, n2, n3}
	if !poll(10*time.Second, func() bool {
		for _, n := range nodes {
			s, err := n.status()
			if err != nil || len(s.verified()) != len(nodes)-1 {
				return false
			}
		}
		return true
	}) {
		t.Fatal("the three nodes did not verify each other within 10 s")
	}
	return nodes
}

// status is GET /status, decoded with the contract's field names.
type status struct {
	PeerID string         `json:"peer_id"`
	Peers  []e2etest.Peer `json:"peers"`
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// get returns the body of GET url, which must answer 200.
func get(url string) ([]byte, error) { return e2etest.Get(httpClient, url) }

// status fetches the node's /status, with its token if it has one.
func (n *node) status() (*status, error) {
	req, err := http.NewRequest("GET", "http://"+n.http+"/status", nil)
	if err != nil {
		return nil, err
	}
	if n.token != "" {
		req.Header.Set("Authorization", "Bearer "+n.token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /status of %s: %s", n.name, resp.Status)
	}
	var s status
	return &s, json.NewDecoder(resp.Body).Decode(&s)
}

// verified returns the IDs of the verified peers.
func (s *status) verified() map[string]bool { return e2etest.Verified(s.Peers) }

// poll calls f every 50 ms until it returns true or timeout passes.
func poll(timeout time.Duration, f func() bool) bool {
	return e2etest.Poll(timeout, 50*time.Millisecond, f)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// programs that cannot be told to pick one and report it.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
