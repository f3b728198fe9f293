package core

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// communities hosts the node's communities. Each has a bounded queue in
// each direction and a goroutine of its own, so that a slow handler costs
// that community dropped (and counted) messages, never a stalled reader,
// walker or neighbour community. Inbound, the reader queues a message
// (route) and the community's goroutine checks the sender against the
// published view before its handler runs (deliver). Outbound, Env.Send
// checks against the view and queues the message; the worker writes it with
// its own datagrams (flush). Nothing here takes a lock the worker holds.
type communities struct {
	runners []*runner            // in Config order
	ids     []proto.ID           // their IDs, as announced
	byCID   map[proto.ID]*runner // read-only after New
	ctx     context.Context
	self    proto.ID
	key     ed25519.PrivateKey // nil without one
	pool    *bufPool
	view    *atomic.Pointer[view]
	wake    func() // tells the worker that a send queue has something
	m       Metrics
	wg      sync.WaitGroup // the community goroutines
}

// runner hosts one community.
type runner struct {
	cs    *communities
	idx   int // in runners, and in a view's members
	c     community.Community
	name  string
	id    proto.ID
	specs [256]*community.MessageSpec // by type; nil: not registered
	in    chan *packet                // received, for the handlers
	out   chan *packet                // to send; packet.dest names the member
	log   *slog.Logger
	ok    bool // Start succeeded; set before the readers start
	// authOnly: the community's Policy admits only authenticated members.
	authOnly bool
	// sendRate, sendBytes: what the community may send (Send is called
	// from any of its goroutines, so they lock).
	sendRate, sendBytes *rate.Limiter
}

// newCommunities checks the communities of cfg and prepares their runners.
func newCommunities(cfg *Config, ctx context.Context, pool *bufPool, v *atomic.Pointer[view], wake func()) (*communities, error) {
	cs := &communities{byCID: make(map[proto.ID]*runner, len(cfg.Communities)), ctx: ctx, self: cfg.PeerID,
		key: cfg.Key, pool: pool, view: v, wake: wake, m: cfg.Metrics}
	for i, c := range cfg.Communities {
		if c == nil {
			return nil, errors.New("walkie: a nil community")
		}
		name := c.Name()
		if !community.ValidName(name) {
			return nil, fmt.Errorf("walkie: community name %q must be 1 to 32 of a-z, 0-9 and -", name)
		}
		r := &runner{cs: cs, idx: i, c: c, name: name, id: community.IDFromName(name),
			in: make(chan *packet, cfg.CommunityQueueLen), out: make(chan *packet, cfg.SendQueueLen),
			log:       cfg.Logger.With("community", name),
			sendRate:  rate.NewLimiter(rate.Limit(cfg.SendRate), burstOf(cfg.SendRate, 1)),
			sendBytes: rate.NewLimiter(rate.Limit(cfg.SendByteRate), burstOf(cfg.SendByteRate, proto.MaxDatagram))}
		if r.id == proto.CoreCommunity() {
			return nil, errors.New("walkie: a community may not use the core community ID")
		}
		if cs.byCID[r.id] != nil {
			return nil, fmt.Errorf("walkie: community %q configured twice", name)
		}
		if ph, ok := c.(community.PolicyHolder); ok {
			r.authOnly = ph.Policy().Authenticated
		}
		for _, s := range c.Messages() {
			switch {
			case r.specs[s.Type] != nil:
				return nil, fmt.Errorf("walkie: community %q: message type %d declared twice", name, s.Type)
			case s.Handle == nil:
				return nil, fmt.Errorf("walkie: community %q: message type %d has no handler", name, s.Type)
			case s.MaxSize <= 0:
				return nil, fmt.Errorf("walkie: community %q: message type %d needs a MaxSize > 0", name, s.Type)
			}
			r.specs[s.Type] = &s
		}
		cs.runners = append(cs.runners, r)
		cs.ids = append(cs.ids, r.id)
		cs.byCID[r.id] = r
	}
	return cs, nil
}

// burstOf is the burst of a rate: two seconds' worth, and at least least.
func burstOf(r float64, least int) int {
	if math.IsInf(r, 1) {
		return 0 // an infinite limiter ignores it
	}
	return max(int(2*r), least)
}

// route is the reader's half of inbound dispatch: it finds the packet's
// community, checks what needs no state (a registered type, the declared
// size) and queues the packet without waiting.
func (cs *communities) route(p *packet) (DropReason, bool) {
	r := cs.byCID[p.hdr.Community]
	if r == nil || !r.ok {
		return DropUnknownCommunity, false
	}
	s := r.specs[p.hdr.Type]
	switch {
	case s == nil:
		return DropUnknownType, false
	case len(p.body) > s.MaxSize:
		return DropLimit, false
	}
	select {
	case r.in <- p:
		return 0, true
	default:
		return DropQueueFull, false
	}
}

// run is a community's goroutine: it hands queued messages from members to
// their handlers, one at a time, until the overlay closes.
func (r *runner) run() {
	defer r.cs.wg.Done()
	for {
		select {
		case <-r.cs.ctx.Done():
			return
		case p := <-r.in:
			r.deliver(p)
			r.cs.pool.put(p)
		}
	}
}

// deliver checks the sender against the view the worker last published,
// then calls the handler: a sealed packet's sender proved its key (its
// session says who it is); a plaintext one must be a verified member at the
// packet's source address, and one that never proved a key (a peer that did
// cannot send in plaintext).
func (r *runner) deliver(p *packet) {
	v := r.cs.view.Load()
	var q *peerView
	if p.sess != nil {
		q = v.byID[p.sess.peer]
	} else if q = v.byAddr[p.from]; q != nil && (q.id != p.hdr.Sender || q.authenticated) {
		q = nil
	}
	if q == nil || !q.member(r.id) {
		r.cs.m.Drop(DropUnverified)
		return
	}
	if r.authOnly && !q.authenticated {
		r.cs.m.Drop(DropUnauthenticated)
		return
	}
	r.cs.m.CommunityMessage(r.name, uint8(p.hdr.Type), Inbound)
	s := r.specs[p.hdr.Type]
	from := community.Peer{ID: q.id, Addr: p.from, Key: q.key, Authenticated: q.authenticated}
	if err := s.Handle(r.cs.ctx, from, p.body); err != nil {
		r.cs.m.Drop(DropBadBody)
		r.log.Debug("handler failed", "type", s.Name, "from", p.hdr.Sender, "err", err)
	}
}

// flush writes up to max queued community datagrams through s, one
// community after another so that a busy one cannot starve the others, and
// reports whether any are left. Worker only: it reads the live peer table,
// so a member that left since Send gets nothing.
func (cs *communities) flush(t *peerTable, s *sender, max int) (more bool) {
	for n := 0; n < max; {
		moved := false
		for _, r := range cs.runners {
			select {
			case p := <-r.out:
				r.write(p, t, s)
				cs.pool.put(p)
				moved = true
				n++
			default:
			}
		}
		if !moved {
			return false
		}
	}
	return true
}

// write sends one queued datagram to its member, if it is still one.
func (r *runner) write(p *packet, t *peerTable, s *sender) {
	q := t.get(p.dest)
	if q == nil || !slices.Contains(q.communities, r.id) || (r.authOnly && !q.authenticated()) {
		r.log.Debug("send dropped: no longer a member", "to", p.dest, "type", p.hdr.Type)
		return
	}
	h := proto.Header{Type: p.hdr.Type, Community: r.id, Sender: r.cs.self, Dest: q.addr}
	if size := h.Len() + len(p.body); size > proto.MaxDatagram || (q.authenticated() && size > proto.MaxSealedInner) {
		return // its address changed family, or it authenticated, since Send checked the size
	}
	if err := s.sendCommunity(h, p.body); err != nil {
		// Like UDP, a datagram that cannot go out is lost, not an error
		// the community could act on.
		r.log.Debug("send failed", "to", q.addr, "type", p.hdr.Type, "err", err)
		return
	}
	r.cs.m.CommunityMessage(r.name, uint8(p.hdr.Type), Outbound)
}

// env is the community.Env the overlay lends to one community. Its methods
// read the published view, never the worker's state.
type env struct{ r *runner }

// Send implements community.Env.
func (e env) Send(to proto.ID, typ community.Type, body []byte) error {
	cs := e.r.cs
	if cs.ctx.Err() != nil {
		return community.ErrClosed
	}
	q := cs.view.Load().byID[to]
	if q == nil || !q.member(e.r.id) || (e.r.authOnly && !q.authenticated) {
		return community.ErrUnknownPeer
	}
	if size := (&proto.Header{Dest: q.addr}).Len() + len(body); size > proto.MaxDatagram ||
		(q.authenticated && size > proto.MaxSealedInner) {
		return community.ErrTooLarge
	}
	if now := time.Now(); !e.r.sendRate.AllowN(now, 1) || !e.r.sendBytes.AllowN(now, len(body)) {
		cs.m.Drop(DropSendRateLimited)
		return community.ErrBusy
	}
	p := cs.pool.get()
	p.n = copy(p.buf[:], body)
	p.body, p.hdr.Type, p.dest = p.buf[:p.n], typ, to
	select {
	case e.r.out <- p:
	default:
		cs.pool.put(p)
		cs.m.Drop(DropSendBusy)
		return community.ErrBusy
	}
	cs.wake()
	return nil
}

// Members implements community.Env.
func (e env) Members() []community.Peer {
	return slices.Clone(e.r.cs.view.Load().members[e.r.idx])
}

// Self implements community.Env.
func (e env) Self() proto.ID { return e.r.cs.self }

// WAN implements community.Env.
func (e env) WAN() netip.AddrPort { return e.r.cs.view.Load().wan }

// Logger implements community.Env.
func (e env) Logger() *slog.Logger { return e.r.log }

// Key implements community.Env.
func (e env) Key() ed25519.PublicKey {
	if e.r.cs.key == nil {
		return nil
	}
	return e.r.cs.key.Public().(ed25519.PublicKey)
}

// Sign implements community.Env.
func (e env) Sign(msg []byte) []byte {
	if e.r.cs.key == nil {
		return nil
	}
	return ed25519.Sign(e.r.cs.key, msg)
}

// start starts every community and its goroutine. A community whose Start
// fails is logged and gets no messages (they are dropped as
// unknown_community); the node and the other communities run on.
func (cs *communities) start(log *slog.Logger) {
	for _, r := range cs.runners {
		if err := r.c.Start(cs.ctx, env{r}); err != nil {
			log.Error("community failed to start", "community", r.name, "err", err)
			continue
		}
		r.ok = true
		cs.wg.Add(1)
		go r.run()
	}
}

// close joins the community goroutines, then closes every community. It
// runs after the worker and readers have stopped and ctx is cancelled, so
// no handler runs during or after Close.
func (cs *communities) close() error {
	cs.wg.Wait()
	var errs []error
	for _, r := range cs.runners {
		if err := r.c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("community %s: %w", r.name, err))
		}
	}
	return errors.Join(errs...)
}

// names maps community IDs to the names we know (the ID otherwise).
func (cs *communities) names(ids []proto.ID) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		name := id.String()
		if r := cs.byCID[id]; r != nil {
			name = r.name
		}
		out = append(out, name)
	}
	return out
}
