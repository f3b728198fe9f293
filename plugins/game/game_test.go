package game_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/game"
	"github.com/walkie-p2p/walkie/proto"
)

// twoNodes starts two nodes on memnet, each with the communities mk(i)
// returns, and waits until they see each other in the game community.
func twoNodes(t *testing.T, opts coretest.Options, mk func(i int) community.Community) *coretest.Network {
	t.Helper()
	opts.Nodes = 2
	net := coretest.Start(t, opts, func(i int) []community.Community { return []community.Community{mk(i)} })
	net.WaitMembers("game")
	return net
}

// waitGame waits until game id is in g and cond holds for it.
func waitGame(t *testing.T, net *coretest.Network, g *game.Community, id game.GameID, cond func(game.Game) bool) game.Game {
	t.Helper()
	var last game.Game
	if _, err := net.WaitFor(time.Minute, func() error {
		var ok bool
		if last, ok = g.Game(id); ok && cond(last) {
			return nil
		}
		return fmt.Errorf("game %s is %+v", id, last)
	}); err != nil {
		t.Fatal(err)
	}
	return last
}

func over(g game.Game) bool { return g.Result != game.Open }

// challenge challenges peer, retrying while the overlay does not list it as
// a member: a member's communities can vanish for one round trip while the
// overlay re-verifies it (a token-only answer carries no communities).
func challenge(t *testing.T, net *coretest.Network, g *game.Community, peer proto.ID) game.GameID {
	t.Helper()
	var id game.GameID
	if _, err := net.WaitFor(5*time.Second, func() (err error) {
		id, err = g.Challenge(peer)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

// A game between two nodes plays to the end, on a lossy network too: the
// resend loop repairs lost messages, and both sides agree on the result.
func TestGamePlaysToTheEnd(t *testing.T) {
	for _, loss := range []float64{0, 0.2} {
		t.Run(fmt.Sprintf("loss=%v", loss), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gs := make([]*game.Community, 2)
				net := twoNodes(t, coretest.Options{Loss: loss, Latency: 20 * time.Millisecond, Seed: 7},
					func(i int) community.Community { gs[i] = game.New(game.Config{}); return gs[i] })
				a, b := gs[0], gs[1]
				for round, moves := range [][2]game.Move{{game.Rock, game.Scissors}, {game.Paper, game.Scissors}, {game.Rock, game.Rock}} {
					id := challenge(t, net, a, net.Node(1).ID)
					waitGame(t, net, b, id, func(game.Game) bool { return true })
					if err := b.Play(id, moves[1]); err != nil {
						t.Fatal(err)
					}
					if err := a.Play(id, moves[0]); err != nil {
						t.Fatal(err)
					}
					ga := waitGame(t, net, a, id, over)
					gb := waitGame(t, net, b, id, over)
					want := [][2]game.Result{{game.Win, game.Loss}, {game.Loss, game.Win}, {game.Draw, game.Draw}}[round]
					if ga.Result != want[0] || gb.Result != want[1] || ga.Theirs != moves[1] || gb.Theirs != moves[0] {
						t.Fatalf("round %d: a %+v, b %+v; want %v", round, ga, gb, want)
					}
				}
				sa, sb := a.Scores(), b.Scores()
				if len(sa) != 1 || sa[0] != (game.Score{Peer: net.Node(1).ID, Wins: 1, Losses: 1, Draws: 1}) {
					t.Errorf("a's scores %+v", sa)
				}
				if len(sb) != 1 || sb[0] != (game.Score{Peer: net.Node(0).ID, Wins: 1, Losses: 1, Draws: 1}) {
					t.Errorf("b's scores %+v", sb)
				}
				// Playing again in a finished game is refused.
				if err := a.Play(a.Games()[0].ID, game.Rock); err != game.ErrGameOver {
					t.Errorf("Play on a finished game: %v", err)
				}
			})
		})
	}
}

// cheater is a game community that sends whatever bodies the test tells it
// to, and records what it receives.
type cheater struct {
	mu    sync.Mutex
	env   community.Env
	got   []received
	name  string
	types []community.Type // the types it declares; default all, of both versions
}

type received struct {
	t    community.Type
	body []byte
}

func (c *cheater) Name() string { return c.name }
func (c *cheater) Messages() []community.MessageSpec {
	var specs []community.MessageSpec
	types := c.types
	if types == nil {
		types = []community.Type{game.TypeInviteV1, game.TypeCommitV1, game.TypeRevealV1, game.TypeRejectV1,
			game.TypeInvite, game.TypeCommit, game.TypeReveal, game.TypeReject}
	}
	for _, t := range types {
		specs = append(specs, community.MessageSpec{Type: t, Name: "m", MaxSize: game.MaxBody,
			Handle: func(_ context.Context, _ community.Peer, b []byte) error {
				c.mu.Lock()
				defer c.mu.Unlock()
				c.got = append(c.got, received{t, append([]byte(nil), b...)})
				return nil
			}})
	}
	return specs
}
func (c *cheater) Start(_ context.Context, env community.Env) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.env = env
	return nil
}
func (c *cheater) Close() error { return nil }

func (c *cheater) send(t *testing.T, to proto.ID, typ community.Type, body []byte) {
	t.Helper()
	c.mu.Lock()
	env := c.env
	c.mu.Unlock()
	if err := env.Send(to, typ, body); err != nil {
		t.Fatal(err)
	}
}

// received returns what the cheater has received so far.
func (c *cheater) received() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.got...)
}

// count returns how many messages of type typ arrived whose body contains
// sub.
func (c *cheater) count(typ community.Type, sub string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.got {
		if m.t == typ && contains(m.body, sub) {
			n++
		}
	}
	return n
}

func contains(b []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == sub {
			return true
		}
	}
	return false
}
