package game_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/game"
)

func mustEncode(t *testing.T, typ community.Type, m game.Message) []byte {
	t.Helper()
	b, err := game.Encode(typ, &m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A peer that reveals a move that does not match its commitment loses the
// round with a reason, and is told why. Messages out of turn, for unknown
// games and repeated ones are rejected with their reasons.
func TestCheatingRevealLoses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var honest *game.Community
		bad := &cheater{name: "game"}
		net := twoNodes(t, coretest.Options{Latency: 10 * time.Millisecond}, func(i int) community.Community {
			if i == 0 {
				honest = game.New(game.Config{})
				return honest
			}
			return bad
		})
		a, b := net.Node(0).ID, net.Node(1).ID
		id := challenge(t, net, honest, b)
		var nonce [game.NonceLen]byte
		nonce[0] = 42
		time.Sleep(time.Second)
		// A reveal before both commits is refused.
		bad.send(t, a, game.TypeReveal, mustEncode(t, game.TypeReveal, game.Message{Game: id, Move: game.Rock, Nonce: nonce}))
		// Commit to rock; honest plays paper and reveals it.
		bad.send(t, a, game.TypeCommit, mustEncode(t, game.TypeCommit, game.Message{Game: id, Hash: game.Commitment(id, b, game.Rock, nonce)}))
		bad.send(t, a, game.TypeCommit, mustEncode(t, game.TypeCommit, game.Message{Game: id, Hash: game.Commitment(id, b, game.Rock, nonce)}))
		// A game nobody started.
		bad.send(t, a, game.TypeCommit, mustEncode(t, game.TypeCommit, game.Message{Game: game.GameID{1}, Hash: game.Commitment(game.GameID{1}, b, game.Rock, nonce)}))
		time.Sleep(time.Second)
		if err := honest.Play(id, game.Paper); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if bad.count(game.TypeReveal, "") == 0 {
			t.Fatal("the honest player did not reveal after both commits")
		}
		// Having seen paper, the cheater claims scissors.
		bad.send(t, a, game.TypeReveal, mustEncode(t, game.TypeReveal, game.Message{Game: id, Move: game.Scissors, Nonce: nonce}))
		g := waitGame(t, net, honest, id, over)
		if g.Result != game.Win || g.Reason != game.ReasonMismatch {
			t.Fatalf("game %+v, want a win by %q", g, game.ReasonMismatch)
		}
		time.Sleep(time.Second)
		if bad.count(game.TypeReject, game.ReasonMismatch) != 1 {
			t.Errorf("the cheater was not told %q", game.ReasonMismatch)
		}
		if bad.count(game.TypeReject, game.ReasonUnknownGame) != 1 {
			t.Errorf("the cheater was not told %q", game.ReasonUnknownGame)
		}
		rej := honest.Rejected()
		for _, r := range []string{game.ReasonEarlyReveal, game.ReasonDuplicate, game.ReasonUnknownGame, game.ReasonMismatch} {
			if rej[r] == 0 {
				t.Errorf("no rejection for %q: %v", r, rej)
			}
		}
		// A late reveal of the true move changes nothing.
		bad.send(t, a, game.TypeReveal, mustEncode(t, game.TypeReveal, game.Message{Game: id, Move: game.Rock, Nonce: nonce}))
		time.Sleep(time.Second)
		if s := honest.Scores(); len(s) != 1 || s[0].Wins != 1 || s[0].Losses != 0 {
			t.Errorf("scores %+v, want one win", s)
		}
		if honest.Rejected()[game.ReasonGameOver] == 0 {
			t.Errorf("late reveal not rejected: %v", honest.Rejected())
		}
	})
}

// An opponent that vanishes after committing forfeits once the timeout
// passes; one that vanishes before playing leaves a void game.
func TestVanishedOpponentTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gs := make([]*game.Community, 2)
		net := twoNodes(t, coretest.Options{Latency: 10 * time.Millisecond}, func(i int) community.Community {
			gs[i] = game.New(game.Config{Timeout: 30 * time.Second})
			return gs[i]
		})
		a, b := gs[0], gs[1]
		committed := challenge(t, net, a, net.Node(1).ID)
		silent := challenge(t, net, a, net.Node(1).ID)
		waitGame(t, net, b, silent, func(game.Game) bool { return true })
		if err := b.Play(committed, game.Rock); err != nil {
			t.Fatal(err)
		}
		waitGame(t, net, a, committed, func(g game.Game) bool { return g.Opponent })
		net.Stop(1) // b vanishes: committed in one game, silent in the other
		start := time.Now()
		if err := a.Play(committed, game.Paper); err != nil {
			t.Fatal(err)
		}
		if err := a.Play(silent, game.Paper); err != nil {
			t.Fatal(err)
		}
		g := waitGame(t, net, a, committed, over)
		if g.Result != game.Win || g.Reason != game.ReasonNoReveal {
			t.Errorf("committed game %+v, want a win by %q", g, game.ReasonNoReveal)
		}
		if d := time.Since(start); d < 30*time.Second || d > 35*time.Second {
			t.Errorf("timed out after %v, want 30 s (+ one retry)", d)
		}
		g = waitGame(t, net, a, silent, over)
		if g.Result != game.Void || g.Reason != game.ReasonNoCommit {
			t.Errorf("silent game %+v, want void by %q", g, game.ReasonNoCommit)
		}
		if s := a.Scores(); len(s) != 1 || s[0].Wins != 1 || s[0].Losses+s[0].Draws != 0 {
			t.Errorf("scores %+v, want one win", s)
		}
	})
}
