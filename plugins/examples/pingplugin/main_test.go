package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/examples/ping"
	"github.com/walkie-p2p/walkie/plugins/host"
)

// Node 0 runs the plugin binary, node 1 the same community in-process: a
// ping from node 1 gets its pong from the plugin. Real time, not synctest:
// the plugin is a real process on real sockets.
func TestPingPlugin(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pingplugin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	local := ping.New()
	net := coretest.Start(t, coretest.Options{Nodes: 2}, func(i int) []community.Community {
		if i == 1 {
			return []community.Community{local}
		}
		p, err := host.Load(host.Config{Path: bin, SocketDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return []community.Community{p}
	})
	net.WaitMembers("ping")
	if n := local.PingAll(); n != 1 {
		t.Fatalf("sent %d pings, want 1", n)
	}
	if _, err := net.WaitFor(10*time.Second, func() error {
		if local.Pongs()[net.Node(0).ID] != 1 {
			return errors.New("no pong from the plugin")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
