package game_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/game"
)

// logBuffer collects a node's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A node of this version and one of version 1 (scripted: it declares the
// version 1 types only and sends the first release's bytes) refuse each
// other, and each side counts it: the old node's core drops our messages as
// unknown types; we drop its bodies by their version, log it, and tell it in
// a version 1 reject, which voids its game (its reason is not one that
// version 1 scores). No game is played, nothing is scored.
func TestVersion1PeerRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		var honest *game.Community
		old := &cheater{name: "game", types: []community.Type{game.TypeInviteV1, game.TypeCommitV1, game.TypeRevealV1, game.TypeRejectV1}}
		net := twoNodes(t, coretest.Options{
			Latency: 10 * time.Millisecond,
			Config: func(i int, c *core.Config) {
				if i == 0 {
					c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				}
			},
		}, func(i int) community.Community {
			if i == 0 {
				honest = game.New(game.Config{Timeout: 10 * time.Second})
				return honest
			}
			return old
		})
		a, b := net.Node(0).ID, net.Node(1).ID

		// We challenge the old node: it cannot read our invite.
		ours := challenge(t, net, honest, b)
		if err := honest.Play(ours, game.Rock); err != nil {
			t.Fatal(err)
		}
		if g := waitGame(t, net, honest, ours, over); g.Result != game.Void || g.Reason != game.ReasonNoCommit {
			t.Errorf("our game %+v, want void by %q", g, game.ReasonNoCommit)
		}
		if n := net.Node(1).Stats.Dropped(core.DropUnknownType); n < 2 {
			t.Errorf("the old node counted %d unknown types, want our invite and its resends", n)
		}
		if got := old.received(); len(got) != 0 {
			t.Errorf("the old node's game received %d messages of ours", len(got))
		}

		// The old node challenges us, and claims a mismatch in another game.
		id := game.GameID{1, 2, 3}
		old.send(t, a, game.TypeInviteV1, mustEncode(t, game.TypeInviteV1, game.Message{Game: id}))
		old.send(t, a, game.TypeRejectV1, mustEncode(t, game.TypeRejectV1, game.Message{Game: ours, Reason: game.ReasonMismatch}))
		if _, err := net.WaitFor(time.Minute, func() error {
			if honest.Rejected()[game.ReasonVersion] < 2 {
				return errors.New("version 1 bodies not counted yet")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n := honest.Rejected()[game.ReasonVersion]; n != 2 {
			t.Errorf("%d version 1 bodies counted, want 2", n)
		}
		if !strings.Contains(logs.String(), "version=1") {
			t.Errorf("no log line names version 1:\n%s", logs.String())
		}
		// Told in words the old node reads: a version 1 reject for its game,
		// with a reason that voids it. The reject itself is not answered.
		if _, err := net.WaitFor(time.Minute, func() error {
			if old.count(game.TypeRejectV1, game.ReasonVersion) == 0 {
				return errors.New("no version 1 reject yet")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if n := old.count(game.TypeRejectV1, ""); n != 1 {
			t.Errorf("%d version 1 rejects, want 1: the reject is not answered", n)
		}
		_, err := game.Decode(game.TypeRejectV1, old.received()[0].body)
		var ve *game.VersionError
		if !errors.As(err, &ve) || ve.Game != id {
			t.Errorf("the reject is %v, want one for game %s", err, id)
		}
		if r := game.ReasonVersion; r == game.ReasonMismatch || r == game.ReasonBadMove {
			t.Errorf("version 1 scores a loss on %q", r)
		}
		if gs := honest.Games(); len(gs) != 1 || len(honest.Scores()) != 0 {
			t.Errorf("games %+v, scores %+v; want only our void game", gs, honest.Scores())
		}
	})
}
