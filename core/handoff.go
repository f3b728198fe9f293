package core

// pktBatch carries the core packets of one ReadBatch from the main
// socket's reader to the worker in one channel operation instead of one per
// packet: under load the channel's lock, taken twice per packet by two
// goroutines on two cores, was a measurable share of the user-space CPU.
type pktBatch struct {
	ps []*packet // at most readBatchLen
}

// newHandoff makes the reader's batches: as many as the batch queue holds,
// plus one being filled. Full batches would hold QueueLen packets, but a
// batch holds what one ReadBatch returned, often a packet or two; so a full
// batch queue is not a full node, and sendBatch spills into the inbox.
func (in *inbound) newHandoff(queueLen int) {
	n := max(1, queueLen/readBatchLen)
	in.batches = make(chan *pktBatch, n)
	in.free = make(chan *pktBatch, n+1)
	for range n + 1 {
		in.free <- &pktBatch{ps: make([]*packet, 0, readBatchLen)}
	}
}

// takeBatch returns an empty batch for the reader, or nil when every batch
// is queued (the worker is behind: the reader then queues one by one, and
// the worker's queue bounds what waits).
func (in *inbound) takeBatch() *pktBatch {
	select {
	case b := <-in.free:
		return b
	default:
		return nil
	}
}

// sendBatch hands b to the worker. When every batch is queued, its packets
// go to the inbox one by one, and only those the inbox has no room for are
// dropped: dropping the batch instead lost packets whenever the worker fell
// a few small reads behind (a node and its load generator in two processes
// lost 1.8% of requests with at most 128 in flight). The reader never waits.
func (in *inbound) sendBatch(b *pktBatch) {
	if len(b.ps) == 0 {
		in.free <- b
		return
	}
	select {
	case in.batches <- b:
	default:
		for _, p := range b.ps {
			if r, ok := in.enqueue(p); !ok {
				in.pool.put(p)
				in.m.Drop(r)
			}
		}
		in.recycle(b)
	}
}

// recycle empties b and returns it to the reader.
func (in *inbound) recycle(b *pktBatch) {
	clear(b.ps) // the packets are the worker's, the inbox's or the pool's now
	b.ps = b.ps[:0]
	in.free <- b // never blocks: free has room for every batch
}
