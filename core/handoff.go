package core

import "time"

// pktBatch carries the core packets of one ReadBatch from the main
// socket's reader to the worker in one channel operation instead of one per
// packet: under load the channel's lock, taken twice per packet by two
// goroutines on two cores, was a measurable share of the user-space CPU.
type pktBatch struct {
	ps []*packet // at most readBatchLen
}

// newHandoff makes the reader's batches: as many as the batch queue holds,
// plus one being filled. The queue holds QueueLen packets' worth.
func (o *Overlay) newHandoff() {
	n := max(1, o.cfg.QueueLen/readBatchLen)
	o.batches = make(chan *pktBatch, n)
	o.free = make(chan *pktBatch, n+1)
	for range n + 1 {
		o.free <- &pktBatch{ps: make([]*packet, 0, readBatchLen)}
	}
}

// takeBatch returns an empty batch for the reader, or nil when every batch
// is queued (the worker is behind: the reader then queues one by one, and
// the worker's queue bounds what waits).
func (o *Overlay) takeBatch() *pktBatch {
	select {
	case b := <-o.free:
		return b
	default:
		return nil
	}
}

// sendBatch hands b to the worker, or drops its packets when the batch queue
// is full. The reader never waits.
func (o *Overlay) sendBatch(b *pktBatch) {
	if len(b.ps) == 0 {
		o.free <- b
		return
	}
	select {
	case o.batches <- b:
	default:
		for i := range b.ps {
			o.pool.put(b.ps[i])
			o.m.Drop(DropQueueFull)
		}
		o.recycle(b)
	}
}

// recycle empties b and returns it to the reader.
func (o *Overlay) recycle(b *pktBatch) {
	clear(b.ps) // the packets are the pool's again
	b.ps = b.ps[:0]
	o.free <- b // never blocks: free has room for every batch
}

// handleBatch handles a batch on the worker, mu held.
func (o *Overlay) handleBatch(b *pktBatch, now time.Time) {
	for i := range b.ps {
		o.handle(b.ps[i], now)
		o.pool.put(b.ps[i])
	}
	o.recycle(b)
}
