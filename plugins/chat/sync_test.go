package chat

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/uuid"
)

// history makes n messages by 3 authors with Lamport times that repeat
// (concurrent posts), in history order.
func history(n int) []Message {
	authors := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = Message{ID: uuid.New(), Author: authors[i%3], Lamport: uint64(1 + i/2), Text: "x"}
	}
	slices.SortFunc(msgs, func(a, b Message) int {
		if a.less(&b) {
			return -1
		}
		return 1
	})
	return msgs
}

// A filter never forgets what it holds, and rarely claims what it does not.
func TestBloom(t *testing.T) {
	msgs := history(maxSliceMessages)
	r := newSyncRequest(msgs)
	if len(r.Bits) != maxFilterBytes {
		t.Fatalf("filter of %d messages has %d bytes, want %d", len(msgs), len(r.Bits), maxFilterBytes)
	}
	for _, m := range msgs {
		if !r.has(m.ID) {
			t.Fatalf("false negative for %s", m.ID)
		}
	}
	fp := 0
	const probes = 100000
	for range probes {
		if r.has(uuid.New()) {
			fp++
		}
	}
	if rate := float64(fp) / probes; rate > 0.01 {
		t.Errorf("false positive rate %.4f, want under 1%%", rate)
	} else {
		t.Logf("false positive rate %.4f with %d messages in %d bytes", rate, len(msgs), len(r.Bits))
	}
	if len(r.encode()) > maxSyncBody {
		t.Errorf("request of %d bytes, over maxSyncBody %d", len(r.encode()), maxSyncBody)
	}
}

// The slices of a history cover every Lamport time, and each filter holds
// every message of its range.
func TestSyncSlicesCover(t *testing.T) {
	msgs := history(2000)
	ranges := map[[2]uint64]bool{}
	for range 200 {
		r := newSyncRequest(msgs)
		for _, m := range inRange(msgs, r.Lo, r.Hi) {
			if !r.has(m.ID) {
				t.Fatalf("range [%d, %d] misses %d in its filter", r.Lo, r.Hi, m.Lamport)
			}
		}
		ranges[[2]uint64{r.Lo, r.Hi}] = true
	}
	keys := slices.Collect(maps.Keys(ranges))
	slices.SortFunc(keys, func(a, b [2]uint64) int { return cmpU64(a[0], b[0]) })
	if len(keys) != 4 || keys[0][0] != 0 || keys[len(keys)-1][1] != ^uint64(0) {
		t.Fatalf("ranges %v: want 4 slices from 0 to MaxUint64", keys)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i][0] != keys[i-1][1]+1 {
			t.Errorf("ranges %v do not touch", keys)
		}
	}
}

// A node with nothing catches up with a history of 1500 messages from one
// peer, 32 messages per round, and nothing is sent twice.
func TestSyncRounds(t *testing.T) {
	src := history(1500)
	var dst []Message
	rounds, sent := 0, 0
	for len(dst) < len(src) && rounds < 1000 {
		rounds++
		got := newSyncRequest(dst).missing(src, DefaultMaxPerRound)
		sent += len(got)
		for _, m := range got {
			i, found := slices.BinarySearchFunc(dst, &m, func(a Message, b *Message) int {
				if a.ID == b.ID {
					return 0
				}
				if a.less(b) {
					return -1
				}
				return 1
			})
			if found {
				t.Fatalf("round %d resent %s", rounds, m.ID)
			}
			dst = slices.Insert(dst, i, m)
		}
	}
	if !slices.Equal(dst, src) {
		t.Fatalf("after %d rounds: %d of %d messages", rounds, len(dst), len(src))
	}
	// 1500/32 = 47 rounds if every round were full; half the rounds ask
	// for the newest slice, which is full sooner.
	t.Logf("1500 messages caught up in %d rounds (%d messages sent)", rounds, sent)
	if rounds > 200 {
		t.Errorf("%d rounds, want at most 200", rounds)
	}
}
