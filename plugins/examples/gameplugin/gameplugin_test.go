package main

import (
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/game"
	"github.com/walkie-p2p/walkie/plugins/host"
)

// The plugin, built as its own binary and loaded by the host on node 0,
// plays against an in-process copy of the same community on node 1, over
// the overlay on memnet. Killing the plugin process leaves node 0 running,
// and the plugin comes back and plays again.
//
// Real time, not synctest: the plugin is a real process on real sockets.
func TestPluginPlaysInProcessCopy(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gameplugin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var plug *host.Plugin
	var local *game.Community
	net := coretest.Start(t, coretest.Options{Nodes: 2}, func(i int) []community.Community {
		if i == 1 {
			local = game.New(game.Config{Retry: 200 * time.Millisecond})
			return []community.Community{local}
		}
		p, err := host.Load(host.Config{Path: bin, Args: []string{"-timeout=20s", "-bot"}, SocketDir: t.TempDir(),
			MinBackoff: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		plug = p
		return []community.Community{p}
	})
	net.WaitMembers("game")
	bot := net.Node(0).ID

	play := func(round int) {
		t.Helper()
		var id game.GameID
		// Retried: membership can blink while the overlay re-verifies a peer.
		if _, err := net.WaitFor(5*time.Second, func() (err error) {
			id, err = local.Challenge(bot)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := local.Play(id, game.Rock); err != nil {
			t.Fatal(err)
		}
		if _, err := net.WaitFor(30*time.Second, func() error {
			if g, _ := local.Game(id); g.Result == game.Open {
				return fmt.Errorf("round %d still open: %+v", round, g)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		g, _ := local.Game(id)
		if g.Reason != "" || !g.Theirs.Valid() {
			t.Fatalf("round %d did not end by two reveals: %+v", round, g)
		}
	}
	play(1)

	pid := plug.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Challenge at once: the invite reaches a dead plugin (dropped and
	// counted), and the game's resend reaches the restarted one.
	play(2)
	if st := net.Node(0).Overlay.Status(); len(st.Peers) == 0 || !st.Peers[0].Verified {
		t.Errorf("node 0 lost its peer with its plugin: %+v", st.Peers)
	}
	if plug.PID() == pid || plug.Restarts() != 1 {
		t.Errorf("pid %d (was %d), %d restarts", plug.PID(), pid, plug.Restarts())
	}
	if plug.Dropped() == 0 {
		t.Logf("no message reached the plugin while it was down (timing); dropped %d", plug.Dropped())
	}
	if s := local.Scores(); len(s) != 1 || s[0].Wins+s[0].Losses+s[0].Draws != 2 {
		t.Errorf("scores %+v, want two games against the bot", s)
	}
}
