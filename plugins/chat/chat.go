// Package chat is a group chat among the members of a walkie community (a
// chat room). Every message has a random ID, its author's peer ID, a Lamport
// time and a bounded text. Histories are deduplicated by ID and ordered by
// (Lamport time, author, ID), so every node that holds the same messages
// shows them in the same order.
//
// Delivery: a posted message is pushed at once to every member the node
// knows; what that misses (loss, a node offline, a member not known to the
// author) is repaired by anti-entropy sync (see sync.go); and the history
// is kept in a bbolt file in Config.Dir, so it survives a restart or a
// kill -9.
//
// Messages are not signed: a member can relay a message under any author
// ID. The room trusts its members.
package chat

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/community"
)

// Message types of the chat community.
const (
	typeMessage community.Type = 1 // one Message (a post, or an answer to a sync)
	typeSync    community.Type = 2 // a syncRequest
)

// Defaults of Config.
const (
	DefaultName         = "chat"
	DefaultSyncInterval = 2 * time.Second
	DefaultMaxPerRound  = 32
	subscriberBuffer    = 64
)

// Config configures a Chat.
type Config struct {
	// Dir is where the history is kept (the file chat.db). Required.
	Dir string
	// Name is the community's name, hence the room. Default "chat".
	Name string
	// SyncInterval is how often the node sends a sync request to a random
	// member (±10%). Default 2s.
	SyncInterval time.Duration
	// MaxPerRound bounds the messages sent in answer to one sync request.
	// Default 32.
	MaxPerRound int
}

// ErrNotStarted is returned by Post before the node started the community.
var ErrNotStarted = errors.New("chat: not started")

// Stats counts what a Chat did, for tests and reports.
type Stats struct {
	Messages    int    // in the history
	Posted      uint64 // by this node
	Pushed      uint64 // datagrams pushing our posts to members
	SyncsSent   uint64 // sync requests sent
	SyncsServed uint64 // sync requests answered with at least one message
	SyncSent    uint64 // messages sent in answer to sync requests
	Received    uint64 // new messages received (push or sync)
	Duplicates  uint64 // messages received that we already held
}

// Chat is the chat community. It is safe for concurrent use.
type Chat struct {
	cfg   Config
	store *store

	mu     sync.Mutex
	env    community.Env // nil until Start
	msgs   []Message     // the history, in order
	ids    map[uuid.UUID]struct{}
	clock  uint64 // the largest Lamport time seen
	subs   map[chan Message]struct{}
	stats  Stats
	closed bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
	close  sync.Once
}

// New opens the history in cfg.Dir and returns the community, ready for
// core.Config.Communities. The caller must Close it (the overlay does, when
// it closes).
func New(cfg Config) (*Chat, error) {
	if cfg.Dir == "" {
		return nil, errors.New("chat: Config.Dir is required")
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if !community.ValidName(cfg.Name) {
		return nil, errors.New("chat: invalid community name " + cfg.Name)
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.MaxPerRound <= 0 {
		cfg.MaxPerRound = DefaultMaxPerRound
	}
	st, msgs, err := openStore(cfg.Dir)
	if err != nil {
		return nil, err
	}
	c := &Chat{cfg: cfg, store: st, msgs: msgs, ids: make(map[uuid.UUID]struct{}, len(msgs)), subs: map[chan Message]struct{}{}}
	for _, m := range msgs {
		c.ids[m.ID] = struct{}{}
		c.clock = max(c.clock, m.Lamport)
	}
	return c, nil
}

// Name implements community.Community.
func (c *Chat) Name() string { return c.cfg.Name }

// Messages implements community.Community.
func (c *Chat) Messages() []community.MessageSpec {
	return []community.MessageSpec{
		{Type: typeMessage, Name: "message", MaxSize: maxMessageBody, Handle: c.onMessage},
		{Type: typeSync, Name: "sync", MaxSize: maxSyncBody, Handle: c.onSync},
	}
}

// Start implements community.Community: it starts the sync loop.
func (c *Chat) Start(ctx context.Context, env community.Env) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return community.ErrClosed
	}
	if c.env != nil {
		return errors.New("chat: started twice")
	}
	c.env = env
	ctx, c.cancel = context.WithCancel(ctx)
	c.wg.Add(1)
	go c.syncLoop(ctx)
	return nil
}

// Close implements community.Community: it stops the sync loop, ends every
// subscription and closes the history file. It is safe to call twice.
func (c *Chat) Close() error {
	var err error
	c.close.Do(func() {
		c.mu.Lock()
		c.closed = true
		cancel := c.cancel
		for ch := range c.subs {
			close(ch)
		}
		clear(c.subs)
		c.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		c.wg.Wait()
		err = c.store.close()
	})
	return err
}

// Post adds a message with text to the history (durably, before it
// returns) and pushes it to every member. A bad text is an error wrapping
// ErrBadText.
func (c *Chat) Post(text string) (Message, error) {
	if err := checkText(text); err != nil {
		return Message{}, err
	}
	c.mu.Lock()
	env := c.env
	switch {
	case c.closed:
		c.mu.Unlock()
		return Message{}, community.ErrClosed
	case env == nil:
		c.mu.Unlock()
		return Message{}, ErrNotStarted
	case c.clock >= MaxLamport:
		c.mu.Unlock()
		return Message{}, errors.New("chat: Lamport clock exhausted")
	}
	m := Message{ID: uuid.New(), Author: uuid.UUID(env.Self()), Lamport: c.clock + 1, Text: text}
	_, err := c.addLocked(m)
	if err == nil {
		c.stats.Posted++
	}
	c.mu.Unlock()
	if err != nil {
		return Message{}, err
	}
	body := m.encode()
	for _, p := range env.Members() {
		if env.Send(p.ID, typeMessage, body) == nil {
			c.mu.Lock()
			c.stats.Pushed++
			c.mu.Unlock()
		}
	}
	return m, nil
}

// History returns every message, in order.
func (c *Chat) History() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// Subscribe returns a channel of the messages added from now on (posted or
// received, in the order they arrive, which History may later interleave
// with older ones) and a function that ends the subscription. A subscriber
// that falls more than 64 messages behind is cut off: its channel closes,
// and it should read History again. The channel also closes at Close.
func (c *Chat) Subscribe() (<-chan Message, func()) {
	ch := make(chan Message, subscriberBuffer)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		close(ch)
		return ch, func() {}
	}
	c.subs[ch] = struct{}{}
	return ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.subs[ch]; ok {
			delete(c.subs, ch)
			close(ch)
		}
	}
}

// Stats returns the counters.
func (c *Chat) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Messages = len(c.msgs)
	return s
}

// addLocked stores m unless its ID is known, and reports whether it was
// new. c.mu must be held: one writer keeps the file, the slice and the
// subscribers in step.
func (c *Chat) addLocked(m Message) (bool, error) {
	if _, ok := c.ids[m.ID]; ok {
		return false, nil
	}
	if err := c.store.add(&m); err != nil {
		return false, err
	}
	c.ids[m.ID] = struct{}{}
	c.clock = max(c.clock, m.Lamport)
	i, _ := slices.BinarySearchFunc(c.msgs, &m, func(a Message, b *Message) int {
		if a.less(b) {
			return -1
		}
		return 1
	})
	c.msgs = slices.Insert(c.msgs, i, m)
	for ch := range c.subs {
		select {
		case ch <- m:
		default:
			delete(c.subs, ch) // too slow: cut off, it will reload History
			close(ch)
		}
	}
	return true, nil
}

// onMessage handles a message pushed by its author or sent by a sync.
func (c *Chat) onMessage(_ context.Context, _ community.Peer, body []byte) error {
	m, err := decodeMessage(body)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	isNew, err := c.addLocked(m)
	if isNew {
		c.stats.Received++
	} else if err == nil {
		c.stats.Duplicates++
	}
	return err
}

// onSync answers a sync request with the messages the requester lacks.
func (c *Chat) onSync(_ context.Context, from community.Peer, body []byte) error {
	req, err := decodeSyncRequest(body)
	if err != nil {
		return err
	}
	c.mu.Lock()
	miss := req.missing(c.msgs, c.cfg.MaxPerRound)
	env := c.env
	c.mu.Unlock()
	sent := 0
	for i := range miss {
		if env.Send(from.ID, typeMessage, miss[i].encode()) == nil {
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
	c.mu.Lock()
	body := newSyncRequest(c.msgs).encode()
	c.mu.Unlock()
	if c.env.Send(to.ID, typeSync, body) == nil {
		c.mu.Lock()
		c.stats.SyncsSent++
		c.mu.Unlock()
	}
}
