package core

import (
	"errors"
	"net/netip"

	"github.com/walkie-p2p/walkie/proto"
)

// batchLen is how many datagrams the worker gathers before one
// BatchWriter call, and how many queued packets it handles per wake-up.
const batchLen = 64

// errShortBatch stands in for the error of a BatchWriter that sent fewer
// datagrams than asked without saying why.
var errShortBatch = errors.New("walkie: batch write stopped short")

// outBatch holds the datagrams the worker produced while it handles a run of
// queued packets, to leave in one BatchWriter call (a sendmmsg): one syscall
// per datagram was more than half of the node's CPU under load. Used under
// the overlay's lock.
type outBatch struct {
	w     BatchWriter // nil: the transport cannot batch; every write is direct
	on    bool        // the worker is between begin and flush
	ds    []Datagram  // pending; their bytes are in arena
	arena []byte      // copies of the pending datagrams: sendBuf is reused at once
}

// newOutBatch prepares batching for t if it is a BatchWriter; the arena is
// allocated here, once, so that a write allocates nothing.
func newOutBatch(t Transport) outBatch {
	w, ok := t.(BatchWriter)
	if !ok {
		return outBatch{}
	}
	return outBatch{
		w:     w,
		ds:    make([]Datagram, 0, batchLen),
		arena: make([]byte, 0, batchLen*proto.MaxDatagram),
	}
}

// write is the one place every datagram of the overlay leaves through. Inside
// a batch it queues a copy of b (flushing first if the batch is full) and
// returns nil: a failure is then logged by flush, the datagram is not
// counted, and the caller cannot know. Otherwise it writes at once and
// returns the transport's error. mu must be held. It counts what was sent in
// o.sent, so packets_sent is exact either way.
func (o *Overlay) write(b []byte, to netip.AddrPort) error {
	if t := o.routeTo(to); t != nil {
		// A peer reached through a probe socket hears from that socket,
		// the one its NAT admits (core/punch.go). It goes at once, ahead
		// of the batch: order between destinations does not matter.
		return o.writeVia(t, b, to)
	}
	ob := &o.batch
	if !ob.on {
		return o.writeNow(b, to)
	}
	if !to.IsValid() {
		return errInvalidDest // what WriteTo says, while the caller can hear it
	}
	if len(ob.ds) == cap(ob.ds) || len(ob.arena)+len(b) > cap(ob.arena) {
		o.flush()
		if len(b) > cap(ob.arena) { // longer than any datagram; sent after the batch, in order
			return o.writeNow(b, to)
		}
	}
	start := len(ob.arena)
	ob.arena = append(ob.arena, b...) // within cap: earlier entries stay put
	ob.ds = append(ob.ds, Datagram{B: ob.arena[start:len(ob.arena):len(ob.arena)], Addr: to})
	return nil
}

// writeNow sends one datagram through the transport.
func (o *Overlay) writeNow(b []byte, to netip.AddrPort) error {
	return o.writeVia(o.cfg.Transport, b, to)
}

// writeVia sends one datagram through t, and counts it if it went.
func (o *Overlay) writeVia(t Transport, b []byte, to netip.AddrPort) error {
	if err := t.WriteTo(b, to); err != nil {
		return err
	}
	o.sent++
	return nil
}

// begin starts gathering the worker's datagrams, if the transport can take
// them in batches. mu must be held, and end called before it is released.
func (o *Overlay) begin() {
	o.batch.on = o.batch.w != nil
}

// flush sends the pending datagrams; the batch stays open. A datagram the
// transport refuses is logged, as a failed direct write is, and the rest
// still go out. mu must be held.
func (o *Overlay) flush() {
	ob := &o.batch
	ds := ob.ds
	for len(ds) > 0 {
		n, err := ob.w.WriteBatch(ds)
		n = min(max(n, 0), len(ds))
		o.sent += uint64(n)
		if ds = ds[n:]; len(ds) == 0 {
			break
		}
		if err == nil {
			err = errShortBatch
		}
		h, _, _ := proto.ParseHeader(ds[0].B)
		o.log.Debug("send failed", "to", ds[0].Addr, "type", h.Type, "err", err)
		ds = ds[1:]
	}
	ob.ds, ob.arena = ob.ds[:0], ob.arena[:0]
}

// end flushes the batch and stops gathering. mu must be held.
func (o *Overlay) end() {
	if o.batch.on {
		o.flush()
		o.batch.on = false
	}
}
