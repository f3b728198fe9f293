// Package pingpy holds the test of the Python plugin pingpy.py: a Go node
// loads it, and it pings and is pinged by the Go ping community.
package pingpy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/examples/ping"
	"github.com/walkie-p2p/walkie/plugins/host"
)

// python is the interpreter of pingpy.py's first line: Debian's, whose
// python3-grpcio the plugin needs, whatever python3 comes first on PATH.
const python = "/usr/bin/python3"

// script returns pingpy.py's path, failing (never skipping) if Python or
// its gRPC modules are missing: CI installs them (.ci/run).
func script(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command(python, "-c", "import grpc, google.protobuf").CombinedOutput(); err != nil {
		t.Fatalf("the Python plugin needs %s with grpc and protobuf (apt-get install python3-grpcio python3-protobuf): %v\n%s", python, err, out)
	}
	path, err := filepath.Abs("pingpy.py")
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if line, _, _ := strings.Cut(string(first), "\n"); line != "#!"+python {
		t.Fatalf("pingpy.py starts with %q, want #!%s", line, python)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("pingpy.py is not executable: %v %v", fi.Mode(), err)
	}
	return path
}

// logBuffer collects the node's log, for the plugin's records.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// api calls the plugin's HTTP API as the node serves it.
func api(srv *httptest.Server, method, path string, out any) error {
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Node 0 runs pingpy.py, node 1 the Go ping in-process. Each pings the
// other and gets its pong; the Python plugin, killed, is restarted by the
// node and pings and answers again. Real time: the plugin is a real
// process.
func TestPythonPlugin(t *testing.T) {
	path := script(t)
	logs := &logBuffer{}
	var plug *host.Plugin
	local := ping.New()
	net := coretest.Start(t, coretest.Options{Nodes: 2}, func(i int) []community.Community {
		if i == 1 {
			return []community.Community{local}
		}
		p, err := host.Load(host.Config{Path: path, SocketDir: t.TempDir(), MinBackoff: 100 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		plug = p
		return []community.Community{p}
	})
	if plug.Name() != "ping" || plug.API() == nil {
		t.Fatalf("the plugin describes %q, API %v", plug.Name(), plug.API() != nil)
	}
	srv := httptest.NewServer(plug.API())
	defer srv.Close()
	net.WaitMembers("ping")
	pyID, goID := net.Node(0).ID, net.Node(1).ID

	round := func(n int) {
		t.Helper()
		// Go pings Python until the n-th pong: a ping may reach a plugin
		// that is still starting, which drops it.
		if _, err := net.WaitFor(15*time.Second, func() error {
			if local.Pongs()[pyID] >= n {
				return nil
			}
			local.PingAll()
			return errors.New("no pong from the Python plugin")
		}); err != nil {
			t.Fatal(err)
		}
		// Python pings Go, through its API.
		if _, err := net.WaitFor(15*time.Second, func() error {
			var pongs struct{ Pongs map[string]int }
			if err := api(srv, "GET", "/api/ping/pongs", &pongs); err != nil {
				return err
			}
			if pongs.Pongs[goID.String()] >= 1 {
				return nil
			}
			var sent struct{ Sent int }
			if err := api(srv, "POST", "/api/ping/ping", &sent); err != nil {
				return err
			}
			return fmt.Errorf("no pong from the Go node yet (pinged %d members), pongs %v", sent.Sent, pongs.Pongs)
		}); err != nil {
			t.Fatal(err)
		}
	}
	round(1)
	if !strings.Contains(logs.String(), "pingpy started") {
		t.Errorf("the plugin's log record did not reach the node's log:\n%s", logs)
	}

	old := plug.PID()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := net.WaitFor(20*time.Second, func() error {
		if pid := plug.PID(); pid == 0 || pid == old {
			return errors.New("the Python plugin is not back")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	round(2) // the restarted process counts its pongs from zero
	if plug.Restarts() != 1 {
		t.Errorf("%d restarts, want 1", plug.Restarts())
	}
	for _, want := range []string{"plugin exited", "plugin restarted"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}
