package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// runner hosts one community: its own bounded queue and goroutine, so that a
// slow handler costs that community dropped (and counted) messages, never a
// stalled reader, walker or neighbour community.
type runner struct {
	o     *Overlay
	c     community.Community
	name  string
	id    proto.ID
	specs [256]*community.MessageSpec // by type; nil: not registered
	queue chan *packet
	log   *slog.Logger
	ok    bool // Start succeeded; set before the goroutine starts
}

// newRunners checks the communities of cfg and prepares their runners.
func newRunners(o *Overlay, cs []community.Community, queueLen int) ([]*runner, map[proto.ID]*runner, error) {
	list := make([]*runner, 0, len(cs))
	byID := make(map[proto.ID]*runner, len(cs))
	for _, c := range cs {
		if c == nil {
			return nil, nil, errors.New("walkie: a nil community")
		}
		name := c.Name()
		if !community.ValidName(name) {
			return nil, nil, fmt.Errorf("walkie: community name %q must be 1 to 32 of a-z, 0-9 and -", name)
		}
		r := &runner{o: o, c: c, name: name, id: community.IDFromName(name),
			queue: make(chan *packet, queueLen), log: o.log.With("community", name)}
		if r.id == proto.CoreCommunity() {
			return nil, nil, errors.New("walkie: a community may not use the core community ID")
		}
		if byID[r.id] != nil {
			return nil, nil, fmt.Errorf("walkie: community %q configured twice", name)
		}
		for _, s := range c.Messages() {
			switch {
			case r.specs[s.Type] != nil:
				return nil, nil, fmt.Errorf("walkie: community %q: message type %d declared twice", name, s.Type)
			case s.Handle == nil:
				return nil, nil, fmt.Errorf("walkie: community %q: message type %d has no handler", name, s.Type)
			case s.MaxSize <= 0:
				return nil, nil, fmt.Errorf("walkie: community %q: message type %d needs a MaxSize > 0", name, s.Type)
			}
			r.specs[s.Type] = &s
		}
		list = append(list, r)
		byID[r.id] = r
	}
	return list, byID, nil
}

// enqueue is the reader's half of dispatch: it checks what needs no lock (a
// registered type, the declared size) and queues the packet without waiting.
func (r *runner) enqueue(p *packet) (DropReason, bool) {
	s := r.specs[p.hdr.Type]
	switch {
	case s == nil:
		return DropUnknownType, false
	case len(p.body) > s.MaxSize:
		return DropLimit, false
	}
	select {
	case r.queue <- p:
		return 0, true
	default:
		return DropQueueFull, false
	}
}

// run is the community's goroutine: it hands queued messages from members to
// their handlers, one at a time, until the overlay closes.
func (r *runner) run(ctx context.Context) {
	defer r.o.cwg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-r.queue:
			r.deliver(ctx, p)
			r.o.pool.put(p)
		}
	}
}

// deliver checks that the sender is a verified member at the packet's source
// address, then calls the handler. The check takes the overlay's lock here,
// on the community's goroutine, so the reader never waits for it.
func (r *runner) deliver(ctx context.Context, p *packet) {
	r.o.mu.Lock()
	q := r.o.table.byAddr[p.from]
	member := q != nil && q.id == p.hdr.Sender && slices.Contains(q.communities, r.id)
	r.o.mu.Unlock()
	if !member {
		r.o.m.Drop(DropUnverified)
		return
	}
	r.o.m.CommunityMessage(r.name, uint8(p.hdr.Type), Inbound)
	s := r.specs[p.hdr.Type]
	if err := s.Handle(ctx, community.Peer{ID: p.hdr.Sender, Addr: p.from}, p.body); err != nil {
		r.o.m.Drop(DropBadBody)
		r.log.Debug("handler failed", "type", s.Name, "from", p.hdr.Sender, "err", err)
	}
}

// members lists the verified peers that announce the community, sorted by
// ID. mu must be held.
func (r *runner) members() []community.Peer {
	var out []community.Peer
	for _, q := range r.o.table.order {
		if slices.Contains(q.communities, r.id) {
			out = append(out, community.Peer{ID: q.id, Addr: q.addr})
		}
	}
	return out
}

// env is the community.Env the overlay lends to one community.
type env struct{ r *runner }

// Send implements community.Env. It writes under the overlay's lock, like
// the worker, so a Transport never sees two writers at once.
func (e env) Send(to proto.ID, typ community.Type, body []byte) error {
	r := e.r
	o := r.o
	if o.ctx.Err() != nil {
		return community.ErrClosed
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.table.byID[to]
	if q == nil || !slices.Contains(q.communities, r.id) {
		return community.ErrUnknownPeer
	}
	h := proto.Header{Type: typ, Community: r.id, Sender: o.cfg.PeerID, Dest: q.addr}
	if h.Len()+len(body) > proto.MaxDatagram {
		return community.ErrTooLarge
	}
	pkt := append(h.AppendTo(o.sendBuf[:0]), body...)
	if err := o.write(pkt, q.addr, uncounted); err != nil {
		if o.ctx.Err() != nil {
			return community.ErrClosed
		}
		// Like UDP, a datagram that cannot go out is lost, not an error the
		// community could act on.
		r.log.Debug("send failed", "to", q.addr, "type", typ, "err", err)
		return nil
	}
	o.m.CommunityMessage(r.name, uint8(typ), Outbound)
	return nil
}

// Members implements community.Env.
func (e env) Members() []community.Peer {
	e.r.o.mu.Lock()
	defer e.r.o.mu.Unlock()
	return e.r.members()
}

// Self implements community.Env.
func (e env) Self() proto.ID { return e.r.o.cfg.PeerID }

// WAN implements community.Env.
func (e env) WAN() netip.AddrPort {
	e.r.o.mu.Lock()
	defer e.r.o.mu.Unlock()
	return e.r.o.votes.wan
}

// Logger implements community.Env.
func (e env) Logger() *slog.Logger { return e.r.log }

// startCommunities starts every community and its goroutine. A community
// whose Start fails is logged and gets no messages (they are dropped as
// unknown_community); the node and the other communities run on.
func (o *Overlay) startCommunities() {
	for _, r := range o.runners {
		if err := r.c.Start(o.ctx, env{r}); err != nil {
			o.log.Error("community failed to start", "community", r.name, "err", err)
			continue
		}
		r.ok = true
		o.cwg.Add(1)
		go r.run(o.ctx)
	}
}

// closeCommunities joins the community goroutines, then closes every
// community. It runs after the walker and readers have stopped and ctx is
// cancelled, so no handler runs during or after Close.
func (o *Overlay) closeCommunities() error {
	o.cwg.Wait()
	var errs []error
	for _, r := range o.runners {
		if err := r.c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("community %s: %w", r.name, err))
		}
	}
	return errors.Join(errs...)
}

// reportMembers tells the metrics how many members each community has. mu
// must be held.
func (o *Overlay) reportMembers() {
	for _, r := range o.runners {
		o.m.Members(r.name, len(r.members()))
	}
}
