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
	cs    []Counter   // what each pending datagram counts once it has gone
	arena []byte      // copies of the pending datagrams: sendBuf is reused at once
}

// uncounted marks a datagram that no per-type counter follows (community
// messages, which have their own, and datagrams that only packets_sent
// counts).
const uncounted = numCounters

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
		cs:    make([]Counter, 0, batchLen),
		arena: make([]byte, 0, batchLen*proto.MaxDatagram),
	}
}

// write is the one place every datagram of the overlay leaves through. Inside
// a batch it queues a copy of b (flushing first if the batch is full) and
// returns nil: a failure is then logged by flush, the datagram is not
// counted, and the caller cannot know. Otherwise it writes at once and
// returns the transport's error. mu must be held. A datagram is counted once
// it has gone, in o.sent and in c (uncounted: no counter), so packets_sent
// and the per-type counters are exact either way.
func (o *Overlay) write(b []byte, to netip.AddrPort, c Counter) error {
	if t := o.routeTo(to); t != nil {
		// A peer reached through a probe socket hears from that socket,
		// the one its NAT admits (core/punch.go). It goes at once, ahead
		// of the batch: order between destinations does not matter.
		return o.writeVia(t, b, to, c)
	}
	ob := &o.batch
	if !ob.on {
		return o.writeNow(b, to, c)
	}
	if !to.IsValid() {
		return errInvalidDest // what WriteTo says, while the caller can hear it
	}
	if len(ob.ds) == cap(ob.ds) || len(ob.arena)+len(b) > cap(ob.arena) {
		o.flush()
		if len(b) > cap(ob.arena) { // longer than any datagram; sent after the batch, in order
			return o.writeNow(b, to, c)
		}
	}
	start := len(ob.arena)
	ob.arena = append(ob.arena, b...) // within cap: earlier entries stay put
	ob.ds = append(ob.ds, Datagram{B: ob.arena[start:len(ob.arena):len(ob.arena)], Addr: to})
	ob.cs = append(ob.cs, c)
	return nil
}

// writeNow sends one datagram through the transport.
func (o *Overlay) writeNow(b []byte, to netip.AddrPort, c Counter) error {
	return o.writeVia(o.cfg.Transport, b, to, c)
}

// writeVia sends one datagram through t, and counts it if it went.
func (o *Overlay) writeVia(t Transport, b []byte, to netip.AddrPort, c Counter) error {
	if err := t.WriteTo(b, to); err != nil {
		return err
	}
	o.counted(c)
	return nil
}

// counted counts one datagram that went out.
func (o *Overlay) counted(c Counter) {
	o.sent++
	if c != uncounted {
		o.m.Add(c, 1)
	}
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
	ds, cs := ob.ds, ob.cs
	for len(ds) > 0 {
		n, err := ob.w.WriteBatch(ds)
		n = min(max(n, 0), len(ds))
		for _, c := range cs[:n] {
			o.counted(c)
		}
		if ds, cs = ds[n:], cs[n:]; len(ds) == 0 {
			break
		}
		if err == nil {
			err = errShortBatch
		}
		h, _, _ := proto.ParseHeader(ds[0].B)
		o.log.Debug("send failed", "to", ds[0].Addr, "type", h.Type, "err", err)
		ds, cs = ds[1:], cs[1:]
	}
	ob.ds, ob.cs, ob.arena = ob.ds[:0], ob.cs[:0], ob.arena[:0]
}

// end flushes the batch and stops gathering. mu must be held.
func (o *Overlay) end() {
	if o.batch.on {
		o.flush()
		o.batch.on = false
	}
}
