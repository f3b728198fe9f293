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
		bad.send(t, a, game.TypeCommit, mustEncode(t, game.TypeCommit, game.Message{Game: id, Hash: game.Commitment(game.Rock, nonce)}))
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
