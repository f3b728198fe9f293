package chat

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/proto"
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

// debugTo is an Options.Config that gives node 0 a debug logger into logs.
func debugTo(logs *logBuffer) func(int, *core.Config) {
	return func(i int, c *core.Config) {
		if i == 0 {
			c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
}

// forgeries returns, for Y's real message, what a member X can make of it:
// a message signed by X under Y's key, one with Y's key and a signature of
// nothing, and Y's message relabelled with another Lamport time (to order
// it before Y's real ones) or another text (hence another ID).
func forgeries(x community.Env, real Message) map[string]Message {
	cid := community.IDFromName(DefaultName)
	out := map[string]Message{}
	f := real
	f.Lamport, f.Text = 1, "y says what x wants"
	f.Sig = Signature(x.Sign(signedBytes(cid, f.Key, f.Lamport, f.Text)))
	out["signed by x under y's key"] = f
	f.Text = "y says what x wants, unsigned"
	f.Sig = Signature(bytes.Repeat([]byte{7}, ed25519.SignatureSize))
	out["y's key, a bad signature"] = f
	f = real
	f.Lamport = 1
	out["y's message at Lamport 1"] = f
	f = real
	f.Text += "!"
	out["y's message with another ID"] = f
	for name, m := range out {
		s := signedMessage{Key: m.Key, Lamport: m.Lamport, Text: m.Text, Sig: m.Sig}
		out[name], _ = s.message(cid) // the ID and author a node would derive
	}
	return out
}

// A member X forges Y's messages (a forged author, relabelled copies) and
// a third member Z relays them through sync, answering every sync request
// with them; then X pushes them too. Every honest node, Y included,
// refuses every one of them, whichever member brought it, counts it and
// logs it, and holds only Y's real message. Before messages were signed, a
// message under Y's ID at Lamport 1 was taken by every node, ordered
// before Y's real ones, and sync copied it into Y's own history.
func TestForgeriesRefusedEverywhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		const x, z = 3, 4
		net, chats, bad := mixedRoom(t, coretest.Options{Nodes: 5, Latency: 10 * time.Millisecond, Config: debugTo(&logs)}, Config{},
			func(i int) bool { return i >= x })
		net.WaitMembers(DefaultName)
		var ys []Message // node 1 is Y
		for i := range 3 {
			ys = append(ys, mustPost(t, chats[1], fmt.Sprint("y's words ", i)))
		}
		real := ys[2] // at Lamport 3: a copy at 1 would order before Y's others
		if _, err := net.WaitFor(time.Minute, func() error { return sameHistories(net, chats) }); err != nil {
			t.Fatal(err)
		}
		forged := forgeries(bad[x].env, real)
		var bodies [][]byte
		for _, m := range forged {
			bodies = append(bodies, m.encode())
		}

		// Relayed through sync only: Z answers every request with them.
		bad[z].setAnswer(func(proto.ID) [][]byte { return bodies })
		// An idle room syncs every 32 s at most, with a random member of
		// four: half an hour asks Z many times over.
		if _, err := net.WaitFor(30*time.Minute, func() error {
			for i := range 3 {
				if n := chats[i].Stats().BadSignature; n < uint64(len(forged)) {
					return fmt.Errorf("node %d refused %d forgeries so far", i, n)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		bad[z].setAnswer(nil)
		time.Sleep(time.Second) // answers in flight land
		var before [3]uint64
		for i := range 3 {
			before[i] = chats[i].Stats().BadSignature
		}
		// Pushed by X.
		for i := range 3 {
			for _, b := range bodies {
				bad[x].push(t, net.Node(i).ID, b)
			}
		}
		time.Sleep(10 * time.Second) // ten sync rounds
		for i := range 3 {
			s := chats[i].Stats()
			if got := s.BadSignature - before[i]; got != uint64(len(forged)) {
				t.Errorf("node %d refused %d pushed forgeries, want %d", i, got, len(forged))
			}
			if h := chats[i].History(); !slices.Equal(h, ys) {
				t.Errorf("node %d holds %+v, want only y's real messages", i, h)
			}
			for name, m := range forged {
				if holds(chats[i], m.ID) {
					t.Errorf("node %d holds %q", i, name)
				}
			}
			if s.Received+s.Posted != 3 {
				t.Errorf("node %d: %+v, want y's messages and nothing else taken", i, s)
			}
			if n := net.Node(i).Stats.Dropped(core.DropBadBody); n < s.BadSignature {
				t.Errorf("node %d's core counted %d bad bodies for %d bad signatures", i, n, s.BadSignature)
			}
		}
		if !strings.Contains(logs.String(), ErrBadSignature.Error()) {
			t.Errorf("node 0 logged no bad signature:\n%s", logs.String())
		}
		// What the honest nodes push and offer in sync is Y's only.
		for _, b := range bad[x].received() {
			if !slices.ContainsFunc(ys, func(m Message) bool { return bytes.Equal(b, m.encode()) }) {
				t.Errorf("an honest node sent %x", b)
			}
		}
	})
}

// A member that never proved a key (node 1 stands for a node of the
// release before keys: no key, a random peer ID) is no member of the room:
// a message it pushes, validly signed by a key of its own, never reaches
// the chat (the node counts it as unauthenticated), and posts are not
// pushed to it. Without the Policy the message was stored.
func TestUnauthenticatedMemberNotHeard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keyless := proto.ID(uuid.New())
		net, chats, bad := mixedRoom(t, coretest.Options{
			Nodes:   2,
			Latency: 10 * time.Millisecond,
			Config: func(i int, c *core.Config) {
				if i == 1 {
					c.Key, c.PeerID = nil, keyless
				}
			},
		}, Config{}, func(i int) bool { return i == 1 })
		a := net.Node(0).ID
		if _, err := net.WaitFor(time.Minute, func() error {
			for _, p := range net.Node(0).Overlay.Status().Peers {
				if p.ID == keyless.String() && p.Verified && !p.Authenticated && slices.Contains(p.Communities, DefaultName) {
					if !slices.ContainsFunc(bad[1].env.Members(), func(m community.Peer) bool { return m.ID == a }) {
						return errors.New("node 1 does not list node 0 as a member yet")
					}
					return nil
				}
			}
			return errors.New("node 0 does not see node 1 in the room yet")
		}); err != nil {
			t.Fatal(err)
		}
		m := signedBy(testKey(7), 1, "from a node without a proven key")
		bad[1].push(t, a, m.encode())
		bad[1].claim(t, a, 0)
		time.Sleep(time.Second)
		mustPost(t, chats[0], "to nobody")
		if n := net.Node(0).Stats.Dropped(core.DropUnauthenticated); n < 2 {
			t.Errorf("node 0 counted %d unauthenticated messages, want the push and the sync request", n)
		}
		s := chats[0].Stats()
		if holds(chats[0], m.ID) || s.Received != 0 || s.SyncsServed != 0 || s.Pushed != 0 {
			t.Errorf("node 0 heard the unauthenticated member or pushed to it: %+v", s)
		}
		if got := bad[1].received(); len(got) != 0 {
			t.Errorf("node 1 received %d messages", len(got))
		}
	})
}

// Every body fits a datagram sealed to an IPv6 peer, the largest header:
// signing did not cost the text its 1,000 bytes.
func TestBodiesFitSealed(t *testing.T) {
	room := proto.MaxSealedInner - proto.MaxHeaderLen
	for name, n := range map[string]int{"message": maxMessageBody, "sync request": maxSyncBody} {
		if n > room {
			t.Errorf("the largest %s takes %d bytes, over the %d a sealed community body may take", name, n, room)
		}
	}
	m := signedBy(testKey(1), MaxLamport, strings.Repeat("é", MaxText/2))
	if n := len(m.encode()); n != maxMessageBody {
		t.Errorf("the longest message takes %d bytes, maxMessageBody says %d", n, maxMessageBody)
	}
	r := syncRequest{Lo: ^uint64(0) - 1, Hi: ^uint64(0), Salt: ^uint32(0), Bits: make([]byte, maxFilterBytes)}
	if n := len(r.encode()); n != maxSyncBody {
		t.Errorf("the longest sync request takes %d bytes, maxSyncBody says %d", n, maxSyncBody)
	}
}

// The longest text crosses sealed, pushed and by sync.
func TestLongestTextCrosses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, chats, _ := mixedRoom(t, coretest.Options{Nodes: 3, Latency: 10 * time.Millisecond}, Config{}, func(int) bool { return false })
		net.Stop(2)
		net.WaitMembers(DefaultName)
		m := mustPost(t, chats[0], strings.Repeat("x", MaxText))
		net.Start(2)
		net.WaitMembers(DefaultName)
		if _, err := net.WaitFor(time.Minute, func() error {
			for i := 1; i < 3; i++ {
				if !holds(chats[i], m.ID) {
					return fmt.Errorf("node %d lacks it", i)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n := net.Node(1).Stats.Dropped(core.DropLimit); n != 0 {
			t.Errorf("%d datagrams over a limit", n)
		}
	})
}
