package game_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/game"
)

// honestVsCheater starts an honest game on node 0 and a scripted one on
// node 1.
func honestVsCheater(t *testing.T) (*coretest.Network, *game.Community, *cheater) {
	t.Helper()
	var honest *game.Community
	bad := &cheater{name: "game"}
	net := twoNodes(t, coretest.Options{Latency: 10 * time.Millisecond}, func(i int) community.Community {
		if i == 0 {
			honest = game.New(game.Config{})
			return honest
		}
		return bad
	})
	return net, honest, bad
}

// await waits until the cheater has received a message of type typ about
// game id, and returns it decoded.
func (c *cheater) await(t *testing.T, net *coretest.Network, typ community.Type, id game.GameID) game.Message {
	t.Helper()
	var m game.Message
	if _, err := net.WaitFor(time.Minute, func() error {
		var ok bool
		if m, ok = c.find(typ, id); ok {
			return nil
		}
		return fmt.Errorf("no message of type %d for game %s", typ, id)
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// find returns the first message of type typ about game id received so far.
func (c *cheater) find(typ community.Type, id game.GameID) (game.Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.got {
		if r.t != typ {
			continue
		}
		if m, err := game.Decode(typ, r.body); err == nil && m.Game == id {
			return m, true
		}
	}
	return game.Message{}, false
}

// Finding: an opponent that answered an invitation with a reject saying
// "reveal does not match commitment" recorded a loss for us in a game we
// never played. A claim about our reveal is not evidence: we made the
// reveal ourselves. The games end void, and the claims are counted.
func TestRejectClaimRecordsNoLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, honest, bad := honestVsCheater(t)
		a := net.Node(0).ID
		for range 3 {
			id := challenge(t, net, honest, net.Node(1).ID)
			bad.await(t, net, game.TypeInvite, id)
			bad.send(t, a, game.TypeReject, mustEncode(t, game.TypeReject, game.Message{Game: id, Reason: game.ReasonMismatch}))
			if g := waitGame(t, net, honest, id, over); g.Result != game.Void || g.Reason != game.ReasonDisputed {
				t.Errorf("game %+v, want void by %q", g, game.ReasonDisputed)
			}
		}
		if s := honest.Scores(); len(s) != 0 {
			t.Errorf("scores %+v, want none: no game was played", s)
		}
		if n := honest.Rejected()[game.ReasonDisputed]; n != 3 {
			t.Errorf("%d claims counted, want 3", n)
		}
	})
}

// Finding: a sore loser, having seen our winning reveal, rejected it as not
// matching instead of revealing its own move, and we recorded the loss.
// The game is void instead, and the claim is counted.
func TestSoreLoserRecordsNoLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, honest, bad := honestVsCheater(t)
		a := net.Node(0).ID
		id := challenge(t, net, honest, net.Node(1).ID)
		bad.await(t, net, game.TypeInvite, id)
		var nonce [game.NonceLen]byte
		nonce[0] = 7
		bad.send(t, a, game.TypeCommit, mustEncode(t, game.TypeCommit, game.Message{Game: id, Hash: game.Commitment(id, net.Node(1).ID, game.Rock, nonce)}))
		waitGame(t, net, honest, id, func(g game.Game) bool { return g.Opponent })
		if err := honest.Play(id, game.Paper); err != nil {
			t.Fatal(err)
		}
		if m := bad.await(t, net, game.TypeReveal, id); m.Move != game.Paper {
			t.Fatalf("revealed %v, want paper", m.Move)
		}
		// Paper beats rock: the cheater disputes our reveal instead.
		bad.send(t, a, game.TypeReject, mustEncode(t, game.TypeReject, game.Message{Game: id, Reason: game.ReasonMismatch}))
		if g := waitGame(t, net, honest, id, over); g.Result != game.Void || g.Reason != game.ReasonDisputed {
			t.Errorf("game %+v, want void by %q", g, game.ReasonDisputed)
		}
		if s := honest.Scores(); len(s) != 0 {
			t.Errorf("scores %+v, want none", s)
		}
		if n := honest.Rejected()[game.ReasonDisputed]; n != 1 {
			t.Errorf("%d claims counted, want 1", n)
		}
		// Its late reveal, or another claim, changes nothing now.
		bad.send(t, a, game.TypeReveal, mustEncode(t, game.TypeReveal, game.Message{Game: id, Move: game.Rock, Nonce: nonce}))
		bad.send(t, a, game.TypeReject, mustEncode(t, game.TypeReject, game.Message{Game: id, Reason: game.ReasonBadMove}))
		if _, err := net.WaitFor(time.Minute, func() error {
			if n := honest.Rejected()[game.ReasonGameOver]; n != 2 {
				return fmt.Errorf("%d late messages counted, want 2", n)
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
		if g, _ := honest.Game(id); g.Result != game.Void || len(honest.Scores()) != 0 {
			t.Errorf("after late messages: game %+v, scores %+v", g, honest.Scores())
		}
	})
}

// Finding: an opponent that copied our commitment, then our reveal, forced
// a draw every time. A commitment equal to ours is refused before we reveal
// anything: the game is void, and the copy is counted.
func TestCopiedCommitmentRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, honest, bad := honestVsCheater(t)
		a := net.Node(0).ID
		for _, m := range []game.Move{game.Rock, game.Paper, game.Scissors, game.Rock} {
			id := challenge(t, net, honest, net.Node(1).ID)
			if err := honest.Play(id, m); err != nil {
				t.Fatal(err)
			}
			c := bad.await(t, net, game.TypeCommit, id)
			bad.send(t, a, game.TypeCommit, mustEncode(t, game.TypeCommit, game.Message{Game: id, Hash: c.Hash}))
			// Echo our reveal too, if we are fooled into sending one.
			if _, err := net.WaitFor(time.Minute, func() error {
				if g, _ := honest.Game(id); g.Result != game.Open {
					return nil
				}
				if r, ok := bad.find(game.TypeReveal, id); ok {
					bad.send(t, a, game.TypeReveal, mustEncode(t, game.TypeReveal, game.Message{Game: id, Move: r.Move, Nonce: r.Nonce}))
					return nil
				}
				return fmt.Errorf("game %s still open", id)
			}); err != nil {
				t.Fatal(err)
			}
			if g := waitGame(t, net, honest, id, over); g.Result != game.Void || g.Reason != game.ReasonCopied {
				t.Errorf("game %+v, want void by %q", g, game.ReasonCopied)
			}
			if _, ok := bad.find(game.TypeReveal, id); ok {
				t.Errorf("game %s: we revealed our move to a copier", id)
			}
			if r := bad.await(t, net, game.TypeReject, id); r.Reason != game.ReasonCopied {
				t.Errorf("the copier was told %q", r.Reason)
			}
		}
		if s := honest.Scores(); len(s) != 0 {
			t.Errorf("scores %+v, want none", s)
		}
		if n := honest.Rejected()[game.ReasonCopied]; n != 4 {
			t.Errorf("%d copies counted, want 4", n)
		}
	})
}

// A reveal is checked against the commitment with the revealer's peer ID and
// the game's ID: a commitment made for another player, or carried from
// another game, does not open, and its maker loses by mismatch.
func TestCommitmentBoundToPlayerAndGame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, honest, bad := honestVsCheater(t)
		a, b := net.Node(0).ID, net.Node(1).ID
		var nonce [game.NonceLen]byte
		nonce[0] = 9
		for name, commit := range map[string]func(game.GameID) [game.HashLen]byte{
			"made for us":       func(id game.GameID) [game.HashLen]byte { return game.Commitment(id, a, game.Rock, nonce) },
			"from another game": func(game.GameID) [game.HashLen]byte { return game.Commitment(game.GameID{1}, b, game.Rock, nonce) },
			"the cheater's own": func(id game.GameID) [game.HashLen]byte { return game.Commitment(id, b, game.Rock, nonce) },
		} {
			id := challenge(t, net, honest, b)
			bad.await(t, net, game.TypeInvite, id)
			bad.send(t, a, game.TypeCommit, mustEncode(t, game.TypeCommit, game.Message{Game: id, Hash: commit(id)}))
			waitGame(t, net, honest, id, func(g game.Game) bool { return g.Opponent })
			if err := honest.Play(id, game.Scissors); err != nil {
				t.Fatal(err)
			}
			bad.await(t, net, game.TypeReveal, id)
			bad.send(t, a, game.TypeReveal, mustEncode(t, game.TypeReveal, game.Message{Game: id, Move: game.Rock, Nonce: nonce}))
			g := waitGame(t, net, honest, id, over)
			want := game.Game{Result: game.Win, Reason: game.ReasonMismatch}
			if name == "the cheater's own" {
				want = game.Game{Result: game.Loss, Theirs: game.Rock} // the control: rock beats scissors
			}
			if g.Result != want.Result || g.Reason != want.Reason || g.Theirs != want.Theirs {
				t.Errorf("%s: game %+v, want %+v", name, g, want)
			}
		}
	})
}
