package core

import (
	"errors"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/walkie-p2p/walkie/proto"
	"github.com/walkie-p2p/walkie/proto/seed"
)

// batchLen is how many datagrams the worker gathers before one
// BatchWriter call, and how many queued packets it handles per wake-up.
const batchLen = 64

// errTooLargeToSeal is the error of a datagram to an authenticated peer
// that would not fit in MaxDatagram once sealed.
var errTooLargeToSeal = errors.New("walkie: datagram too large to seal")

// errShortBatch stands in for the error of a BatchWriter that sent fewer
// datagrams than asked without saying why.
var errShortBatch = errors.New("walkie: batch write stopped short")

// uncounted marks a datagram that no per-type counter follows (community
// messages, which have their own, and datagrams that only packets_sent
// counts).
const uncounted = numCounters

// sender is the node's one writer: every datagram, the walk's and the
// communities', leaves through it, and only the worker calls it, so a
// socket never has two writers and nothing needs a lock. It encodes core
// messages, gathers the datagrams of a worker batch for one BatchWriter call
// (a sendmmsg: one syscall per datagram was more than half of the node's CPU
// under load), and sends to a peer reached by port prediction through the
// probe socket its NAT admits (routes).
type sender struct {
	t      Transport
	self   proto.ID
	m      Metrics
	log    *slog.Logger
	sent   atomic.Uint64 // datagrams that went out since start; read by Status
	buf    []byte        // encoding scratch
	w      BatchWriter   // nil: the transport cannot batch; every write is direct
	on     bool          // the worker is between begin and end
	ds     []Datagram    // pending; their bytes are in arena
	cs     []Counter     // what each pending datagram counts once it has gone
	arena  []byte        // copies of the pending datagrams: buf is reused at once
	routes map[netip.AddrPort]*route
	// seal: the session of the authenticated peer at each address; every
	// datagram to it is sealed, but to plainTo (the address of a plaintext
	// packet being answered: answers go in kind, or a peer that lost its
	// session could never hear us again). sealBuf holds a sealed datagram
	// on its way into the batch.
	seal    map[netip.AddrPort]*session
	plainTo netip.AddrPort
	// reach and nat64: the IP families the node can send to, and the
	// NAT64 prefix of an IPv6-only node (family.go): a datagram to another
	// family is dropped (no_route); an IPv4 one goes through the NAT64.
	reach   proto.Reach
	nat64   netip.Prefix
	sealBuf []byte
	seedBuf []byte    // seed datagrams (sendSeed)
	lastLen int       // the length of the last datagram send wrote: what a seed address's credit pays (seed.go)
	now     time.Time // the worker's clock for this batch: sessions expire
	// onError is Config.OnSendError, called at most once a second.
	onError   func()
	lastError time.Time
}

// route is a probe socket kept for the one peer it reached.
type route struct {
	t     Transport
	since time.Time // when it was adopted
}

// newSender prepares the writer of t. With a BatchWriter the arena is
// allocated here, once, so that a write allocates nothing.
func newSender(t Transport, self proto.ID, m Metrics, log *slog.Logger) *sender {
	s := &sender{t: t, self: self, m: m, log: log, buf: make([]byte, 0, proto.MaxDatagram),
		routes: map[netip.AddrPort]*route{}, seal: map[netip.AddrPort]*session{}}
	if w, ok := t.(BatchWriter); ok {
		s.w = w
		s.ds = make([]Datagram, 0, batchLen)
		s.cs = make([]Counter, 0, batchLen)
		s.arena = make([]byte, 0, batchLen*proto.MaxDatagram)
	}
	return s
}

// send encodes and writes one core message, padded to padTo bytes, and
// counts it in c once it has gone. With limit > 0 a message longer than
// limit is not sent but dropped as an amplification. It reports whether
// the message went out (inside a batch: was queued; flush logs a later
// failure).
func (s *sender) send(to netip.AddrPort, m proto.Message, padTo, limit int, c Counter) bool {
	// Encoded here rather than through encode: this is the hot path, and
	// the call cost a measurable share of an answered request.
	pkt, err := proto.Encode(s.buf[:0], proto.Header{Community: proto.CoreCommunity(), Sender: s.self, Dest: to}, m)
	if err != nil {
		s.log.Error("encoding failed", "type", m.Type(), "err", err)
		return false
	}
	pkt = proto.Pad(pkt, padTo)
	if limit > 0 && len(pkt) > limit {
		s.m.Drop(DropAmplification)
		return false
	}
	if err := s.write(pkt, to, c); err != nil {
		s.log.Debug("send failed", "to", to, "type", m.Type(), "err", err)
		return false
	}
	s.lastLen = len(pkt)
	return true
}

// sendVia encodes a core message and writes it at once from t, a probe
// socket, rather than the node's own.
func (s *sender) sendVia(t Transport, to netip.AddrPort, m proto.Message, c Counter) bool {
	pkt, ok := s.encode(to, m)
	if !ok {
		return false
	}
	wire, ok := wireTo(s.reach, s.nat64, to)
	if !ok {
		s.m.Drop(DropNoRoute)
		return false
	}
	if err := s.writeVia(t, pkt, wire, c); err != nil {
		s.log.Debug("probe send failed", "to", to, "err", err)
		return false
	}
	return true
}

// answerVia encodes a core message and writes it at once from t, another
// socket of ours (the second port, discover.go), unless it is longer than
// limit: then it is dropped as an amplification.
func (s *sender) answerVia(t Transport, to netip.AddrPort, m proto.Message, limit int, c Counter) bool {
	pkt, ok := s.encode(to, m)
	if !ok {
		return false
	}
	if len(pkt) > limit {
		s.m.Drop(DropAmplification)
		return false
	}
	wire, ok := wireTo(s.reach, s.nat64, to)
	if !ok {
		s.m.Drop(DropNoRoute)
		return false
	}
	return s.writeVia(t, pkt, wire, c) == nil
}

// sendSeed encodes a seed message and writes it at once, never sealed (a
// seed node has no session) and never through a probe socket, unless it is
// longer than limit (> 0): then it is dropped as an amplification. It
// returns the bytes sent, 0 if none. seed.Append writes only what the
// seed's own decoder takes.
func (s *sender) sendSeed(to netip.AddrPort, m seed.Message, limit int) int {
	if s.seedBuf == nil {
		s.seedBuf = make([]byte, 0, proto.MaxDatagram)
	}
	b, err := seed.Append(s.seedBuf[:0], m)
	if err != nil {
		s.log.Error("seed encoding failed", "type", m.Type(), "err", err)
		return 0
	}
	if len(b) > proto.MaxDatagram {
		return 0 // a seed node reads 2048 bytes, walkie nodes 1280: both must
	}
	if limit > 0 && len(b) > limit {
		s.m.Drop(DropAmplification)
		return 0
	}
	wire, ok := wireTo(s.reach, s.nat64, to)
	if !ok {
		s.m.Drop(DropNoRoute)
		return 0
	}
	if s.writeVia(s.t, b, wire, SeedMessagesSent) != nil {
		return 0
	}
	return len(b)
}

// sendCommunity writes one community datagram: the header, then body.
func (s *sender) sendCommunity(h proto.Header, body []byte) error {
	pkt := append(h.AppendTo(s.buf[:0]), body...)
	return s.write(pkt, h.Dest, uncounted)
}

// encode encodes a core message to to into the scratch buffer.
func (s *sender) encode(to netip.AddrPort, m proto.Message) ([]byte, bool) {
	pkt, err := proto.Encode(s.buf[:0], proto.Header{Community: proto.CoreCommunity(), Sender: s.self, Dest: to}, m)
	if err != nil {
		s.log.Error("encoding failed", "type", m.Type(), "err", err)
		return nil, false
	}
	return pkt, true
}

// write is the one place every datagram leaves through. Inside a batch it
// queues a copy of b (flushing first if the batch is full) and returns nil:
// a failure is then logged by flush, the datagram is not counted, and the
// caller cannot know. Otherwise it writes at once and returns the
// transport's error. A datagram is counted once it has gone, in sent and in
// c (uncounted: no counter), so packets_sent and the per-type counters are
// exact either way.
func (s *sender) write(b []byte, to netip.AddrPort, c Counter) error {
	wire, ok := wireTo(s.reach, s.nat64, to)
	if !ok {
		s.m.Drop(DropNoRoute)
		return errNoRoute
	}
	if sess := s.seal[to]; sess != nil && to != s.plainTo {
		if len(b) > proto.MaxSealedInner {
			return errTooLargeToSeal
		}
		if s.sealBuf == nil {
			s.sealBuf = make([]byte, 0, proto.MaxDatagram)
		}
		sealed, err := sess.seal(s.sealBuf[:0], b, s.now)
		if err != nil {
			return err
		}
		b = sealed
	}
	if r := s.routes[to]; r != nil {
		// A peer reached through a probe socket hears from that socket,
		// the one its NAT admits. It goes at once, ahead of the batch:
		// order between destinations does not matter.
		return s.writeVia(r.t, b, wire, c)
	}
	if !s.on {
		return s.writeVia(s.t, b, wire, c)
	}
	if !to.IsValid() {
		return errInvalidDest // what WriteTo says, while the caller can hear it
	}
	if len(s.ds) == cap(s.ds) || len(s.arena)+len(b) > cap(s.arena) {
		s.flush()
		if len(b) > cap(s.arena) { // longer than any datagram; sent after the batch, in order
			return s.writeVia(s.t, b, wire, c)
		}
	}
	start := len(s.arena)
	s.arena = append(s.arena, b...) // within cap: earlier entries stay put
	s.ds = append(s.ds, Datagram{B: s.arena[start:len(s.arena):len(s.arena)], Addr: wire})
	s.cs = append(s.cs, c)
	return nil
}

// writeVia sends one datagram through t, and counts it if it went.
func (s *sender) writeVia(t Transport, b []byte, to netip.AddrPort, c Counter) error {
	if err := t.WriteTo(b, to); err != nil {
		s.failed()
		return err
	}
	s.counted(c)
	return nil
}

// counted counts one datagram that went out.
func (s *sender) counted(c Counter) {
	s.sent.Add(1)
	if c != uncounted {
		s.m.Add(c, 1)
	}
}

// begin starts gathering datagrams, if the transport takes them in
// batches; end must follow. now is the worker's clock for the batch.
func (s *sender) begin(now time.Time) {
	s.on = s.w != nil
	s.now = now
}

// flush sends the pending datagrams; the batch stays open. A datagram the
// transport refuses is logged, as a failed direct write is, and the rest
// still go out.
func (s *sender) flush() {
	ds, cs := s.ds, s.cs
	for len(ds) > 0 {
		n, err := s.w.WriteBatch(ds)
		n = min(max(n, 0), len(ds))
		for _, c := range cs[:n] {
			s.counted(c)
		}
		if ds, cs = ds[n:], cs[n:]; len(ds) == 0 {
			break
		}
		if err == nil {
			err = errShortBatch
		}
		h, _, _ := proto.ParseHeader(ds[0].B)
		s.log.Debug("send failed", "to", ds[0].Addr, "type", h.Type, "err", err)
		s.failed()
		ds, cs = ds[1:], cs[1:]
	}
	s.ds, s.cs, s.arena = s.ds[:0], s.cs[:0], s.arena[:0]
}

// end flushes the batch and stops gathering.
func (s *sender) end() {
	if s.on {
		s.flush()
		s.on = false
	}
}

// adopt makes t, a probe socket that reached the peer at to, that peer's
// route; a route it replaces is closed.
func (s *sender) adopt(to netip.AddrPort, t Transport, now time.Time) {
	if old := s.routes[to]; old != nil {
		old.t.Close()
	}
	s.routes[to] = &route{t: t, since: now}
}

// routed reports whether the peer at to is reached through a probe socket.
func (s *sender) routed(to netip.AddrPort) bool { return s.routes[to] != nil }

// routeCount is how many probe sockets are kept as routes.
func (s *sender) routeCount() int { return len(s.routes) }

// pruneRoutes closes the routes that keep says are no longer needed.
func (s *sender) pruneRoutes(keep func(to netip.AddrPort, since time.Time) bool) {
	for to, r := range s.routes {
		if !keep(to, r.since) {
			r.t.Close()
			delete(s.routes, to)
		}
	}
}

// closeRoutes closes every route, so that their readers end.
func (s *sender) closeRoutes() { s.pruneRoutes(func(netip.AddrPort, time.Time) bool { return false }) }

// sealFor makes every datagram to addr sealed in sess.
func (s *sender) sealFor(addr netip.AddrPort, sess *session) { s.seal[addr] = sess }

// unseal stops sealing to addr in sess (if that is still the session there).
func (s *sender) unseal(addr netip.AddrPort, sess *session) {
	if s.seal[addr] == sess {
		delete(s.seal, addr)
	}
}

// sealed reports whether datagrams to addr are sealed.
func (s *sender) sealed(addr netip.AddrPort) bool { return s.seal[addr] != nil }

// failed tells the host app, at most once a second, that a write failed.
func (s *sender) failed() {
	if s.onError == nil || s.now.Sub(s.lastError) < time.Second {
		return
	}
	s.lastError = s.now
	s.onError()
}
