package chat

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/proto"
)

// floodResult is what one node's store and the process's heap did during a
// flood.
type floodResult struct {
	sent             int    // messages the flooders pushed
	messages, stored int    // messages in the history after; their encoded bytes
	file             int64  // chat.db's size after, in bytes
	heap, heapBefore uint64 // live heap after and before, in bytes (the whole process: five nodes)
	stats            Stats
}

// flood runs finding 2 on memnet: node 0 is an honest chat, nodes 1-4 are
// members that each push 50 messages of 1,000 bytes a second to every
// member for 60 s of fake time, and answer every sync request with 32 more.
// Each flooder signs its messages with its own key (the finding), or, if
// fresh, each with a fresh key (keys are free: a Sybil author a message).
func flood(t *testing.T, fresh bool) floodResult {
	var r floodResult
	synctest.Test(t, func(t *testing.T) {
		net, chats, bad := mixedRoom(t, coretest.Options{Nodes: 5, Latency: 10 * time.Millisecond}, Config{SyncInterval: DefaultSyncInterval},
			func(i int) bool { return i > 0 })
		net.WaitMembers(DefaultName)
		victim := net.Node(0).ID
		text := strings.Repeat("x", MaxText)
		start := time.Now()
		// The flooders date their messages by the second, so that the
		// victim's clock never refuses them: only the quotas may.
		lamport := func() uint64 { return 1 + uint64(time.Since(start)/time.Second) }
		// Each text is new: a signed message's ID derives from what it
		// signs, so the same text at the same time is one message.
		var n atomic.Int64 // the test pushes, the flooders' goroutines answer
		junk := func(i int) []byte {
			text := fmt.Sprintf("%s%20d", text[20:], n.Add(1))
			if !fresh {
				m := bad[i].signed(lamport(), text)
				return m.encode()
			}
			_, priv, err := ed25519.GenerateKey(nil)
			if err != nil {
				panic(err) // crypto/rand does not fail
			}
			m := signedBy(priv, lamport(), text)
			return m.encode()
		}
		for i := 1; i < 5; i++ {
			bad[i].setAnswer(func(proto.ID) [][]byte {
				out := make([][]byte, DefaultMaxPerRound)
				for k := range out {
					out[k] = junk(i)
				}
				return out
			})
		}
		before := heapNow()
		tick := time.NewTicker(20 * time.Millisecond) // 50 a second
		for time.Since(start) < time.Minute {
			<-tick.C
			for i := 1; i < 5; i++ {
				bad[i].push(t, victim, junk(i))
				r.sent++
			}
		}
		tick.Stop()
		time.Sleep(time.Second) // let the last ones land
		r.heap, r.heapBefore = heapNow(), before
		h := chats[0].History()
		r.messages = len(h)
		for _, m := range h {
			r.stored += len(m.encode())
		}
		r.stats = chats[0].Stats()
		fi, err := os.Stat(filepath.Join(net.Node(0).Dir, StoreFile))
		if err != nil {
			t.Fatal(err)
		}
		r.file = fi.Size()
	})
	return r
}

// Finding 2, after the fix: four members flooding a node for a minute grow
// its history by at most 1 MB and the heap by at most 10 MB.
func TestFloodBounded(t *testing.T) {
	r := flood(t, false)
	r.log(t)
	if r.stored > 1<<20 {
		t.Errorf("history grew by %d bytes in a minute, want at most 1 MiB", r.stored)
	}
	if r.heap > r.heapBefore+10<<20 {
		t.Errorf("heap grew from %d to %d bytes in a minute, want at most 10 MiB more", r.heapBefore, r.heap)
	}
}

// The same flood with a fresh key, hence a fresh author, for every message
// (keys are free): the members' rates bound it instead.
func TestFloodFreshKeys(t *testing.T) {
	r := flood(t, true)
	r.log(t)
	if r.stored > 2<<20 {
		t.Errorf("history grew by %d bytes in a minute, want at most 2 MiB", r.stored)
	}
	if r.heap > r.heapBefore+10<<20 {
		t.Errorf("heap grew from %d to %d bytes in a minute, want at most 10 MiB more", r.heapBefore, r.heap)
	}
}

func (r floodResult) log(t *testing.T) {
	t.Logf("4 members x 50 msg/s x 1,000 bytes for 60 s: %d pushed; the node stored %d messages, %d bytes (chat.db %d bytes); live heap %d -> %d bytes",
		r.sent, r.messages, r.stored, r.file, r.heapBefore, r.heap)
	t.Logf("%+v", r.stats)
}
