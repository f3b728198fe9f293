package chat_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/chat"
)

// room starts n chat nodes on memnet; chats[i] is node i's current Chat
// (replaced at every restart).
func room(t *testing.T, opts coretest.Options) (*coretest.Network, []*chat.Chat) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	chats := make([]*chat.Chat, opts.Nodes)
	net := coretest.Start(t, opts, func(i int) []community.Community {
		c, err := chat.New(chat.Config{Dir: opts.NodeDir(i), SyncInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		chats[i] = c
		return []community.Community{c}
	})
	return net, chats
}

// converged says how the running nodes' histories differ from want (the
// IDs every node must hold, in any order): each must hold exactly want,
// once each, in the same order as node 0.
func converged(net *coretest.Network, chats []*chat.Chat, want map[uuid.UUID]bool) error {
	var ref []chat.Message
	for i, c := range chats {
		if !net.Node(i).Running() {
			continue
		}
		h := c.History()
		seen := map[uuid.UUID]bool{}
		for _, m := range h {
			if seen[m.ID] {
				return fmt.Errorf("node %d holds %s twice", i, m.ID)
			}
			seen[m.ID] = true
			if !want[m.ID] {
				return fmt.Errorf("node %d holds %s, which nobody posted", i, m.ID)
			}
		}
		if len(h) != len(want) {
			return fmt.Errorf("node %d holds %d of %d messages", i, len(h), len(want))
		}
		if ref == nil {
			ref = h
		} else if !slices.Equal(h, ref) {
			return fmt.Errorf("node %d's order differs", i)
		}
	}
	return nil
}

// The acceptance test of the issue: five nodes, 20% loss, one node
// restarted mid-conversation with the same data directory. Every node ends
// with every message, exactly once, in the same order.
func TestFiveNodesLossAndRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, chats := room(t, coretest.Options{Nodes: 5, Loss: 0.2, Latency: 20 * time.Millisecond, Seed: 1})
		joined := net.WaitMembers("chat")
		want := map[uuid.UUID]bool{}
		post := func(i, round int) {
			m, err := chats[i].Post(fmt.Sprintf("node %d says %d", i, round))
			if err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
			want[m.ID] = true
		}
		for round := range 20 {
			switch round {
			case 8:
				net.Stop(2) // mid-conversation: the others talk on without it
			case 14:
				net.Start(2)
			}
			for i := range chats {
				if net.Node(i).Running() {
					post(i, round)
				}
			}
			time.Sleep(300 * time.Millisecond)
		}
		took, err := net.WaitFor(5*time.Minute, func() error { return converged(net, chats, want) })
		if err != nil {
			t.Fatal(err)
		}
		var syncs, served, sent, dups uint64
		for _, c := range chats {
			s := c.Stats()
			syncs, served, sent, dups = syncs+s.SyncsSent, served+s.SyncsServed, sent+s.SyncSent, dups+s.Duplicates
		}
		t.Logf("members after %v; %d messages converged %v after the last post (sync every 1s): %d sync requests, %d answered, %d messages sent by sync, %d duplicates; memnet %+v",
			joined, len(want), took, syncs, served, sent, dups, net.Memnet().Stats())
	})
}

// A node that was offline for the whole conversation catches up through
// sync alone, over several rounds since one round sends at most MaxPerRound
// messages.
func TestLateJoinerCatchesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, chats := room(t, coretest.Options{Nodes: 3, Latency: 10 * time.Millisecond})
		net.Stop(2)
		net.WaitMembers("chat")
		want := map[uuid.UUID]bool{}
		for i := range 100 {
			m, err := chats[i%2].Post(fmt.Sprint("message ", i))
			if err != nil {
				t.Fatal(err)
			}
			want[m.ID] = true
		}
		net.Start(2)
		net.WaitMembers("chat")
		took, err := net.WaitFor(time.Minute, func() error { return converged(net, chats, want) })
		if err != nil {
			t.Fatal(err)
		}
		s := chats[2].Stats()
		t.Logf("100 messages reached the late node %v after it joined, in %d sync requests", took, s.SyncsSent)
		if s.Received != 100 {
			t.Errorf("late node received %d messages, want 100", s.Received)
		}
	})
}

// History survives a restart: the file is read back, in order, and the
// Lamport clock continues past it.
func TestHistoryPersists(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		net, chats := room(t, coretest.Options{Nodes: 1, Dir: dir})
		var posted []chat.Message
		for i := range 3 {
			m, err := chats[0].Post(fmt.Sprint("hello ", i))
			if err != nil {
				t.Fatal(err)
			}
			posted = append(posted, m)
		}
		net.Restart(0)
		if h := chats[0].History(); !slices.Equal(h, posted) {
			t.Fatalf("after restart %+v, want %+v", h, posted)
		}
		m, err := chats[0].Post("after")
		if err != nil || m.Lamport != 4 {
			t.Errorf("post after restart: lamport %d, %v; want 4", m.Lamport, err)
		}
	})
}

func TestPostRejectsBadText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, chats := room(t, coretest.Options{Nodes: 1})
		for _, text := range []string{"", strings.Repeat("x", chat.MaxText+1), "\xff"} {
			if _, err := chats[0].Post(text); !errors.Is(err, chat.ErrBadText) {
				t.Errorf("Post(%.10q): %v, want ErrBadText", text, err)
			}
		}
		if _, err := chats[0].Post(strings.Repeat("x", chat.MaxText)); err != nil {
			t.Errorf("longest text: %v", err)
		}
	})
}

func TestSubscribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, chats := room(t, coretest.Options{Nodes: 2})
		net.WaitMembers("chat")
		ch, stop := chats[1].Subscribe()
		m, err := chats[0].Post("hi")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case got := <-ch:
			if got != m {
				t.Errorf("got %+v, want %+v", got, m)
			}
		default:
			t.Fatal("no message on the subscription")
		}
		stop()
		if _, ok := <-ch; ok {
			t.Error("channel open after stop")
		}
		ch, _ = chats[1].Subscribe()
		net.Stop(1) // Close ends subscriptions
		if _, ok := <-ch; ok {
			t.Error("channel open after Close")
		}
	})
}

// An idle room syncs less and less, down to one request per
// MaxSyncInterval (32 s) a node instead of one per 2 s; a post brings its
// author back to SyncInterval, and a node whose push was lost still gets
// the message within MaxSyncInterval.
func TestIdleRoomBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, chats := room(t, coretest.Options{Nodes: 3, Latency: 10 * time.Millisecond})
		net.WaitMembers("chat")
		time.Sleep(3 * time.Minute) // backed off
		var before [3]uint64
		for i, c := range chats {
			before[i] = c.Stats().SyncsSent
		}
		time.Sleep(10 * time.Minute)
		for i, c := range chats {
			n := c.Stats().SyncsSent - before[i]
			t.Logf("node %d: %d sync requests in 10 idle minutes", i, n)
			if n < 10 || n > 24 { // one per 29 to 35 s
				t.Errorf("node %d: %d sync requests in 10 idle minutes, want one per MaxSyncInterval (18 or 19)", i, n)
			}
		}
		// A post that reaches node 1 but not node 2 (stopped): node 2
		// misses the push, and sync brings it once it is back.
		net.Stop(2)
		m, err := chats[0].Post("after a quiet while")
		if err != nil {
			t.Fatal(err)
		}
		net.Start(2)
		took, err := net.WaitFor(time.Minute, func() error { return converged(net, chats, map[uuid.UUID]bool{m.ID: true}) })
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("the message missed by a push reached every node %v later", took)
		if took > chat.DefaultMaxSyncInterval+chat.DefaultMaxSyncInterval/5 {
			t.Errorf("took %v, want within MaxSyncInterval", took)
		}
	})
}
