package core_test

import (
	mrand "math/rand/v2"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/proto"
)

// A peer answers our request with a token only (our token for it had
// grown too old, or it did not know us yet): that answer says nothing of
// the communities it runs, and must not wipe what it announced. Before,
// every such answer made the peer no member of any community until its
// next full answer; a peer whose token we kept echoing late dropped out
// of the chat on every exchange.
func TestTokenOnlyAnswersKeepMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 5 * time.Millisecond, Seed: 59})
		defer n.Close()
		k := &keeper{name: "notes"}
		a := node(t, n.Host(ip("198.51.100.1")), nil, func(c *core.Config) {
			c.Communities = []community.Community{k}
		})
		// The agent answers every request of a's with a token only.
		ag := newAgent(t, n.Host(ip("198.51.100.2")), a.LAN(), netip.AddrPort{}, nil)
		ag.hello()
		waitFor(t, func() bool { return ag.token() != nil }, time.Second)
		ag.write(&proto.IntroRequest{Nonce: mrand.Uint64(), Token: ag.token(), Communities: []proto.ID{community.IDFromName("notes")}}, 0)
		waitFor(t, func() bool { return len(k.env.Members()) == 1 }, time.Second)
		sent := stats(a).Count(core.IntroRequestsSent)
		time.Sleep(30 * time.Second) // a walks to it and keeps it alive: answered with tokens only
		if stats(a).Count(core.IntroRequestsSent) == sent {
			t.Fatal("a sent the agent no request: the test saw no answer")
		}
		if m := k.env.Members(); len(m) != 1 {
			t.Errorf("after token-only answers, members %v: the agent's communities were wiped", m)
		}
	})
}
