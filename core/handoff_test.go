package core

import (
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// batchReadSink is a transport that says it reads in batches, so that New
// prepares the batch hand-off.
type batchReadSink struct{ *sinkTransport }

func (batchReadSink) ReadBatch([]Datagram) (int, error) { select {} }

// When every batch is queued, the reader's next batch spills into the inbox
// and comes back empty: a batch queue full of small reads is not a full
// node. Only what the inbox has no room for is dropped and counted, and the
// reader never waits for the worker.
func TestHandoffFullSpills(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PeerID = proto.ID{1}
	cfg.Transport = batchReadSink{newSink("198.51.100.1:1873")}
	stats := NewStats()
	cfg.Metrics = stats
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := cap(o.in.batches)
	if n != cfg.QueueLen/readBatchLen || cap(o.in.free) != n+1 {
		t.Fatalf("%d batches queued, %d in all; want %d and %d", n, cap(o.in.free), cfg.QueueLen/readBatchLen, n+1)
	}
	fill := func(b *pktBatch, k int) {
		for range k {
			b.ps = append(b.ps, o.pool.get())
		}
	}
	for range n {
		b := o.in.takeBatch()
		fill(b, 3)
		o.in.sendBatch(b)
	}
	b := o.in.takeBatch()
	if b == nil {
		t.Fatal("no batch left for the reader")
	}
	fill(b, 5)
	o.in.sendBatch(b) // the batch queue is full: into the inbox
	if d, q := stats.Dropped(DropQueueFull), len(o.in.inbox); d != 0 || q != 5 {
		t.Fatalf("spilled batch: %d dropped, %d in the inbox; want 0 and 5", d, q)
	}
	if got := o.in.takeBatch(); got != b || len(got.ps) != 0 {
		t.Fatal("the spilled batch did not come back empty")
	}
	// With the inbox nearly full too, what does not fit is dropped.
	for len(o.in.inbox) < cap(o.in.inbox)-2 {
		o.in.inbox <- o.pool.get()
	}
	fill(b, 5)
	o.in.sendBatch(b)
	if d, q := stats.Dropped(DropQueueFull), len(o.in.inbox); d != 3 || q != cap(o.in.inbox) {
		t.Fatalf("spill into a nearly full inbox: %d dropped, %d queued; want 3 and %d", d, q, cap(o.in.inbox))
	}
	// The worker handles everything queued and hands the batches back.
	for len(o.in.batches) > 0 || len(o.in.inbox) > 0 {
		o.drain(time.Now())
	}
	if len(o.in.free) != n+1 {
		t.Fatalf("after drain: %d batches free; want %d", len(o.in.free), n+1)
	}
	want := uint64(3*n + cfg.QueueLen) // empty packets: type 0
	if d := stats.Dropped(DropUnknownType); d != want {
		t.Fatalf("the worker saw %d of the %d queued packets", d, want)
	}
}
