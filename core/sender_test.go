package core

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// batchSink is a Transport and BatchWriter that keeps what it is given, and
// refuses datagrams by number (their first 4 bytes, see numbered): fail[k]
// makes a call return an error at datagram k, short[k] makes it stop before
// k with no error, as a misbehaving transport might.
type batchSink struct {
	sinkTransport
	mu      sync.Mutex
	fail    map[int]error
	short   map[int]bool
	got     [][]byte // what went out, in order
	calls   []int    // the length of every WriteBatch call
	writeTo int      // WriteTo calls
}

func newBatchSink() *batchSink {
	return &batchSink{sinkTransport: *newSink("198.51.100.1:1873"), fail: map[int]error{}, short: map[int]bool{}}
}

func (s *batchSink) WriteTo(b []byte, to netip.AddrPort) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeTo++
	s.got = append(s.got, bytes.Clone(b))
	return nil
}

func (s *batchSink) WriteBatch(ms []Datagram) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, len(ms))
	for i, m := range ms {
		k := int(binary.BigEndian.Uint32(m.B))
		if err := s.fail[k]; err != nil {
			return i, err
		}
		if s.short[k] {
			return i, nil
		}
		s.got = append(s.got, bytes.Clone(m.B))
	}
	return len(ms), nil
}

// logBuffer collects an overlay's debug log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newBatchOverlay(t *testing.T, tr Transport) (*Overlay, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := DefaultConfig()
	cfg.PeerID = proto.ID{1}
	cfg.Transport = tr
	cfg.Metrics = NewStats()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o, logs
}

// datagram k is 20 to 1,100 bytes that start with k.
func numbered(k int) []byte {
	b := bytes.Repeat([]byte{byte(k)}, 20+(k*53)%1081)
	binary.BigEndian.PutUint32(b, uint32(k))
	return b
}

// TestWriteBatchFailures: inside a batch, datagrams a BatchWriter refuses
// (with an error, or by stopping short without one) are logged and skipped,
// the rest still go out in order, more than batchLen datagrams take several
// calls, and o.out.sent.Load() and the per-type counters count exactly what was sent.
func TestWriteBatchFailures(t *testing.T) {
	sink := newBatchSink()
	o, logs := newBatchOverlay(t, sink)
	// 150 datagrams flush as 0-63, 64-127 and 128-149. 10 fails, 70 stops
	// a call partway, 128 stops one before it sent anything.
	const total = 150
	sink.fail[10] = errors.New("no buffer space")
	sink.short[70], sink.short[128] = true, true
	lost := map[int]bool{10: true, 70: true, 128: true}
	to := netip.MustParseAddrPort("203.0.113.7:1873")
	buf := make([]byte, 0, proto.MaxDatagram) // reused, as the sender's buffer is: write must copy
	o.out.begin(time.Now())
	kind := func(k int) Counter { return []Counter{IntroResponsesSent, PuncturesSent, uncounted}[k%3] }
	for k := range total {
		buf = append(buf[:0], numbered(k)...)
		if err := o.out.write(buf, to, kind(k)); err != nil {
			t.Fatalf("write %d inside a batch: %v", k, err)
		}
	}
	if err := o.out.write([]byte("x"), netip.AddrPort{}, PuncturesSent); err == nil {
		t.Error("a write to the zero address was queued")
	}
	o.out.end()
	sent := o.out.sent.Load()

	var want []int
	for k := range total {
		if !lost[k] {
			want = append(want, k)
		}
	}
	var got []int
	for _, b := range sink.got {
		k := int(binary.BigEndian.Uint32(b))
		if !bytes.Equal(b, numbered(k)) {
			t.Fatalf("datagram %d arrived changed", k)
		}
		got = append(got, k)
	}
	if !slices.Equal(got, want) {
		t.Errorf("went out: %v\nwant every datagram but 10, 70 and 128, in order", got)
	}
	if sent != uint64(len(sink.got)) {
		t.Errorf("o.out.sent.Load() is %d, %d went out", sent, len(sink.got))
	}
	wantCount := map[Counter]uint64{}
	for _, k := range want {
		wantCount[kind(k)]++
	}
	st := o.cfg.Metrics.(*Stats)
	for _, c := range []Counter{IntroResponsesSent, PuncturesSent} {
		if got := st.Count(c); got != wantCount[c] {
			t.Errorf("%s counts %d, %d of its kind went out", c.Name(), got, wantCount[c])
		}
	}
	if n := strings.Count(logs.String(), "send failed"); n != len(lost) {
		t.Errorf("%d send failures logged, want %d\n%s", n, len(lost), logs)
	}
	if !slices.Equal(sink.calls, []int{64, 53, 64, 57, 22, 21}) {
		t.Errorf("WriteBatch calls of %v datagrams, want [64 53 64 57 22 21]", sink.calls)
	}
	if sink.writeTo != 0 {
		t.Errorf("%d WriteTo calls inside a batch", sink.writeTo)
	}

	// Outside a batch a write is direct: WriteTo, counted at once.
	if err := o.out.write([]byte("direct"), to, PuncturesSent); err != nil {
		t.Fatal(err)
	}
	if sink.writeTo != 1 || o.out.sent.Load() != sent+1 || st.Count(PuncturesSent) != wantCount[PuncturesSent]+1 {
		t.Errorf("direct write: %d WriteTo calls, o.out.sent.Load() %d, %d punctures counted; want 1, %d and %d",
			sink.writeTo, o.out.sent.Load(), st.Count(PuncturesSent), sent+1, wantCount[PuncturesSent]+1)
	}
}

// TestWriteBatchClosed: a batch flushed into a closed socket loses its
// datagrams with a log line each, and counts none, of any kind.
func TestWriteBatchClosed(t *testing.T) {
	tr, err := ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o, logs := newBatchOverlay(t, tr)
	tr.Close()
	o.out.begin(time.Now())
	for k := range 5 {
		o.out.write(numbered(k), tr.LocalAddr(), IntroResponsesSent)
	}
	o.out.end()
	if n := o.cfg.Metrics.(*Stats).Count(IntroResponsesSent); o.out.sent.Load() != 0 || n != 0 {
		t.Errorf("o.out.sent.Load() is %d, %d responses counted after writing into a closed socket", o.out.sent.Load(), n)
	}
	if n := strings.Count(logs.String(), "send failed"); n != 5 || !strings.Contains(logs.String(), net.ErrClosed.Error()) {
		t.Errorf("%d send failures logged, want 5 with %q\n%s", n, net.ErrClosed, logs)
	}
}

// TestWriteBatchAllocs: queueing and flushing a batch allocates nothing.
func TestWriteBatchAllocs(t *testing.T) {
	sink := &countingBatch{sinkTransport: *newSink("198.51.100.1:1873")}
	o, _ := newBatchOverlay(t, sink)
	to := netip.MustParseAddrPort("203.0.113.7:1873")
	pkt := numbered(3)
	allocs := testing.AllocsPerRun(100, func() {
		o.out.begin(time.Now())
		for range 100 { // more than batchLen: a flush when full, then one at the end
			o.out.write(pkt, to, IntroResponsesSent)
		}
		o.out.end()
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per batch, want 0", allocs)
	}
	if o.out.sent.Load() != sink.n || sink.n == 0 {
		t.Errorf("o.out.sent.Load() %d, the transport took %d", o.out.sent.Load(), sink.n)
	}
}

// countingBatch is a BatchWriter that counts and drops.
type countingBatch struct {
	sinkTransport
	n uint64
}

func (c *countingBatch) WriteBatch(ms []Datagram) (int, error) {
	c.n += uint64(len(ms))
	return len(ms), nil
}
