package chat

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/walkie-p2p/walkie/community"
)

// addLocked stores m (body is its encoding) and tells the subscribers if
// it was stored; jump, if not nil, is the jump budget to keep with it.
// c.mu must be held: one writer keeps the file, the clock and the
// subscribers in step.
func (c *Chat) addLocked(m *Message, body []byte, jump *budget) (added, error) {
	a, err := c.store.add(m, body, time.Now(), jump)
	if err != nil {
		return a, err
	}
	c.clock = max(c.clock, a.clock)
	c.stats.Pruned += uint64(a.pruned)
	c.stats.Evicted += uint64(len(a.evicted))
	for _, x := range a.evicted {
		c.gate.refused.add(x)
	}
	switch a.outcome {
	case stored:
		for ch := range c.subs {
			select {
			case ch <- *m:
			default:
				delete(c.subs, ch) // too slow: cut off, it will reload History
				close(ch)
			}
		}
	case tooOld, overQuota:
		c.gate.refused.add(idAt{id: m.ID, lamport: m.Lamport})
	}
	return a, nil
}

// onMessage handles a message pushed by its author or sent by a sync. The
// checks run cheapest first, and a message is counted under the first that
// refuses it. A refused message is no error of the sender's datagram, so it
// is not reported to the node (which would count it as a bad body).
func (c *Chat) onMessage(_ context.Context, from community.Peer, body []byte) error {
	m, err := decodeMessage(body)
	if err != nil {
		return err
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	// Whatever becomes of it, the message shows how far the member's room
	// got: what lets a node far behind (new, or back from a partition)
	// follow once two members agree.
	c.gate.saw(from.ID, m.Lamport, now)
	if !c.gate.fromMember(from.ID, m.Lamport, now) {
		c.stats.PeerLimited++
		return nil
	}
	if known, err := c.store.has(m.ID); err != nil || known {
		if known {
			c.stats.Duplicates++
		}
		return err
	}
	// The jump budget is spent only on a message within its author's rate,
	// and the author's rate only on one within the clock's limits.
	g := c.gate
	saved := g.budget
	jump, ok := g.admitTime(c.clock, m.Lamport, now)
	if !ok {
		c.stats.Ahead++
		return nil
	}
	if !g.fromAuthor(m.Author, now) {
		g.budget = saved
		c.stats.AuthorLimited++
		return nil
	}
	var keep *budget
	if jump {
		keep = &g.budget
	}
	a, err := c.addLocked(&m, body, keep)
	if err != nil {
		return err
	}
	switch a.outcome {
	case stored:
		c.stats.Received++
		if jump {
			c.stats.Jumps++
		}
	case duplicate:
		c.stats.Duplicates++
	case tooOld:
		c.stats.TooOld++
	case overQuota:
		c.stats.OverQuota++
	}
	return nil
}

// onSync answers a sync request with the messages the requester lacks.
func (c *Chat) onSync(_ context.Context, from community.Peer, body []byte) error {
	req, err := decodeSyncRequest(body)
	if err != nil {
		return err
	}
	now := time.Now()
	c.mu.Lock()
	c.gate.saw(from.ID, req.announced(), now)
	allowed := c.gate.syncAllowed(from.ID, now)
	if !allowed {
		c.stats.SyncLimited++
	}
	env := c.env
	c.mu.Unlock()
	if !allowed {
		return nil
	}
	miss, err := c.store.missing(req, c.cfg.MaxPerRound)
	if err != nil {
		return err
	}
	sent := 0
	for _, b := range miss {
		if env.Send(from.ID, typeMessage, b) == nil {
			sent++
		}
	}
	c.mu.Lock()
	c.stats.SyncSent += uint64(sent)
	if sent > 0 {
		c.stats.SyncsServed++
	}
	c.mu.Unlock()
	return nil
}

// syncLoop sends a sync request to a random member every SyncInterval, with
// ±10% jitter so that the members of a room do not sync in lockstep.
func (c *Chat) syncLoop(ctx context.Context) {
	defer c.wg.Done()
	d := c.cfg.SyncInterval
	t := time.NewTimer(d - d/10 + rand.N(d/5+1))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.syncOnce()
		t.Reset(d - d/10 + rand.N(d/5+1))
	}
}

// syncOnce sends one sync request to a random member.
func (c *Chat) syncOnce() {
	members := c.env.Members()
	if len(members) == 0 {
		return
	}
	to := members[rand.IntN(len(members))]
	// Copied first: no lock may be taken inside a store transaction, since
	// a writer holds c.mu while it waits for readers (bbolt's remap).
	c.mu.Lock()
	refused := c.gate.refused.list()
	c.mu.Unlock()
	req, err := c.store.newSyncRequest(refused)
	if err != nil {
		return // closed
	}
	c.mu.Lock()
	c.gate.asked(to.ID, req.Lo, req.Hi, time.Now())
	c.mu.Unlock()
	if c.env.Send(to.ID, typeSync, req.encode()) == nil {
		c.mu.Lock()
		c.stats.SyncsSent++
		c.mu.Unlock()
	}
}
