package core

import (
	"errors"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/time/rate"

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

// sourceLimiter is a per-source-IP token bucket, used by one reader goroutine.
type sourceLimiter struct {
	rate  rate.Limit
	burst int
	m     map[netip.Addr]*rate.Limiter
}

func (s *sourceLimiter) allow(ip netip.Addr) bool {
	l, ok := s.m[ip]
	if !ok {
		if len(s.m) >= maxLimiters {
			clear(s.m)
		}
		l = rate.NewLimiter(s.rate, s.burst)
		s.m[ip] = l
	}
	return l.Allow()
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
	return &sourceLimiter{rate: rate.Limit(o.cfg.SourceRate), burst: o.cfg.SourceBurst, m: map[netip.Addr]*rate.Limiter{}}
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
		for i := range n {
			if r, ok := o.admit(bufs[i], ds[i].N, ds[i].Addr, t, lim); !ok {
				o.m.Drop(r)
				continue
			}
			bufs[i] = o.pool.get()
			ds[i].B = bufs[i][:]
		}
	}
}

// admit parses and queues one datagram, or says why it was dropped. Core
// packets go to the worker, community packets to that community's queue.
func (o *Overlay) admit(buf *[proto.MaxDatagram + 1]byte, n int, from netip.AddrPort, t Transport, lim *sourceLimiter) (DropReason, bool) {
	if n > proto.MaxDatagram {
		return DropTooLarge, false
	}
	hdr, body, err := proto.ParseHeader(buf[:n])
	if err != nil {
		return dropReasonOf(err), false
	}
	if hdr.Sender == o.cfg.PeerID {
		return DropSelf, false
	}
	if !lim.allow(from.Addr()) {
		return DropRateLimited, false
	}
	if hdr.Community != proto.CoreCommunity() {
		r := o.byCID[hdr.Community]
		if r == nil || !r.ok {
			return DropUnknownCommunity, false
		}
		return r.enqueue(packet{buf: buf, n: n, from: from, hdr: hdr, body: body, via: t})
	}
	select {
	case o.inbox <- packet{buf: buf, n: n, from: from, hdr: hdr, body: body, via: t}:
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
