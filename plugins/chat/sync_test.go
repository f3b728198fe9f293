package chat

import (
	"crypto/ed25519"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
)

// history makes n signed messages by 3 authors with Lamport times that
// repeat (concurrent posts), in history order.
func history(n int) []Message {
	keys := []ed25519.PrivateKey{testKey(1), testKey(2), testKey(3)}
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = signedBy(keys[i%3], uint64(1+i/2), fmt.Sprint("x", i))
	}
	slices.SortFunc(msgs, func(a, b Message) int {
		if a.less(&b) {
			return -1
		}
		return 1
	})
	return msgs
}

// roomy is a Config whose limits no test history reaches, for tests of
// what the limits are not about.
func roomy(dir string) Config {
	c, _ := Config{Dir: dir, MaxMessages: 1 << 30, MaxBytes: 1 << 40, MaxAuthorMessages: 1 << 30, MaxAuthorBytes: 1 << 40}.withDefaults()
	return c
}

// testStore opens a store in a new directory with cfg's limits (roomy if
// cfg.Dir is ""), without fsync: tests need no durability.
func testStore(t testing.TB, cfg Config) *store {
	t.Helper()
	if cfg.Dir == "" {
		cfg = roomy(t.TempDir())
	}
	s, err := openStore(cfg.Dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.db.NoSync = true
	t.Cleanup(func() { s.close() })
	return s
}

// fill adds msgs to s and fails the test unless each is stored.
func fill(t testing.TB, s *store, msgs []Message) {
	t.Helper()
	err := s.db.Update(func(tx *bolt.Tx) error {
		md := readMeta(tx)
		for i := range msgs {
			k, v := keyOf(&msgs[i]), msgs[i].encode()
			if err := tx.Bucket(bucketMessages).Put(k, v); err != nil {
				return err
			}
			if err := index(tx, k, len(v), &md); err != nil {
				return err
			}
		}
		return md.write(tx)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// noRefused is a refused set with nothing in it.
var noRefused []idAt

// A filter never forgets what it holds, and rarely claims what it does not.
func TestBloom(t *testing.T) {
	msgs := history(maxSliceMessages)
	s := testStore(t, Config{})
	fill(t, s, msgs)
	r, err := s.newSyncRequest(noRefused)
	if err != nil {
		t.Fatal(err)
	}
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

// inRange returns the messages of msgs with Lamport times in [lo, hi].
func inRange(msgs []Message, lo, hi uint64) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Lamport >= lo && m.Lamport <= hi {
			out = append(out, m)
		}
	}
	return out
}

// The slices of a history cover every Lamport time from the floor on, and
// each filter holds every message of its range and the refused IDs in it.
func TestSyncSlicesCover(t *testing.T) {
	msgs := history(2000)
	s := testStore(t, Config{})
	fill(t, s, msgs)
	refused := []idAt{{id: uuid.New(), lamport: 3}, {id: uuid.New(), lamport: 900}}
	var set refusedSet
	set.at = map[[16]byte]int{}
	for _, x := range refused {
		set.add(x)
	}
	ranges := map[[2]uint64]bool{}
	for range 200 {
		r, err := s.newSyncRequest(set.list())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range inRange(msgs, r.Lo, r.Hi) {
			if !r.has(m.ID) {
				t.Fatalf("range [%d, %d] misses %d in its filter", r.Lo, r.Hi, m.Lamport)
			}
		}
		for _, x := range refused {
			if x.lamport >= r.Lo && x.lamport <= r.Hi && !r.has(x.id) {
				t.Fatalf("range [%d, %d] misses refused %d in its filter", r.Lo, r.Hi, x.lamport)
			}
		}
		ranges[[2]uint64{r.Lo, r.Hi}] = true
	}
	keys := slices.Collect(maps.Keys(ranges))
	slices.SortFunc(keys, func(a, b [2]uint64) int { return int(a[0]) - int(b[0]) })
	if len(keys) != 4 || keys[0][0] != 0 || keys[len(keys)-1][1] != ^uint64(0) {
		t.Fatalf("ranges %v: want 4 slices from 0 to MaxUint64", keys)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i][0] != keys[i-1][1]+1 {
			t.Errorf("ranges %v do not touch", keys)
		}
	}
	// Past a retention floor, the first slice starts above it.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		md := readMeta(tx)
		md.floor = 10
		return md.write(tx)
	}); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if r, _ := s.newSyncRequest(noRefused); r.Lo <= 10 {
			t.Fatalf("range [%d, %d] reaches the floor 10", r.Lo, r.Hi)
		}
	}
}

// A node with nothing catches up with a history of 1500 messages from one
// peer, 32 messages per round, and nothing is sent twice.
func TestSyncRounds(t *testing.T) {
	src := testStore(t, Config{})
	fill(t, src, history(1500))
	dst := testStore(t, Config{})
	rounds, sent := 0, 0
	for rounds < 1000 {
		md, _ := dst.meta()
		if md.count == 1500 {
			break
		}
		rounds++
		r, err := dst.newSyncRequest(noRefused)
		if err != nil {
			t.Fatal(err)
		}
		got, err := src.missing(r, DefaultMaxPerRound)
		if err != nil {
			t.Fatal(err)
		}
		sent += len(got)
		for _, b := range got {
			w, err := decodeSigned(b)
			if err != nil {
				t.Fatal(err)
			}
			m, err := w.open(dst.cid)
			if err != nil {
				t.Fatal(err)
			}
			if a, err := dst.add(&m, b, time.Now(), nil); err != nil || a.outcome != stored {
				t.Fatalf("round %d sent %s: %v %v", rounds, m.ID, a.outcome, err)
			}
		}
	}
	want, _ := src.all()
	if got, _ := dst.all(); !slices.Equal(got, want) {
		t.Fatalf("after %d rounds: %d of %d messages", rounds, len(got), len(want))
	}
	// 1500/32 = 47 rounds if every round were full; half the rounds ask
	// for the newest slice, which is full sooner.
	t.Logf("1500 messages caught up in %d rounds (%d messages sent)", rounds, sent)
	if rounds > 200 {
		t.Errorf("%d rounds, want at most 200", rounds)
	}
}
