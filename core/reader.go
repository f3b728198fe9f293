package core

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walkie-p2p/walkie/proto"
	"github.com/walkie-p2p/walkie/proto/seed"
)

// packet is a datagram's buffer and what the reader learned of it. The pool
// recycles the whole: queues hold pointers, so a node's 256-slot inbox is
// 2 KiB rather than 40 (which mattered with 10,000 nodes in one process)
// and nothing is copied from reader to worker.
type packet struct {
	buf  [proto.MaxDatagram + 1]byte // one extra byte detects oversize datagrams
	n    int
	from netip.AddrPort
	hdr  proto.Header
	body []byte // within buf
	via  Transport
	dest proto.ID // outbound community messages: the member it goes to
	sess *session // it came sealed in this session: its sender proved its key
	// stale: it came sealed for a session we do not have (we restarted,
	// or retired it); the worker tells the sender who we are (onStale).
	stale bool
	// seed: a datagram of the seed protocol (first byte 'd'), decoded by
	// the reader; hdr is then the core community's and body nil.
	seed seed.Message
}

// bufPool recycles packets.
type bufPool struct{ p sync.Pool }

func (bp *bufPool) get() *packet {
	if p, ok := bp.p.Get().(*packet); ok {
		return p
	}
	return new(packet)
}

func (bp *bufPool) put(p *packet) {
	p.body, p.via, p.sess, p.stale, p.seed = nil, nil, nil, false, nil // what the packet referred to may go
	bp.p.Put(p)
}

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

// inbound is the node's receiving side: one reader goroutine per transport
// parses only the fixed header, drops packets from ourselves, applies a
// per-source rate limit, and hands core packets to the worker (inbox, or
// whole batches: handoff.go) and community packets to their community
// (communities.route). It never waits for the worker or a community: a full
// queue drops the packet and counts it.
type inbound struct {
	self  proto.ID
	ctx   context.Context
	pool  *bufPool
	inbox chan *packet
	// batches carries whole ReadBatches of core packets from the main
	// socket's reader (handoff.go); free returns them. Nil when the
	// transport does not read in batches.
	batches, free chan *pktBatch
	comms         *communities
	alt           Transport                     // Config.Alt: plaintext core packets only (discover.go)
	seedT         Transport                     // Config.Transport, unless NoSeed: its seed datagrams are decoded (seed.go); elsewhere they are bad_magic
	sessions      *atomic.Pointer[sessionIndex] // what sealed datagrams open with; nil without a key
	nat64         atomic.Pointer[netip.Prefix]  // the NAT64 prefix of an IPv6-only node (family.go); nil: none
	rate          float64                       // SourceRate
	burst         int                           // SourceBurst
	m             Metrics
	log           *slog.Logger
	wg            *sync.WaitGroup // the overlay's: Close waits for every reader
}

func newInbound(cfg *Config, ctx context.Context, pool *bufPool, comms *communities, wg *sync.WaitGroup) *inbound {
	in := &inbound{self: cfg.PeerID, ctx: ctx, pool: pool, inbox: make(chan *packet, cfg.QueueLen), comms: comms, alt: cfg.Alt,
		rate: cfg.SourceRate, burst: cfg.SourceBurst, m: cfg.Metrics, log: cfg.Logger, wg: wg}
	if !cfg.NoSeed {
		in.seedT = cfg.Transport // the seed's nodes talk to the node's own port only
	}
	if _, ok := cfg.Transport.(BatchReader); ok {
		in.newHandoff(cfg.QueueLen)
	}
	return in
}

// start starts a reader goroutine for t: with batched reads for the main
// socket, one datagram at a time for the others. Only the main socket
// carries load: a beacon or one of up to hundreds of probe sockets would
// each hold a batch of buffers for little.
func (in *inbound) start(t Transport, main bool) {
	in.wg.Add(1)
	if br, ok := t.(BatchReader); ok && main {
		go in.readBatches(t, br, in.newLimiter())
		return
	}
	go in.read(t)
}

// read is the reader goroutine of one transport: one ReadFrom per datagram.
func (in *inbound) read(t Transport) {
	defer in.wg.Done()
	lim := in.newLimiter()
	for {
		p := in.pool.get()
		n, from, err := t.ReadFrom(p.buf[:])
		if err != nil {
			in.pool.put(p)
			if errors.Is(err, net.ErrClosed) || in.ctx.Err() != nil {
				return
			}
			in.log.Debug("read failed", "err", err)
			continue
		}
		if r, ok := in.admit(p, n, from, t, lim); !ok {
			in.pool.put(p)
			in.m.Drop(r)
		}
	}
}

// newLimiter returns a reader's per-source rate limiter.
func (in *inbound) newLimiter() *sourceLimiter {
	return newSourceLimiter(in.rate, in.burst)
}

// readBatchLen is how many datagrams one ReadBatch may return.
const readBatchLen = 32

// readBatches is read with one ReadBatch per wake-up instead of one ReadFrom
// per datagram (with batched sends, it saved about 4% of the CPU per
// answer: docs/performance.md). Each slot keeps a pool packet until it is
// queued; a dropped datagram's packet is simply read into again.
func (in *inbound) readBatches(t Transport, br BatchReader, lim *sourceLimiter) {
	defer in.wg.Done()
	var ps [readBatchLen]*packet
	var ds [readBatchLen]Datagram
	for i := range ps {
		ps[i] = in.pool.get()
		ds[i].B = ps[i].buf[:]
	}
	defer func() {
		for _, p := range ps {
			in.pool.put(p)
		}
	}()
	for {
		n, err := br.ReadBatch(ds[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) || in.ctx.Err() != nil {
				return
			}
			in.log.Debug("read failed", "err", err)
			continue
		}
		lim.now = time.Now()
		b := in.takeBatch()
		pre := in.nat64.Load() // once per batch, as the worker may change it
		for i := range n {
			p := ps[i]
			r, ok := in.parse(p, ds[i].N, in.source(pre, ds[i].Addr), t, lim)
			switch {
			case !ok:
			case p.hdr.Community != proto.CoreCommunity():
				r, ok = in.comms.route(p)
			case b != nil:
				b.ps = append(b.ps, p)
			default:
				r, ok = in.enqueue(p)
			}
			if !ok {
				in.m.Drop(r)
				continue
			}
			ps[i] = in.pool.get()
			ds[i].B = ps[i].buf[:]
		}
		if b != nil {
			in.sendBatch(b)
		}
	}
}

// admit parses and queues one datagram, or says why it was dropped. Core
// packets go to the worker, community packets to that community's queue.
func (in *inbound) admit(p *packet, n int, from netip.AddrPort, t Transport, lim *sourceLimiter) (DropReason, bool) {
	from = in.source(in.nat64.Load(), from)
	if t == in.alt && n <= proto.MaxDatagram && proto.IsSealed(p.buf[:n]) {
		return DropNoSession, false // the second port has no sessions
	}
	r, ok := in.parse(p, n, from, t, lim)
	switch {
	case !ok:
		return r, false
	case p.hdr.Community != proto.CoreCommunity() && t == in.alt:
		return DropUnknownCommunity, false // the second port serves the NAT test only
	case p.hdr.Community != proto.CoreCommunity():
		return in.comms.route(p)
	}
	return in.enqueue(p)
}

// source is who sent a datagram that came from from, given the NAT64 prefix
// pre (nil: none): an IPv4 peer through our NAT64 is that IPv4 peer. Both
// read paths go through it: the batched one (recvmmsg, the real binary on
// Linux) once skipped it, so an IPv6-only node behind NAT64 dropped every
// answer of its IPv4 peers, which the in-memory network (one ReadFrom per
// datagram) never showed; the NAT lab's TestNAT64Phone did.
func (in *inbound) source(pre *netip.Prefix, from netip.AddrPort) netip.AddrPort {
	if pre != nil {
		return fromNAT64(*pre, from)
	}
	return from
}

// parse checks the datagram of n bytes in p's buffer, from from on t: its
// size, header, sender and source rate. It fills in p's other fields.
func (in *inbound) parse(p *packet, n int, from netip.AddrPort, t Transport, lim *sourceLimiter) (DropReason, bool) {
	if n > proto.MaxDatagram {
		return DropTooLarge, false
	}
	b := p.buf[:n]
	if t == in.seedT && t != nil && seed.IsSeed(b) {
		return in.parseSeed(p, b, from, t, lim)
	}
	if proto.IsSealed(b) {
		return in.open(p, b, from, t, lim)
	}
	hdr, body, err := proto.ParseHeader(b)
	if err != nil {
		return dropReasonOf(err), false
	}
	if hdr.Sender == in.self {
		return DropSelf, false
	}
	if !lim.allow(from.Addr()) {
		return DropRateLimited, false
	}
	p.n, p.from, p.hdr, p.body, p.via, p.sess, p.stale = n, from, hdr, body, t, nil, false
	return 0, true
}

// open opens a sealed datagram b in p's buffer, in place, and parses the
// datagram inside: from here on it is a packet like any other, but one
// whose sender proved its key (p.sess). The rate limit comes first, so
// that a flood of forgeries costs no decryption beyond it.
func (in *inbound) open(p *packet, b []byte, from netip.AddrPort, t Transport, lim *sourceLimiter) (DropReason, bool) {
	if !lim.allow(from.Addr()) {
		return DropRateLimited, false
	}
	index, counter, ad, ct, err := proto.ParseSealed(b)
	if err != nil {
		return dropReasonOf(err), false
	}
	var sess *session
	if in.sessions != nil {
		sess = (*in.sessions.Load())[index]
	}
	if sess == nil {
		if in.sessions == nil {
			return DropNoSession, false // no key: we never seal
		}
		// Counted, and passed to the worker as a notice: the sender still
		// seals for a session of ours that is gone.
		in.m.Drop(DropNoSession)
		p.n, p.from, p.via, p.sess, p.stale = len(b), from, t, nil, true
		p.hdr, p.body = proto.Header{Community: proto.CoreCommunity()}, nil
		return 0, true
	}
	inner, err := sess.open(counter, ad, ct)
	switch {
	case errors.Is(err, errReplay):
		return DropReplay, false
	case err != nil:
		return DropBadSeal, false
	}
	hdr, body, err := proto.ParseHeader(inner)
	if err != nil {
		return dropReasonOf(err), false
	}
	if hdr.Sender != sess.peer {
		return DropBadSeal, false // a peer's session carries its own datagrams only
	}
	// n is the inner datagram's length: an answer no larger than it is no
	// larger than the request once both are sealed.
	p.n, p.from, p.hdr, p.body, p.via, p.sess, p.stale = len(inner), from, hdr, body, t, sess, false
	return 0, true
}

// parseSeed decodes a seed datagram b (bounded: proto/seed), after the
// rate limit, so that a flood costs no decoding beyond it. It goes to the
// worker as a core packet.
func (in *inbound) parseSeed(p *packet, b []byte, from netip.AddrPort, t Transport, lim *sourceLimiter) (DropReason, bool) {
	if !lim.allow(from.Addr()) {
		return DropRateLimited, false
	}
	m, err := seed.Decode(b)
	if err != nil {
		return DropSeedMalformed, false
	}
	p.n, p.from, p.hdr, p.body, p.via, p.sess, p.stale, p.seed = len(b), from, proto.Header{Community: proto.CoreCommunity()}, nil, t, nil, false, m
	return 0, true
}

// enqueue queues a core packet for the worker, never waiting.
func (in *inbound) enqueue(p *packet) (DropReason, bool) {
	select {
	case in.inbox <- p:
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
