package chat

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
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
		c.subs.Publish(*m) // one too slow is cut off, and reloads History
	case tooOld, overQuota:
		c.gate.refused.add(idAt{id: m.ID, lamport: m.Lamport})
	}
	return a, nil
}

// onMessage handles a message pushed by its author or sent by a sync. The
// checks run cheapest first, and a message is counted under the first that
// refuses it. The signature is checked once the member's rate let the
// message pass and we lack it, so that a member's datagrams cost at most
// its rate in signature checks; the limits that know the author (the
// clock, the author's rate and quota) only look at messages it signed.
// A malformed body, one of another version and one whose signature does
// not verify (a forged author, a relabelled copy) are reported to the node,
// which logs them and counts a bad body; a message the limits refuse is no
// error of the sender's datagram, so it is not reported.
func (c *Chat) onMessage(_ context.Context, from community.Peer, body []byte) error {
	s, err := decodeSigned(body)
	if err != nil {
		c.countVersion(err)
		return err
	}
	m, signed := s.message(c.cid)
	now := time.Now()
	if ok, err := c.fromMember(from.ID, &m, now); !ok {
		return err
	}
	// Outside the lock: it is the costly check.
	if err := s.verify(&m, signed); err != nil {
		c.mu.Lock()
		c.stats.BadSignature++
		c.mu.Unlock()
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
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

// fromMember runs the checks of a message from member id that need no
// signature, and reports whether it goes on: the member's rate, and that
// we lack it. An error is the store's.
func (c *Chat) fromMember(id proto.ID, m *Message, now time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false, nil
	}
	// Whatever becomes of it, the message shows how far the member's room
	// got: what lets a node far behind (new, or back from a partition)
	// follow once two members agree. A member can show any time with a
	// message it signs itself, so an unchecked one shows no more.
	c.gate.saw(id, m.Lamport, now)
	if !c.gate.fromMember(id, m.Lamport, now) {
		c.stats.PeerLimited++
		return false, nil
	}
	// The ID is a hash of what is signed: a message we hold has exactly
	// this text, time and key, whatever signature this copy carries.
	known, err := c.store.has(m.ID)
	if known {
		c.stats.Duplicates++
	}
	return err == nil && !known, err
}

// countVersion counts err if it refuses a body of another version.
func (c *Chat) countVersion(err error) {
	var ve *VersionError
	if errors.As(err, &ve) {
		c.mu.Lock()
		c.stats.OtherVersion++
		c.mu.Unlock()
	}
}

// onVersion1 returns the handler of a version 1 type: it counts the body
// and reports it to the node, which logs the version and counts a bad
// body. Version 1 cannot be told: it has no message that would say so.
func (c *Chat) onVersion1(t community.Type) community.Handler {
	return func(context.Context, community.Peer, []byte) error {
		c.mu.Lock()
		c.stats.Version1++
		c.mu.Unlock()
		return &VersionError{Type: t, Version: 1}
	}
}

// onSync answers a sync request with the messages the requester lacks.
func (c *Chat) onSync(_ context.Context, from community.Peer, body []byte) error {
	req, err := decodeSyncRequest(body)
	if err != nil {
		c.countVersion(err)
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
	var last activity
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.syncOnce()
		// A room where nothing happens needs no repair every round: each
		// round that found the room as it was doubles the interval, up to
		// MaxSyncInterval; a new message or member brings it back.
		now := c.activity()
		if now == last {
			d = min(2*d, c.cfg.MaxSyncInterval)
		} else {
			d = c.cfg.SyncInterval
		}
		last = now
		t.Reset(d - d/10 + rand.N(d/5+1))
	}
}

// activity is what a sync round compares with the last one's: messages
// stored or posted, and the members.
type activity struct {
	messages uint64
	members  int
	memberID community.ID // the lowest member's ID: another set of the same size shows here, mostly
}

// activity returns the room's activity now.
func (c *Chat) activity() activity {
	ms := c.env.Members()
	c.mu.Lock()
	a := activity{messages: c.stats.Received + c.stats.Posted, members: len(ms)}
	c.mu.Unlock()
	if len(ms) > 0 {
		a.memberID = ms[0].ID
	}
	return a
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
