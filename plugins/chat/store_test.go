package chat

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/walkie-p2p/walkie/community"
)

// shaped is a signed message as the store sees it, of the size of one, by
// the author whose key is 32 bytes of author, with a signature of nobody:
// the store never checks signatures (they were checked on arrival), and
// tests of sizes need thousands of messages.
func shaped(author byte, l uint64, text string) Message {
	s := signedMessage{Key: PublicKey(bytes.Repeat([]byte{author}, 32)), Lamport: l, Text: text}
	m, _ := s.message(community.IDFromName(DefaultName))
	return m
}

// mustAdd adds m to s at time now and returns what add did.
func mustAdd(t *testing.T, s *store, m Message, now time.Time) added {
	t.Helper()
	a, err := s.add(&m, m.encode(), now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// lamports returns the Lamport times of s's history, in order.
func lamports(t *testing.T, s *store) []uint64 {
	t.Helper()
	msgs, err := s.all()
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, m := range msgs {
		out = append(out, m.Lamport)
	}
	return out
}

// An old file (version 1: only the messages bucket) opens with every
// message, but for a damaged record and a poisoned time; its clock is the
// largest time kept; retention applies at the next write.
func TestStoreMigratesVersion1(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, StoreFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	author := uuid.New()
	var kept []Message
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketMessages)
		if err != nil {
			return err
		}
		for i := range 2500 { // more than one migration batch
			m := Message{ID: uuid.New(), Author: author, Lamport: uint64(i + 1), Text: fmt.Sprint("old ", i)}
			kept = append(kept, m)
			if err := b.Put(keyOf(&m), m.encode()); err != nil {
				return err
			}
		}
		lock := Message{ID: uuid.New(), Author: author, Lamport: MaxLamport, Text: "lock"}
		if err := b.Put(keyOf(&lock), lock.encode()); err != nil {
			return err
		}
		damaged := Message{ID: uuid.New(), Author: author, Lamport: 7, Text: "damaged"}
		return b.Put(keyOf(&damaged), []byte{0x94, 0xc0})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := roomy(dir)
	cfg.MaxMessages = 100
	for range 2 { // a second open finds version 2 and changes nothing
		s, err := openStore(dir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.all()
		md, _ := s.meta()
		s.close()
		if !slices.Equal(got, kept) || md.count != 2500 || md.clock != 2500 || md.floor != 0 {
			t.Fatalf("after migration %d messages (meta %+v), want the 2500 old ones up to Lamport 2500", len(got), md)
		}
	}
	s, err := openStore(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	a := mustAdd(t, s, Message{ID: uuid.New(), Author: uuid.New(), Lamport: 2501, Text: "new"}, time.Now())
	if l := lamports(t, s); a.outcome != stored || a.pruned != 2401 || len(l) != 100 || l[0] != 2402 {
		t.Errorf("first write: %+v; history %d messages from %d; want 2401 pruned, 100 left from 2402", a, len(l), l[0])
	}
}

// Retention by count keeps the newest MaxMessages, whole Lamport times at a
// time, and refuses from then on what is at or below the floor.
func TestRetentionCount(t *testing.T) {
	cfg := roomy(t.TempDir())
	cfg.MaxMessages = 5
	s := testStore(t, cfg)
	now := time.Now()
	for l := range uint64(8) {
		mustAdd(t, s, Message{ID: uuid.New(), Author: uuid.New(), Lamport: l + 1, Text: "x"}, now)
	}
	if l := lamports(t, s); !slices.Equal(l, []uint64{4, 5, 6, 7, 8}) {
		t.Fatalf("history %v, want 4..8", l)
	}
	// A second message at time 4 pushes the whole time 4 out.
	if a := mustAdd(t, s, Message{ID: uuid.New(), Author: uuid.New(), Lamport: 4, Text: "y"}, now); a.outcome != tooOld || a.pruned != 2 {
		t.Errorf("a second message at the oldest time: %+v, want tooOld with both at time 4 pruned", a)
	}
	if a := mustAdd(t, s, Message{ID: uuid.New(), Author: uuid.New(), Lamport: 3, Text: "z"}, now); a.outcome != tooOld || a.pruned != 0 {
		t.Errorf("a message under the floor: %+v, want tooOld and nothing pruned", a)
	}
	md, _ := s.meta()
	if l := lamports(t, s); !slices.Equal(l, []uint64{5, 6, 7, 8}) || md.floor != 4 || md.count != 4 {
		t.Errorf("history %v, meta %+v; want 5..8 above floor 4", l, md)
	}
}

// Retention by bytes counts encoded messages.
func TestRetentionBytes(t *testing.T) {
	cfg := roomy(t.TempDir())
	m := Message{ID: uuid.New(), Author: uuid.New(), Lamport: 1, Text: "0123456789"}
	size := len(m.encode())
	cfg.MaxBytes = int64(3*size + size/2)
	s := testStore(t, cfg)
	for l := range uint64(6) {
		m.ID, m.Lamport = uuid.New(), l+1
		mustAdd(t, s, m, time.Now())
	}
	md, _ := s.meta()
	if l := lamports(t, s); !slices.Equal(l, []uint64{4, 5, 6}) || md.bytes != uint64(3*size) {
		t.Errorf("history %v of %d bytes, want 4..6 of %d", l, md.bytes, 3*size)
	}
}

// Retention by age deletes what was stored more than MaxAge ago, give or
// take one step of MaxAge/ageSteps, and never earlier.
func TestRetentionAge(t *testing.T) {
	cfg := roomy(t.TempDir())
	cfg.MaxAge = 100 * time.Hour // steps of an hour
	s := testStore(t, cfg)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(l uint64, at time.Time) added {
		return mustAdd(t, s, Message{ID: uuid.New(), Author: uuid.New(), Lamport: l, Text: "x"}, at)
	}
	add(1, t0)
	add(2, t0.Add(30*time.Minute)) // the same step
	add(3, t0.Add(50*time.Hour))
	add(4, t0.Add(99*time.Hour))
	a := add(5, t0.Add(100*time.Hour))
	if l := lamports(t, s); len(l) != 5 || a.pruned != 0 {
		t.Fatalf("at MaxAge: %v, want all five (a step's grace)", l)
	}
	a = add(6, t0.Add(101*time.Hour))
	if l := lamports(t, s); !slices.Equal(l, []uint64{3, 4, 5, 6}) || a.pruned != 2 {
		t.Errorf("a step past MaxAge: %v (%d pruned), want 3..6", l, a.pruned)
	}
	if a := add(2, t0.Add(101*time.Hour)); a.outcome != tooOld {
		t.Errorf("a message of an aged time: %+v, want tooOld", a)
	}
	a = add(7, t0.Add(151*time.Hour))
	if l := lamports(t, s); !slices.Equal(l, []uint64{4, 5, 6, 7}) || a.pruned != 1 {
		t.Errorf("at t0+151h: %v, want 4..7", l)
	}
}

// An author over its quota loses its oldest messages first; a message older
// than all it keeps is refused; other authors keep theirs. The author is
// the signer: the key's peer ID.
func TestAuthorQuota(t *testing.T) {
	cfg := roomy(t.TempDir())
	cfg.MaxAuthorMessages = 3
	s := testStore(t, cfg)
	a, b := testKey(1), testKey(2)
	mustAdd(t, s, signedBy(b, 1, "b"), time.Now())
	var evicted int
	for l := range uint64(5) {
		evicted += len(mustAdd(t, s, signedBy(a, l+2, "a"), time.Now()).evicted)
	}
	if l := lamports(t, s); !slices.Equal(l, []uint64{1, 4, 5, 6}) || evicted != 2 {
		t.Errorf("history %v, %d evicted; want b's 1 and a's 4..6, 2 evicted", l, evicted)
	}
	if r := mustAdd(t, s, signedBy(a, 3, "a"), time.Now()); r.outcome != overQuota {
		t.Errorf("a's message older than all it keeps: %+v, want overQuota", r)
	}
	// An unsigned message kept from version 1 counts for the author it
	// names, as it did.
	if r := mustAdd(t, s, unsigned(uuid.UUID(community.IDFromKey(a.Public().(ed25519.PublicKey))), 7, "a, unsigned"), time.Now()); r.outcome != stored || len(r.evicted) != 1 {
		t.Errorf("an unsigned message of a's: %+v, want stored, a's oldest evicted", r)
	}
	cfg = roomy(t.TempDir())
	m := signedBy(a, 1, "0123456789")
	cfg.MaxAuthorBytes = int64(2 * len(m.encode()))
	s = testStore(t, cfg)
	for l := range uint64(3) {
		mustAdd(t, s, signedBy(a, l+1, "0123456789"), time.Now())
	}
	if l := lamports(t, s); !slices.Equal(l, []uint64{2, 3}) {
		t.Errorf("by bytes: %v, want 2, 3", l)
	}
}

// Pages walk the history back from the newest, in order within a page,
// and the cursor survives the deletion of the message it names.
func TestPage(t *testing.T) {
	c, err := New(roomy(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs := history(250)
	c.store.db.NoSync = true
	fill(t, c.store, msgs)
	var got []Message
	before, pages := "", 0
	for {
		page, next, err := c.Page(before, 100)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(page, got...)
		if next == "" {
			break
		}
		before = next
	}
	if pages != 3 || !slices.Equal(got, msgs) {
		t.Fatalf("%d pages of %d messages, want 3 of the 250 in order", pages, len(got))
	}
	page, next, _ := c.Page("", 1)
	if len(page) != 1 || page[0] != msgs[249] || next == "" {
		t.Fatalf("newest page of 1: %v, next %q", page, next)
	}
	if err := c.store.db.Update(func(tx *bolt.Tx) error {
		md := readMeta(tx)
		if err := remove(tx, keyOf(&msgs[249]), &md); err != nil {
			return err
		}
		return md.write(tx)
	}); err != nil {
		t.Fatal(err)
	}
	if page, _, _ := c.Page(next, 2); !slices.Equal(page, msgs[247:249]) {
		t.Errorf("page before a deleted message: %v", page)
	}
	for _, bad := range []string{"!", "AAAA", next + "A"} {
		if _, _, err := c.Page(bad, 1); !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", bad, err)
		}
	}
}

// At the default limits, a store filled to its cap (the count for short
// messages, the bytes for the longest) stays at or under 16 MiB as it
// takes 1,000 more from 20 authors, and the second 500 do not grow the
// file at all: bbolt reuses what retention frees.
func TestStoreSizeAtCap(t *testing.T) {
	for _, size := range []int{100, MaxText} {
		cfg, _ := Config{Dir: t.TempDir()}.withDefaults()
		s := testStore(t, cfg)
		text := strings.Repeat("x", size)
		msg := func(i int) Message { return shaped(byte(i%20), uint64(i+1), text) }
		first := msg(0)
		full := min(DefaultMaxMessages, DefaultMaxBytes/len(first.encode()))
		var fast []Message // to the cap in one transaction, as if it had run for long
		for i := range full {
			fast = append(fast, msg(i))
		}
		fill(t, s, fast)
		fileSize := func() int64 {
			fi, err := os.Stat(filepath.Join(cfg.Dir, StoreFile))
			if err != nil {
				t.Fatal(err)
			}
			return fi.Size()
		}
		var half int64
		for i := range 1000 {
			if i == 500 {
				half = fileSize()
			}
			mustAdd(t, s, msg(full+i), time.Now())
		}
		md, _ := s.meta()
		end := fileSize()
		t.Logf("%d messages of %d bytes of text, then 1,000 more: %d kept, %d bytes of messages, chat.db %d bytes (%d after the first 500)",
			full, size, md.count, md.bytes, end, half)
		if md.count > DefaultMaxMessages || md.bytes > DefaultMaxBytes || end > 16<<20 || end != half {
			t.Errorf("%d messages of %d bytes in a file of %d bytes (%d halfway), want at most %d, %d and 16 MiB, and no growth",
				md.count, md.bytes, end, half, DefaultMaxMessages, DefaultMaxBytes)
		}
	}
}

// heapNow returns the live heap after a collection.
func heapNow() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// The heap does not hold the history: opening a chat of 10,000 messages
// (4 MB of text) costs about what opening an empty one does.
func TestHeapIndependentOfHistory(t *testing.T) {
	open := func(n int) uint64 {
		dir := t.TempDir()
		s, err := openStore(dir, roomy(dir))
		if err != nil {
			t.Fatal(err)
		}
		s.db.NoSync = true
		msgs := make([]Message, n)
		for i := range msgs {
			msgs[i] = shaped(1, uint64(i+1), strings.Repeat("x", 400))
		}
		fill(t, s, msgs)
		s.close()
		before := heapNow()
		c, err := New(Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		after := heapNow()
		if st := c.Stats(); st.Messages != n {
			t.Fatalf("%d messages, want %d", st.Messages, n)
		}
		c.Close()
		return max(after, before) - before
	}
	empty, full := open(0), open(10_000)
	t.Logf("heap after opening: +%d bytes empty, +%d bytes with 10,000 messages", empty, full)
	if full > empty+256<<10 {
		t.Errorf("opening 10,000 messages took %d bytes of heap more than an empty chat, want under 256 KiB", full-empty)
	}
}
