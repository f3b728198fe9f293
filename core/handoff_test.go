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

// When every batch is queued, the reader's next batch is dropped and
// counted, its buffers go back to the pool and the batch back to the
// reader: it never waits for the worker.
func TestHandoffFullDrops(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PeerID = proto.ID{1}
	cfg.Transport = batchReadSink{newSink("198.51.100.1:1873")}
	stats := NewStats()
	cfg.Metrics = stats
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := cap(o.batches)
	if n != cfg.QueueLen/readBatchLen || cap(o.free) != n+1 {
		t.Fatalf("%d batches queued, %d in all; want %d and %d", n, cap(o.free), cfg.QueueLen/readBatchLen, n+1)
	}
	fill := func(b *pktBatch, k int) {
		for range k {
			b.ps = append(b.ps, o.pool.get())
		}
	}
	for range n {
		b := o.takeBatch()
		fill(b, 3)
		o.sendBatch(b)
	}
	b := o.takeBatch()
	if b == nil {
		t.Fatal("no batch left for the reader")
	}
	fill(b, 5)
	o.sendBatch(b) // the queue is full: dropped
	if d := stats.Dropped(DropQueueFull); d != 5 {
		t.Fatalf("dropped as queue_full: %d, want 5", d)
	}
	if got := o.takeBatch(); got != b || len(got.ps) != 0 {
		t.Fatal("the dropped batch did not come back empty")
	}
	// The worker handles what was queued and hands the batches back.
	o.mu.Lock()
	o.drain(time.Now())
	o.mu.Unlock()
	if len(o.batches) != 0 || len(o.free) != n {
		t.Fatalf("after drain: %d queued, %d free; want 0 and %d", len(o.batches), len(o.free), n)
	}
	if d := stats.Dropped(DropUnknownType); d != 3*uint64(n) { // empty packets: type 0
		t.Fatalf("the worker saw %d of the %d queued packets", d, 3*n)
	}
}
