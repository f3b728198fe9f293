//go:build natlab

package natlab

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/e2e/internal/e2etest"
)

// httpAddr is where every node serves /status, on its own namespace's
// loopback: the test reaches it by dialling from inside that namespace.
const httpAddr = "127.0.0.1:1874"

// node is a walkie process running in a site's host namespace.
type node struct {
	site    *site
	dataDir string
	cmd     *exec.Cmd
	started time.Time
	exited  chan struct{}
	ready   time.Duration // how long /status may take to answer after start
	client  *http.Client
	peerID  string // from the first /status

	mu    sync.Mutex
	lines []string // stderr so far
}

// status is GET /status, with the fields the lab checks.
type status struct {
	PeerID      string         `json:"peer_id"`
	LAN         string         `json:"lan"`
	WAN         string         `json:"wan"`
	WANIP       string         `json:"wan_ip"`
	NAT         string         `json:"nat"`
	LAN6        string         `json:"lan6"`
	WAN6        string         `json:"wan6"`
	WANIP6      string         `json:"wan_ip6"`
	NAT6        string         `json:"nat6"`
	NAT64       string         `json:"nat64"` // the NAT64 prefix in use, once known
	Peers       []e2etest.Peer `json:"peers"`
	FirstPeerMS *int64         `json:"first_peer_ms"`
	PacketsSent uint64         `json:"packets_sent"`
	// PacketsPerMin is a pointer so that a missing field shows as nil.
	PacketsPerMin  *uint64 `json:"packets_sent_per_min"`
	NATPorts       string  `json:"nat_ports"`
	PortPrediction struct {
		Attempts  uint64 `json:"attempts"`
		Successes uint64 `json:"successes"`
		Probes    uint64 `json:"probes_sent"`
	} `json:"port_prediction"`
}

// peer returns the verified peer with id, if any. Every node of the lab
// has a key, so a peer counts only once it proved its key: what the lab's
// meshes measure is the time to an authenticated (sealed) mesh.
func (s *status) peer(id string) (e2etest.Peer, bool) {
	for _, p := range s.Peers {
		if p.ID == id && p.Verified && p.Authenticated {
			return p, true
		}
	}
	return e2etest.Peer{}, false
}

// start runs the node of site name with bootstrap addresses boot (may be
// empty) and data directory dataDir ("" for a fresh one), and waits until
// its /status answers.
func (l *lab) start(name, dataDir string, boot ...string) *node {
	l.t.Helper()
	n := l.launch(name, dataDir, boot...)
	n.waitReady(l.t)
	return n
}

// launch starts the node like start, but does not wait for it: a group of
// nodes is launched together, then waited for.
func (l *lab) launch(name, dataDir string, boot ...string) *node {
	l.t.Helper()
	return l.launchWith(name, dataDir, runner{}, boot...)
}

// runner says how a host runs its node: by default walkieBin, natively,
// with the lab's flags. A host may get another binary, a command that runs
// it (an emulator: qemu-aarch64-static), extra flags, and longer to start.
type runner struct {
	prefix []string      // command (and its arguments) that runs the binary; empty: run it directly
	bin    string        // the node binary; "" for walkieBin
	args   []string      // extra node flags, e.g. -profile mobile
	listen string        // -listen; "" for the site's (listenFlag)
	ready  time.Duration // how long /status may take to answer; 0 for 5 s
}

// launchWith is launch with the host's node run as r says.
func (l *lab) launchWith(name, dataDir string, r runner, boot ...string) *node {
	l.t.Helper()
	s := l.byName[name]
	if s == nil {
		l.t.Fatalf("no site %q", name)
	}
	if dataDir == "" {
		dataDir = l.t.TempDir()
	}
	bin := r.bin
	if bin == "" {
		bin = walkieBin
	}
	if r.ready == 0 {
		r.ready = 5 * time.Second
	}
	listen := r.listen
	if listen == "" {
		listen = s.listenFlag()
	}
	args := append(append([]string{"netns", "exec", s.host}, r.prefix...), bin, "-listen", listen, "-data", dataDir,
		"-http", httpAddr, "-lan-discovery=false", "-log-level", "debug")
	args = append(args, r.args...)
	if len(boot) > 0 {
		args = append(args, "-bootstrap", strings.Join(boot, ","))
	}
	n := &node{site: s, dataDir: dataDir, cmd: exec.Command("ip", args...), exited: make(chan struct{}), ready: r.ready,
		client: &http.Client{Timeout: time.Second, Transport: &http.Transport{DialContext: dialIn(s.host), DisableKeepAlives: true}}}
	// The node dies with the test process, even if that is killed. (The
	// signal follows the starting OS thread, and threads outlive their
	// goroutines here: inNamespace lets one die only if it cannot go home.)
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	n.started = time.Now()
	if err := n.cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			n.mu.Lock()
			n.lines = append(n.lines, sc.Text())
			n.mu.Unlock()
		}
		n.cmd.Wait()
		close(n.exited)
	}()
	l.nodes = append(l.nodes, n)
	l.t.Cleanup(func() {
		n.kill()
		if l.t.Failed() {
			l.t.Logf("last lines of %s's log:\n%s", name, n.tail(25))
		}
	})
	return n
}

// waitReady waits until /status answers and records the peer ID.
func (n *node) waitReady(t *testing.T) {
	t.Helper()
	ok := e2etest.Poll(n.ready, 20*time.Millisecond, func() bool {
		select {
		case <-n.exited: // it will not answer: say so now
			return true
		default:
		}
		s, err := n.status()
		if err == nil {
			n.peerID = s.PeerID
		}
		return err == nil
	})
	select {
	case <-n.exited:
		t.Fatalf("%s exited (%v) instead of answering /status; log:\n%s", n.site.name, n.cmd.ProcessState, n.tail(25))
	default:
	}
	if !ok {
		t.Fatalf("%s: /status does not answer %v after start; log:\n%s", n.site.name, n.ready, n.tail(25))
	}
}

// status fetches the node's /status.
func (n *node) status() (*status, error) {
	b, err := e2etest.Get(n.client, "http://"+httpAddr+"/status")
	if err != nil {
		return nil, err
	}
	var s status
	return &s, json.Unmarshal(b, &s)
}

// stop sends SIGTERM and waits for the exit.
func (n *node) stop(t *testing.T) {
	t.Helper()
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still running 5 s after SIGTERM", n.site.name)
	}
}

// kill stops the process if it still runs.
func (n *node) kill() {
	select {
	case <-n.exited:
	default:
		n.cmd.Process.Kill()
		<-n.exited
	}
}

// tail returns the last k lines of the node's stderr.
func (n *node) tail(k int) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.lines[max(0, len(n.lines)-k):], "\n")
}
