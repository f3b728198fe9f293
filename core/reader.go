package core

import (
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// packet is a datagram the reader parsed and queued for the worker.
type packet struct {
	buf  *[proto.MaxDatagram + 1]byte // owned by the packet; back to the pool after handling
	n    int
	from netip.AddrPort
	hdr  proto.Header
	body []byte // within buf
	via  Transport
}

// bufPool recycles packet buffers; one extra byte detects oversize datagrams.
type bufPool struct{ p sync.Pool }

func (bp *bufPool) get() *[proto.MaxDatagram + 1]byte {
	if b, ok := bp.p.Get().(*[proto.MaxDatagram + 1]byte); ok {
		return b
	}
	return new([proto.MaxDatagram + 1]byte)
}

func (bp *bufPool) put(b *[proto.MaxDatagram + 1]byte) { bp.p.Put(b) }

// maxLimiters bounds the per-source rate limiter map; past it the map is
// cleared, which forgets the oldest history but never grows without end
// under a flood of spoofed sources.
const maxLimiters = 4096

// sourceLimiter is a per-source-IP token bucket, used by one reader
// goroutine only: so its buckets need no lock (x/time/rate's mutex and
// clock read per packet were 2% of a loaded node's CPU).
type sourceLimiter struct {
	rate  float64 // tokens per second; +Inf: no limit
	burst float64
	m     map[netip.Addr]*bucket
	// now is the clock of the batch being admitted, read once per
	// ReadBatch rather than once per datagram; zero means time.Now().
	now time.Time
}

// bucket is one source's tokens as of last.
type bucket struct {
	tokens float64
	last   time.Time
}

func newSourceLimiter(perSec float64, burst int) *sourceLimiter {
	return &sourceLimiter{rate: perSec, burst: float64(burst), m: map[netip.Addr]*bucket{}}
}

func (s *sourceLimiter) allow(ip netip.Addr) bool {
	if math.IsInf(s.rate, 1) {
		return true
	}
	now := s.now
	if now.IsZero() {
		now = time.Now()
	}
	b, ok := s.m[ip]
	if !ok {
		if len(s.m) >= maxLimiters {
			clear(s.m)
		}
		b = &bucket{tokens: s.burst, last: now}
		s.m[ip] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(s.burst, b.tokens+d.Seconds()*s.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// read is the reader goroutine of one transport. It parses only the fixed
// header, rate-limits by source and queues the packet; it never waits for the
// worker, so a slow worker costs dropped (and counted) packets, never a
// stalled socket.
func (o *Overlay) read(t Transport) {
	defer o.wg.Done()
	lim := o.newLimiter()
	for {
		buf := o.pool.get()
		n, from, err := t.ReadFrom(buf[:])
		if err != nil {
			o.pool.put(buf)
			if errors.Is(err, net.ErrClosed) || o.ctx.Err() != nil {
				return
			}
			o.log.Debug("read failed", "err", err)
			continue
		}
		if r, ok := o.admit(buf, n, from, t, lim); !ok {
			o.pool.put(buf)
			o.m.Drop(r)
		}
	}
}

// newLimiter returns a reader's per-source rate limiter.
func (o *Overlay) newLimiter() *sourceLimiter {
	return newSourceLimiter(o.cfg.SourceRate, o.cfg.SourceBurst)
}

// readMain is read for the node's own transport, with batched reads if it
// can. Only this socket carries load: a beacon or one of up to hundreds of
// probe sockets would each hold a batch of buffers for little, so they are
// read one datagram at a time.
func (o *Overlay) readMain() {
	t := o.cfg.Transport
	br, ok := t.(BatchReader)
	if !ok {
		o.read(t)
		return
	}
	defer o.wg.Done()
	o.readBatches(t, br, o.newLimiter())
}

// readBatchLen is how many datagrams one ReadBatch may return.
const readBatchLen = 32

// readBatches is read with one ReadBatch per wake-up instead of one ReadFrom
// per datagram (with batched sends, it saved about 4% of the CPU per
// answer: docs/performance.md). Each slot keeps a pool buffer until admit
// queues it; a dropped datagram's buffer is simply read into again.
func (o *Overlay) readBatches(t Transport, br BatchReader, lim *sourceLimiter) {
	var bufs [readBatchLen]*[proto.MaxDatagram + 1]byte
	var ds [readBatchLen]Datagram
	for i := range bufs {
		bufs[i] = o.pool.get()
		ds[i].B = bufs[i][:]
	}
	defer func() {
		for _, b := range bufs {
			o.pool.put(b)
		}
	}()
	for {
		n, err := br.ReadBatch(ds[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) || o.ctx.Err() != nil {
				return
			}
			o.log.Debug("read failed", "err", err)
			continue
		}
		lim.now = time.Now()
		b := o.takeBatch()
		for i := range n {
			p, r, ok := o.parse(bufs[i], ds[i].N, ds[i].Addr, t, lim)
			switch {
			case !ok:
			case p.hdr.Community != proto.CoreCommunity():
				r, ok = o.toCommunity(p)
			case b != nil:
				b.ps = append(b.ps, p)
			default:
				r, ok = o.enqueue(p)
			}
			if !ok {
				o.m.Drop(r)
				continue
			}
			bufs[i] = o.pool.get()
			ds[i].B = bufs[i][:]
		}
		if b != nil {
			o.sendBatch(b)
		}
	}
}

// admit parses and queues one datagram, or says why it was dropped. Core
// packets go to the worker, community packets to that community's queue.
func (o *Overlay) admit(buf *[proto.MaxDatagram + 1]byte, n int, from netip.AddrPort, t Transport, lim *sourceLimiter) (DropReason, bool) {
	p, r, ok := o.parse(buf, n, from, t, lim)
	switch {
	case !ok:
		return r, false
	case p.hdr.Community != proto.CoreCommunity():
		return o.toCommunity(p)
	}
	return o.enqueue(p)
}

// parse checks one datagram's size, header, sender and source rate.
func (o *Overlay) parse(buf *[proto.MaxDatagram + 1]byte, n int, from netip.AddrPort, t Transport, lim *sourceLimiter) (packet, DropReason, bool) {
	if n > proto.MaxDatagram {
		return packet{}, DropTooLarge, false
	}
	hdr, body, err := proto.ParseHeader(buf[:n])
	if err != nil {
		return packet{}, dropReasonOf(err), false
	}
	if hdr.Sender == o.cfg.PeerID {
		return packet{}, DropSelf, false
	}
	if !lim.allow(from.Addr()) {
		return packet{}, DropRateLimited, false
	}
	return packet{buf: buf, n: n, from: from, hdr: hdr, body: body, via: t}, 0, true
}

// toCommunity queues a community packet for its community.
func (o *Overlay) toCommunity(p packet) (DropReason, bool) {
	r := o.byCID[p.hdr.Community]
	if r == nil || !r.ok {
		return DropUnknownCommunity, false
	}
	return r.enqueue(p)
}

// enqueue queues a core packet for the worker, never waiting.
func (o *Overlay) enqueue(p packet) (DropReason, bool) {
	select {
	case o.inbox <- p:
		return 0, true
	default:
		return DropQueueFull, false
	}
}

// dropReasonOf maps a proto decode error to its drop reason.
func dropReasonOf(err error) DropReason {
	switch proto.Reason(err) {
	case "short":
		return DropShort
	case "bad_magic":
		return DropBadMagic
	case "bad_version":
		return DropBadVersion
	case "bad_address":
		return DropBadAddress
	case "too_large":
		return DropTooLarge
	case "limit":
		return DropLimit
	}
	return DropBadBody
}
