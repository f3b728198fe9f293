package chat

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/proto"
)

// The huge Lamport times of finding 1: 2^53 locked a room with one packet,
// 2^40 would have moved every clock a trillion ahead.
var hugeTimes = []uint64{MaxLamport, 1 << 40}

// mustPost posts on c and fails the test if it cannot.
func mustPost(t *testing.T, c *Chat, text string) Message {
	t.Helper()
	m, err := c.Post(text)
	if err != nil {
		t.Fatalf("post %q: %v", text, err)
	}
	return m
}

// One member pushes a message with a huge Lamport time to node 0. Node 0
// and node 1 (which syncs from node 0) keep posting, neither stores it,
// and node 0 still posts after a restart.
func TestHugeLamportPushed(t *testing.T) {
	for _, l := range hugeTimes {
		t.Run(fmt.Sprint(l), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				net, chats, bad := mixedRoom(t, coretest.Options{Nodes: 3, Latency: 10 * time.Millisecond}, Config{},
					func(i int) bool { return i == 2 })
				net.WaitMembers(DefaultName)
				mustPost(t, chats[0], "before")
				m := bad[2].signed(l, "lock")
				bad[2].push(t, net.Node(0).ID, m.encode())
				time.Sleep(time.Second)
				mustPost(t, chats[0], "after")
				time.Sleep(10 * time.Second) // ten sync rounds each
				for i := range 2 {
					mustPost(t, chats[i], fmt.Sprint("node ", i, " after sync"))
					if holds(chats[i], m.ID) {
						t.Errorf("node %d stored the message at Lamport %d", i, l)
					}
				}
				if s := chats[0].Stats(); s.Ahead != 1 {
					t.Errorf("node 0 counted %d messages too far ahead, want 1", s.Ahead)
				}
				net.Restart(0)
				if p := mustPost(t, chats[0], "after restart"); p.Lamport > 10 {
					t.Errorf("post after restart at Lamport %d, want the room's few", p.Lamport)
				}
			})
		})
	}
}

// The same message offered only through sync: every honest node asks the
// hostile member now and then, and it answers with the message each time.
func TestHugeLamportThroughSync(t *testing.T) {
	for _, l := range hugeTimes {
		t.Run(fmt.Sprint(l), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				net, chats, bad := mixedRoom(t, coretest.Options{Nodes: 3, Latency: 10 * time.Millisecond}, Config{},
					func(i int) bool { return i == 2 })
				net.WaitMembers(DefaultName)
				m := bad[2].signed(l, "lock")
				body := m.encode()
				bad[2].setAnswer(func(proto.ID) [][]byte { return [][]byte{body} })
				time.Sleep(30 * time.Second)
				var ahead uint64
				for i := range 2 {
					mustPost(t, chats[i], fmt.Sprint("node ", i))
					if holds(chats[i], m.ID) {
						t.Errorf("node %d stored the message at Lamport %d", i, l)
					}
					ahead += chats[i].Stats().Ahead
				}
				if ahead == 0 {
					t.Error("no node counted the message as too far ahead")
				}
			})
		})
	}
}

// sameHistories says how the running honest nodes' histories differ.
func sameHistories(net *coretest.Network, chats []*Chat) error {
	var ref []Message
	refNode := -1
	for i, c := range chats {
		if c == nil || !net.Node(i).Running() {
			continue
		}
		h := c.History()
		if refNode < 0 {
			ref, refNode = h, i
			continue
		}
		if !slices.Equal(h, ref) {
			return fmt.Errorf("node %d holds %d messages, node %d %d, or another order", i, len(h), refNode, len(ref))
		}
	}
	return nil
}

// small makes clock jumps easy to produce: a room's retained history
// starts far more than MaxAhead past 0 after a few dozen posts.
var small = Config{MaxAhead: 8, MaxMessages: 10}

// A newcomer (clock 0) joins a room whose retained history starts past
// MaxAhead, with one liar claiming 2^40 by message and by sync request. The
// second-highest claim is the honest room's: the newcomer takes the honest
// history, refuses the liar's, and its clock is the room's.
func TestNewcomerReference(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, chats, bad := mixedRoom(t, coretest.Options{Nodes: 4, Latency: 10 * time.Millisecond}, small,
			func(i int) bool { return i == 2 })
		net.Stop(3)
		net.WaitMembers(DefaultName)
		for i := range 30 {
			mustPost(t, chats[i%2], fmt.Sprint("honest ", i))
		}
		lie := bad[2].signed(1<<40, "from the future")
		net.Start(3)
		net.WaitMembers(DefaultName)
		newcomer := net.Node(3).ID
		for range 30 {
			bad[2].push(t, newcomer, lie.encode())
			bad[2].claim(t, newcomer, 1<<40)
			time.Sleep(time.Second)
		}
		if err := sameHistories(net, chats); err != nil {
			t.Fatal(err)
		}
		s := chats[3].Stats()
		honest := chats[0].Stats().Clock
		t.Logf("newcomer: %+v", s)
		if s.Reference < honest || s.Reference > honest+small.MaxAhead || s.Clock != honest {
			t.Errorf("newcomer's reference %d, clock %d; want the room's %d", s.Reference, s.Clock, honest)
		}
		if holds(chats[3], lie.ID) || s.Ahead == 0 || s.Jumps != 1 {
			t.Errorf("newcomer stored the lie (%v), counted %d ahead and %d jumps; want not, some, 1", holds(chats[3], lie.ID), s.Ahead, s.Jumps)
		}
		if m := mustPost(t, chats[3], "hello"); m.Lamport != honest+1 {
			t.Errorf("newcomer posts at Lamport %d, want %d", m.Lamport, honest+1)
		}
	})
}

// A long partition: node 2 talks alone, then the others talk without it
// until their retained history lies far past node 2's clock. Once node 2
// is back, two members vouch for the room's clock, and all three end with
// the same history (node 2's old posts fell under the room's retention).
func TestPartitionConverges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, chats, _ := mixedRoom(t, coretest.Options{Nodes: 3, Latency: 10 * time.Millisecond}, small,
			func(int) bool { return false })
		net.WaitMembers(DefaultName)
		net.Stop(0)
		net.Stop(1)
		for i := range 3 {
			mustPost(t, chats[2], fmt.Sprint("alone ", i))
		}
		net.Stop(2)
		net.Start(0)
		net.Start(1)
		net.WaitMembers(DefaultName)
		for i := range 40 {
			mustPost(t, chats[i%2], fmt.Sprint("the others ", i))
		}
		net.Start(2)
		net.WaitMembers(DefaultName)
		took, err := net.WaitFor(time.Minute, func() error { return sameHistories(net, chats) })
		if err != nil {
			t.Fatal(err)
		}
		s := chats[2].Stats()
		t.Logf("converged %v after the partition healed; node 2: %+v", took, s)
		if s.Clock != chats[0].Stats().Clock || s.Jumps == 0 {
			t.Errorf("node 2's clock %d (%d jumps), want the room's %d after a jump", s.Clock, s.Jumps, chats[0].Stats().Clock)
		}
	})
}

// Two members that lie together can vouch for a jump (the price of
// following a partitioned room), but the jump budget bounds how far: past
// it, their message is refused, and the budget stays spent after a
// restart.
func TestTwoLiarsBoundedByBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{MaxAhead: 8, JumpBudget: 1000}
		net, chats, bad := mixedRoom(t, coretest.Options{Nodes: 3, Latency: 10 * time.Millisecond}, cfg,
			func(i int) bool { return i > 0 })
		net.WaitMembers(DefaultName)
		victim := net.Node(0).ID
		send := func(l uint64) Message {
			m := bad[1].signed(l, "vouched")
			for i := 1; i < 3; i++ {
				bad[i].claim(t, victim, l)
			}
			time.Sleep(100 * time.Millisecond)
			bad[1].push(t, victim, m.encode())
			time.Sleep(100 * time.Millisecond)
			return m
		}
		far := send(1 << 40)
		near := send(900)
		if holds(chats[0], far.ID) || !holds(chats[0], near.ID) {
			t.Errorf("2^40 stored %v, 900 stored %v; want only 900 (budget 1000)", holds(chats[0], far.ID), holds(chats[0], near.ID))
		}
		net.Restart(0)
		net.WaitMembers(DefaultName)
		again := send(1800)
		s := chats[0].Stats()
		if holds(chats[0], again.ID) || s.Ahead != 1 || s.Clock != 900 {
			t.Errorf("after a restart a 900 jump was stored (%v), clock %d, %d ahead; want the budget still spent", holds(chats[0], again.ID), s.Clock, s.Ahead)
		}
	})
}

// A file that the attack of finding 1 locked before this version (a
// message at MaxLamport in it) opens unlocked: the poisoned message is
// dropped by the migration, the others stay, and posting goes on after
// them.
func TestLockedFileOpensUnlocked(t *testing.T) {
	opts := coretest.Options{Nodes: 1, Dir: t.TempDir()}
	dir := opts.NodeDir(0)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, StoreFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := unsigned(uuid.New(), 41, "kept")
	lock := unsigned(uuid.New(), MaxLamport, "lock")
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketMessages)
		if err != nil {
			return err
		}
		b.Put(keyOf(&old), old.encode())
		return b.Put(keyOf(&lock), lock.encode())
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		_, chats, _ := mixedRoom(t, opts, Config{}, func(int) bool { return false })
		if h := chats[0].History(); len(h) != 1 || h[0] != old {
			t.Errorf("history %v, want the one old message", h)
		}
		if m := mustPost(t, chats[0], "unlocked"); m.Lamport != 42 {
			t.Errorf("post at Lamport %d, want 42", m.Lamport)
		}
	})
}
