package game_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/game"
	"github.com/walkie-p2p/walkie/proto"
)

// A member that never proved a key (node 1 stands for a node of the
// release before keys: no key, a random peer ID) cannot play: the game's
// Policy keeps it out of Members, so it cannot be challenged, and its
// invite never reaches the game (the node counts it as unauthenticated).
// Without the Policy the invite opened a game and the challenge went out.
func TestUnauthenticatedCannotPlay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var honest *game.Community
		old := &cheater{name: "game"}
		keyless := proto.ID(uuid.New())
		net := coretest.Start(t, coretest.Options{
			Nodes:   2,
			Latency: 10 * time.Millisecond,
			Config: func(i int, c *core.Config) {
				if i == 1 {
					c.Key, c.PeerID = nil, keyless
				}
			},
		}, func(i int) []community.Community {
			if i == 0 {
				honest = game.New(game.Config{})
				return []community.Community{honest}
			}
			return []community.Community{old}
		})
		a := net.Node(0).ID
		// Both see each other in the game community, node 1 unauthenticated.
		if _, err := net.WaitFor(time.Minute, func() error {
			for _, p := range net.Node(0).Overlay.Status().Peers {
				if p.ID == keyless.String() && p.Verified && !p.Authenticated && slices.Contains(p.Communities, "game") {
					if !slices.ContainsFunc(old.members(), func(m community.Peer) bool { return m.ID == a }) {
						return errors.New("node 1 does not list node 0 as a member yet")
					}
					return nil
				}
			}
			return fmt.Errorf("node 0 does not see node 1 as a verified peer in the game yet")
		}); err != nil {
			t.Fatal(err)
		}

		if _, err := honest.Challenge(keyless); !errors.Is(err, game.ErrNotAMember) {
			t.Errorf("challenging the unauthenticated peer: %v, want ErrNotAMember", err)
		}
		old.send(t, a, game.TypeInvite, mustEncode(t, game.TypeInvite, game.Message{Game: game.GameID{9}}))
		if _, err := net.WaitFor(time.Minute, func() error {
			if net.Node(0).Stats.Dropped(core.DropUnauthenticated) == 0 {
				return errors.New("the invite is not counted as unauthenticated yet")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if gs := honest.Games(); len(gs) != 0 {
			t.Errorf("games %+v, want none", gs)
		}
		if r := honest.Rejected(); len(r) != 0 {
			t.Errorf("the game saw the invite: rejected %v", r)
		}
	})
}

// members returns the members the cheater's node lists.
func (c *cheater) members() []community.Peer {
	c.mu.Lock()
	env := c.env
	c.mu.Unlock()
	if env == nil {
		return nil
	}
	return env.Members()
}
