package fleet

import (
	"bufio"
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// t0 is the collector tests' clock start.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newTestCollector returns a collector with cfg's bounds (defaults for
// zeros).
func newTestCollector(t *testing.T, cfg Config) *collector {
	t.Helper()
	cfg.Collect = true
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f.coll
}

// authed is an authenticated member with a fresh ID.
func authed() community.Peer {
	return community.Peer{ID: proto.ID(uuid.New()), Authenticated: true}
}

// sample is a small report: verified peers, a drop reason, the NAT.
func sample(peers float64) []Series {
	return []Series{
		{Family: 14, Labels: []string{"queue_full"}, Value: 2},
		{Family: 15, Labels: []string{"verified"}, Value: peers},
		{Family: 16, Labels: []string{"ipv4", "203.0.113.7:1873", "cone"}, Value: 1},
	}
}

// send encodes a report and ingests every part at now.
func send(t *testing.T, c *collector, from community.Peer, seq uint32, ival time.Duration, series []Series, now time.Time) {
	t.Helper()
	parts, omitted := EncodeReport(seq, ival, series)
	if omitted != 0 {
		t.Fatalf("%d series omitted", omitted)
	}
	for _, b := range parts {
		c.ingest(from, b, now)
	}
}

// text returns the collector's exposition at now.
func text(c *collector, now time.Time) string {
	views, _ := c.snapshot(now)
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	writeText(w, c.fams, views)
	w.Flush()
	return b.String()
}

// peersValue returns the walkie_peers{state="verified"} line of peer id.
func peersLine(out string, id proto.ID) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, `walkie_peers{peer="`+id.String()+`",state="verified"}`) {
			return l
		}
	}
	return ""
}

func TestCollectorTakesReports(t *testing.T) {
	c := newTestCollector(t, Config{})
	a, b := authed(), authed()
	send(t, c, a, 1, time.Minute, sample(3), t0)
	send(t, c, b, 1, time.Minute, sample(5), t0)
	out := text(c, t0)
	if peersLine(out, a.ID) != `walkie_peers{peer="`+a.ID.String()+`",state="verified"} 3` ||
		peersLine(out, b.ID) != `walkie_peers{peer="`+b.ID.String()+`",state="verified"} 5` {
		t.Errorf("fleet text:\n%s", out)
	}
	if n := strings.Count(out, "# TYPE walkie_peers gauge\n"); n != 1 {
		t.Errorf("%d TYPE lines for walkie_peers, want 1", n)
	}
	// The next report replaces the first.
	send(t, c, a, 2, time.Minute, sample(4), t0.Add(time.Minute))
	if l := peersLine(text(c, t0.Add(time.Minute)), a.ID); !strings.HasSuffix(l, "} 4") {
		t.Errorf("after the second report: %q", l)
	}
	st := c.counters(t0.Add(time.Minute))
	if st.Reports != 3 || st.Datagrams != 3 || st.Reporters != 2 || st.Series != 6 {
		t.Errorf("stats %+v", st)
	}
}

// Each refusal is counted under its reason and changes nothing else.
func TestCollectorRefuses(t *testing.T) {
	a, stranger := authed(), authed()
	c := newTestCollector(t, Config{Accept: []proto.ID{a.ID}, MaxSeries: 4})
	now := t0
	check := func(reason string, want uint64) {
		t.Helper()
		if got := c.counters(now).Dropped(reason); got != want {
			t.Errorf("%s: %d drops, want %d", reason, got, want)
		}
	}
	send(t, c, community.Peer{ID: a.ID}, 1, time.Minute, sample(1), now) // same ID, no proof
	check("unauthenticated", 1)
	send(t, c, stranger, 1, time.Minute, sample(1), now)
	check("not_accepted", 1)
	c.ingest(a, []byte{0x96, 0x01}, now)
	check("malformed", 1)
	c.ingest(a, []byte{0x96, 0x02, 0x01, 0x00, 0x01, 0x3c, 0x90}, now)
	check("version", 1)
	if st := c.counters(now); st.Reporters != 0 || st.Reports != 0 {
		t.Fatalf("refused parts made a reporter: %+v", st)
	}

	send(t, c, a, 1, time.Minute, sample(1), now)
	send(t, c, a, 2, time.Minute, sample(9), now.Add(DefaultMinGap-time.Second))
	check("rate_limited", 1)
	now = now.Add(DefaultMinGap)
	send(t, c, a, 3, time.Minute, sample(2), now)
	if l := peersLine(text(c, now), a.ID); !strings.HasSuffix(l, "} 2") {
		t.Errorf("the report after the gap was not taken: %q", l)
	}

	send(t, c, a, 4, time.Minute, append(sample(1), Series{Family: 19, Labels: []string{"success"}}, Series{Family: 19, Labels: []string{"failure"}}), now.Add(time.Minute))
	check("too_many_series", 1)
	now = now.Add(2 * time.Minute)
	send(t, c, a, 5, time.Minute, []Series{{Family: 15, Labels: []string{"verified", "extra"}}}, now)
	check("malformed", 2)
	now = now.Add(time.Minute)
	send(t, c, a, 6, time.Minute, []Series{{Family: 0, Value: 1}, {Family: 0, Value: 2}}, now)
	check("malformed", 3)
	now = now.Add(time.Minute)
	send(t, c, a, 7, time.Minute, append(sample(6), Series{Family: 900, Value: 1}), now) // a newer reporter's family
	if l := peersLine(text(c, now), a.ID); !strings.HasSuffix(l, "} 6") {
		t.Errorf("a report with an unknown family was not taken: %q", l)
	}

	// A report of two parts: a part twice, and one that never completes.
	var many []Series
	for i := range 20 { // 20 labels of 60 bytes: more than one part holds
		many = append(many, Series{Family: 18, Labels: []string{fmt.Sprintf("%060d", i)}})
	}
	c.maxSeries = 200
	two, _ := EncodeReport(8, time.Minute, many)
	if len(two) != 2 {
		t.Fatalf("%d parts, want 2", len(two))
	}
	now = now.Add(time.Minute)
	c.ingest(a, two[0], now)
	c.ingest(a, two[0], now)
	check("duplicate", 1)
	now = now.Add(time.Minute)
	send(t, c, a, 9, time.Minute, sample(7), now)
	check("incomplete", 1)
	if l := peersLine(text(c, now), a.ID); !strings.HasSuffix(l, "} 7") {
		t.Errorf("the report after an incomplete one was not taken: %q", l)
	}
}

// A collector holds at most MaxReporters; a silent one makes room once its
// three intervals passed.
func TestCollectorBoundsAndExpiry(t *testing.T) {
	c := newTestCollector(t, Config{MaxReporters: 2})
	a, b, late := authed(), authed(), authed()
	send(t, c, a, 1, time.Minute, sample(1), t0)
	send(t, c, b, 1, 2*time.Minute, sample(1), t0)
	send(t, c, late, 1, time.Minute, sample(1), t0)
	if st := c.counters(t0); st.Dropped("too_many_reporters") != 1 || st.Reporters != 2 {
		t.Fatalf("stats %+v", st)
	}
	// a reports every minute at t0: it stays until t0+3m, b until t0+6m.
	if out := text(c, t0.Add(3*time.Minute)); peersLine(out, a.ID) == "" {
		t.Error("a left before three of its intervals passed")
	}
	now := t0.Add(3*time.Minute + time.Second)
	if out := text(c, now); peersLine(out, a.ID) != "" || peersLine(out, b.ID) == "" {
		t.Errorf("after 3 minutes and 1 s, want b only:\n%s", out)
	}
	send(t, c, late, 1, time.Minute, sample(1), now)
	if st := c.counters(now); st.Reporters != 2 || st.Expired != 1 || st.Series != 6 {
		t.Errorf("stats %+v", st)
	}
	if out := text(c, t0.Add(10*time.Minute)); strings.Contains(out, "walkie_") {
		t.Errorf("after every reporter went silent:\n%s", out)
	}
}

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // what finalizers of the first cycle let go
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// What the view costs: 1,000 reporters each sending a node's real report,
// then twenty more rounds, which leave the heap where the first left it;
// and the worst a reporter can make it cost, reports of MaxSeries series
// that fill MaxParts datagrams.
func TestCollectorMemory(t *testing.T) {
	const reporters, rounds = 1000, 20
	f, err := New(Config{ReportTo: authed().ID, Gatherer: nodeRegistry("chat", "game", "fleet")})
	if err != nil {
		t.Fatal(err)
	}
	real, err := f.gather()
	if err != nil {
		t.Fatal(err)
	}
	var worst []Series // 200 series of 37-byte labels fill 8 parts
	for i := range DefaultMaxSeries {
		worst = append(worst, Series{Family: 18, Labels: []string{fmt.Sprintf("%037d", i)}, Value: float64(i)})
	}
	for _, c := range []struct {
		name   string
		series []Series
		bound  uint64 // bytes per reporter
	}{
		{"a node's report", real, 16 << 10},
		{"the largest report", worst, 64 << 10},
	} {
		parts, omitted := EncodeReport(1, time.Minute, c.series)
		if omitted != 0 {
			t.Fatalf("%s: %d series omitted", c.name, omitted)
		}
		peers := make([]community.Peer, reporters)
		for i := range peers {
			peers[i] = authed()
		}
		var coll *collector
		round := func(now time.Time) {
			for _, p := range peers {
				for _, b := range parts {
					coll.ingest(p, b, now)
				}
			}
		}
		// The heap is the whole process's: what an earlier test left
		// running may free memory meanwhile. A measurement in which the
		// heap shrank says nothing; take another.
		var before, first uint64
		for try := 1; ; try++ {
			coll = newTestCollector(t, Config{})
			before = liveHeap()
			round(t0)
			if first = liveHeap(); first > before {
				break
			}
			if try == 5 {
				t.Fatalf("%s: the heap shrank in 5 measurements in a row (%d to %d bytes): something else is freeing memory", c.name, before, first)
			}
		}
		for r := range rounds {
			round(t0.Add(time.Duration(r+1) * time.Minute))
		}
		last := liveHeap()
		st := coll.counters(t0.Add(rounds * time.Minute))
		per := (first - before) / reporters
		t.Logf("%s (%d series, %d datagrams): %.1f KiB per reporter, %.1f MiB for %d; after %d more rounds %+.1f KiB",
			c.name, len(c.series), len(parts), float64(per)/1024, float64(first-before)/(1<<20), reporters, rounds,
			(float64(last)-float64(first))/1024)
		if st.Reporters != reporters || st.Reports != (rounds+1)*reporters {
			t.Errorf("%s: stats %+v", c.name, st)
		}
		if per > c.bound {
			t.Errorf("%s: %d bytes per reporter, want at most %d", c.name, per, c.bound)
		}
		if last > first+first/20 {
			t.Errorf("%s: the heap grew from %d to %d bytes over %d rounds", c.name, first, last, rounds)
		}
		runtime.KeepAlive(coll)
	}
}
