package memnet

import "sync"

// Ring sizes of a receive queue: the first allocation, and the largest
// ring kept once the queue has drained.
const (
	queueMin  = 4
	queueKeep = 16
)

// queue is a conn's bounded receive queue. It holds at most limit
// datagrams, like a channel of that capacity, but its ring buffer starts
// empty, doubles as datagrams pile up and is released when a backlog has
// drained: a simulated node's conn mostly holds a datagram or two, and
// allocating Config.QueueLen slots up front for each was most of memnet's
// heap.
//
// Readers block on ready, never on mu (held only briefly), so a blocked
// reader is durably blocked in a testing/synctest bubble, as it was on a
// channel. ready holds a token whenever a datagram may be waiting: push
// always offers one, and a reader that leaves datagrams behind passes one
// on, so that no datagram waits while a reader sleeps.
type queue struct {
	mu    sync.Mutex
	buf   []datagram // ring; nil while empty after a backlog
	head  int        // index of the oldest datagram in buf
	n     int        // datagrams queued
	limit int        // most datagrams queued at once
	ready chan struct{}
}

func newQueue(limit int) queue {
	return queue{limit: limit, ready: make(chan struct{}, 1)}
}

// push appends d and reports whether there was room for it.
func (q *queue) push(d datagram) bool {
	q.mu.Lock()
	if q.n == q.limit {
		q.mu.Unlock()
		return false
	}
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = d
	q.n++
	q.mu.Unlock()
	q.wake()
	return true
}

// grow doubles the ring, up to limit, keeping the datagrams in order.
// q.mu must be held.
func (q *queue) grow() {
	buf := make([]datagram, min(max(2*len(q.buf), queueMin), q.limit))
	k := copy(buf, q.buf[q.head:])
	copy(buf[k:], q.buf[:q.head])
	q.buf, q.head = buf, 0
}

// pop removes and returns the oldest datagram, if any.
func (q *queue) pop() (datagram, bool) {
	q.mu.Lock()
	if q.n == 0 {
		q.mu.Unlock()
		return datagram{}, false
	}
	d := q.buf[q.head]
	q.buf[q.head] = datagram{} // release the data
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	if q.n == 0 && len(q.buf) > queueKeep {
		q.buf, q.head = nil, 0
	}
	more := q.n > 0
	q.mu.Unlock()
	if more { // another reader may be asleep
		q.wake()
	}
	return d, true
}

// wake leaves a token in ready unless one is there already.
func (q *queue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// clear drops the queued datagrams, to free them once the conn is closed.
func (q *queue) clear() {
	q.mu.Lock()
	q.buf, q.head, q.n = nil, 0, 0
	q.mu.Unlock()
}

// len returns the number of datagrams queued.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
