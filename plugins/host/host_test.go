package host_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/host"
	"github.com/walkie-p2p/walkie/proto"
)

// build compiles the command in pkg into a temporary directory.
func build(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// syncBuffer is a log destination safe for the plugin's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeEnv records what the plugin sends.
type fakeEnv struct {
	sent chan sent
	log  *slog.Logger
}

type sent struct {
	to   proto.ID
	t    community.Type
	body string
}

func (e *fakeEnv) Send(to proto.ID, t community.Type, b []byte) error {
	e.sent <- sent{to, t, string(b)}
	return nil
}
func (e *fakeEnv) Members() []community.Peer { return nil }
func (e *fakeEnv) Self() proto.ID            { return proto.ID{1} }
func (e *fakeEnv) Key() ed25519.PublicKey    { return nil }
func (e *fakeEnv) Sign([]byte) []byte        { return nil }
func (e *fakeEnv) WAN() netip.AddrPort       { return netip.MustParseAddrPort("192.0.2.1:1873") }
func (e *fakeEnv) Logger() *slog.Logger      { return e.log }

// load loads the test plugin and starts it with a fake Env.
func load(t *testing.T, cfg host.Config) (*host.Plugin, *fakeEnv, *syncBuffer, map[community.Type]community.Handler) {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Path == "" {
		cfg.Path = build(t, "./testdata/testplugin")
	}
	if cfg.SocketDir == "" {
		cfg.SocketDir = t.TempDir()
	}
	cfg.Logger = log
	p, err := host.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	env := &fakeEnv{sent: make(chan sent, 16), log: log}
	if err := p.Start(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	hs := make(map[community.Type]community.Handler)
	for _, s := range p.Messages() {
		hs[s.Type] = s.Handle
	}
	return p, env, logs, hs
}

var peer = community.Peer{ID: proto.ID{7}, Addr: netip.MustParseAddrPort("192.0.2.7:1873")}

// echo sends body through the plugin's echo type and waits for it to come
// back through the Host service.
func echo(t *testing.T, hs map[community.Type]community.Handler, env *fakeEnv, body string) {
	t.Helper()
	if err := hs[1](context.Background(), peer, []byte(body)); err != nil {
		t.Fatalf("echo: %v", err)
	}
	select {
	case s := <-env.sent:
		if s != (sent{peer.ID, 1, body}) {
			t.Fatalf("plugin sent %+v", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no echo")
	}
}

// waitRestart waits until the plugin runs again under a new PID.
func waitRestart(t *testing.T, p *host.Plugin, old int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for p.PID() == 0 || p.PID() == old {
		if time.Now().After(deadline) {
			t.Fatal("the plugin did not come back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEchoThroughHost(t *testing.T) {
	p, env, logs, hs := load(t, host.Config{})
	if p.Name() != "echo" || len(hs) != 3 || p.PID() == 0 {
		t.Fatalf("name %q, %d types, pid %d", p.Name(), len(hs), p.PID())
	}
	echo(t, hs, env, "hello")
	if !strings.Contains(logs.String(), "echoing") {
		t.Errorf("the plugin's log record did not reach the node's log:\n%s", logs)
	}
}

// A binary that is not a walkie plugin fails Load with an error that says
// so, whether it exits at once or prints something else.
func TestHandshakeFailure(t *testing.T) {
	tp := build(t, "./testdata/testplugin")
	for name, cfg := range map[string]host.Config{
		"exits":   {Path: "/bin/true"},
		"garbage": {Path: tp, Args: []string{"-garbage"}},
	} {
		cfg.SocketDir = t.TempDir()
		cfg.StartTimeout = 5 * time.Second
		_, err := host.Load(cfg)
		if err == nil || !strings.Contains(err.Error(), "handshake failed") || !strings.Contains(err.Error(), "plugins/sdk.Serve") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := host.Load(host.Config{Path: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("a missing binary loaded")
	}
}

// A plugin that crashes is restarted; its messages are dropped and counted
// while it is down, and the log says why it went down.
func TestCrashRestarts(t *testing.T) {
	p, env, logs, hs := load(t, host.Config{MinBackoff: 200 * time.Millisecond})
	old := p.PID()
	if err := hs[3](context.Background(), peer, nil); err == nil {
		t.Fatal("a crashing handler returned no error")
	}
	if err := hs[1](context.Background(), peer, []byte("lost")); !errors.Is(err, host.ErrDown) {
		t.Errorf("message while down: %v, want ErrDown", err)
	}
	waitRestart(t, p, old)
	echo(t, hs, env, "back")
	if p.Dropped() < 2 || p.Restarts() != 1 {
		t.Errorf("dropped %d, restarts %d", p.Dropped(), p.Restarts())
	}
	for _, want := range []string{"plugin exited", "crash on request", "plugin is down", "plugin restarted"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// A plugin that does not answer within CallTimeout is killed and
// restarted.
func TestHangKilled(t *testing.T) {
	p, env, logs, hs := load(t, host.Config{CallTimeout: 300 * time.Millisecond, MinBackoff: 100 * time.Millisecond})
	old := p.PID()
	start := time.Now()
	if err := hs[2](context.Background(), peer, nil); err == nil {
		t.Fatal("a hung handler returned no error")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the hung call took %v", d)
	}
	waitRestart(t, p, old)
	echo(t, hs, env, "unstuck")
	if !strings.Contains(logs.String(), "did not answer a message in time") {
		t.Errorf("log lacks the reason:\n%s", logs)
	}
}

// With no usable temporary directory (Android), the sockets go to
// SocketDir on both ends.
func TestSocketDir(t *testing.T) {
	bin := build(t, "./testdata/testplugin")
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	_, env, _, hs := load(t, host.Config{Path: bin, SocketDir: t.TempDir()})
	echo(t, hs, env, "sockets")
}
