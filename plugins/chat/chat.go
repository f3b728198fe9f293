// Package chat is a group chat among the members of a walkie community (a
// chat room). Every message carries its author's Ed25519 key, a Lamport
// time, a bounded text and the author's signature over them and the room;
// its author (the key's peer ID) and its ID (a hash of what it signs)
// derive from those, so a member can neither post as another nor relabel a
// copy. Histories are deduplicated by ID and ordered by (Lamport time,
// author, ID), so every node that holds the same messages shows them in
// the same order.
//
// Delivery: a posted message is pushed at once to every member the node
// knows; what that misses (loss, a node offline, a member not known to the
// author) is repaired by anti-entropy sync (see sync.go); and the history
// is kept in a bbolt file in Config.Dir, so it survives a restart or a
// kill -9. It is read from the file on demand, never held in memory.
//
// Every message is verified when it arrives, pushed or in a sync answer,
// whichever member relays it; one whose signature does not verify is
// dropped and counted (Stats.BadSignature), never stored. Only members
// that proved their key take part (Policy). A member cannot lock a room or
// flood a node either (docs/security.md, "Chat limits"): a Lamport time
// too far ahead of the clock reference is refused, members and authors
// have rates, authors have quotas in the store, and retention bounds the
// history by count, bytes and age.
//
// # Versions
//
// The wire carries the protocol version (Version). Version 1, the release
// before, had unsigned messages; its types are refused and counted
// (Stats.Version1), and a version 1 node drops ours as unknown types.
// Unsigned messages stored before the upgrade stay readable, marked
// unsigned (Message.Signed), and are never offered in sync.
package chat

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/httpjson"
)

// Errors of Post.
var (
	// ErrNotStarted is returned by Post before the node started the community.
	ErrNotStarted = errors.New("chat: not started")
	// ErrClockExhausted says the clock reached MaxLamport. The clock
	// limits keep any room far from it.
	ErrClockExhausted = errors.New("chat: Lamport clock exhausted")
	// ErrNoKey says the node has no key to sign with (Env.Sign gives
	// nothing): it can read the room but not post.
	ErrNoKey = errors.New("chat: this node has no key to sign messages with")
)

// Stats counts what a Chat did, for tests and reports. Every message a
// member sends that is not stored is counted once, under the first rule
// that refused it.
type Stats struct {
	Messages  int    // in the history
	Bytes     int64  // their encoded bytes, what MaxBytes bounds
	Clock     uint64 // the largest Lamport time stored or posted
	Reference uint64 // the clock reference: Clock, or what two members vouch for if more
	Floor     uint64 // retention deleted every Lamport time up to this one, and refuses them

	Posted      uint64 // by this node
	Pushed      uint64 // datagrams pushing our posts to members
	SyncsSent   uint64 // sync requests sent
	SyncsServed uint64 // sync requests answered with at least one message
	SyncSent    uint64 // messages sent in answer to sync requests
	Received    uint64 // new messages received and stored (push or sync)
	Duplicates  uint64 // messages received that we already held

	BadSignature  uint64 // signature does not verify (a forged author, a relabelled copy): never stored
	Version1      uint64 // bodies of chat protocol version 1 (unsigned), refused
	OtherVersion  uint64 // bodies of our types of another version than Version, refused
	PeerLimited   uint64 // over the sending member's rate
	Ahead         uint64 // Lamport time too far ahead of the reference, or the jump budget spent
	AuthorLimited uint64 // over the author's rate
	TooOld        uint64 // at or below the retention floor, or deleted by retention at once
	OverQuota     uint64 // its author's oldest beyond the author's quota, deleted at once
	SyncLimited   uint64 // sync requests over the member's rate, not answered
	Jumps         uint64 // messages admitted on members' vouching, paid from the jump budget

	Pruned  uint64 // messages deleted by retention
	Evicted uint64 // messages deleted for their author's quota
}

// Chat is the chat community. It is safe for concurrent use.
type Chat struct {
	cfg   Config
	cid   community.ID // what every signature binds a message to
	store *store

	mu     sync.Mutex
	env    community.Env // nil until Start
	clock  uint64        // the largest Lamport time stored or posted
	gate   *gate
	subs   httpjson.Subscribers[Message] // Subscribe's, under mu
	stats  Stats
	closed bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
	close  sync.Once
}

// New opens the history in cfg.Dir (migrating a file of an older version:
// every message is kept, and retention applies from the next write on)
// and returns the community, ready for core.Config.Communities. The caller
// must Close it (the overlay does, when it closes).
func New(cfg Config) (*Chat, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	st, err := openStore(cfg.Dir, cfg)
	if err != nil {
		return nil, err
	}
	md, err := st.meta()
	if err != nil {
		st.close()
		return nil, err
	}
	b := budget{left: cfg.JumpBudget}
	if md.jumpSet {
		b = budget{left: md.jumpLeft, at: time.Unix(0, int64(md.jumpAt))}
	}
	return &Chat{cfg: cfg, cid: st.cid, store: st, clock: md.clock, gate: newGate(cfg, b)}, nil
}

// Name implements community.Community.
func (c *Chat) Name() string { return c.cfg.Name }

// Policy implements community.PolicyHolder: only members that proved their
// key. The limits count per member by peer ID, which is a member's own
// only once it proved the key.
func (c *Chat) Policy() community.Policy { return community.Policy{Authenticated: true} }

// Messages implements community.Community.
func (c *Chat) Messages() []community.MessageSpec {
	return []community.MessageSpec{
		{Type: typeMessage, Name: "message", MaxSize: maxMessageBody, Handle: c.onMessage},
		{Type: typeSync, Name: "sync", MaxSize: maxSyncBody, Handle: c.onSync},
		// Declared so that a version 1 node's bodies reach us, to be
		// counted by their version, rather than dropped as unknown types.
		{Type: typeMessageV1, Name: "message-v1", MaxSize: maxMessageBodyV1, Handle: c.onVersion1(typeMessageV1)},
		{Type: typeSyncV1, Name: "sync-v1", MaxSize: maxSyncBodyV1, Handle: c.onVersion1(typeSyncV1)},
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
		c.subs.Close()
		c.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		c.wg.Wait()
		err = c.store.close()
	})
	return err
}

// Post signs a message with text (Env.Sign), adds it to the history
// (durably, before it returns) and pushes it to every member. A bad text
// is an error wrapping ErrBadText; a node without a key gets ErrNoKey. Own
// posts have no rate limit: the quotas and retention apply to them as to
// any.
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
		return Message{}, ErrClockExhausted
	}
	s, err := sign(env, c.cid, c.clock+1, text)
	if err != nil {
		c.mu.Unlock()
		return Message{}, err
	}
	m, _ := s.message(c.cid)
	body := m.encode()
	a, err := c.addLocked(&m, body, nil)
	if err == nil && a.outcome != stored {
		// Only a MaxBytes or MaxAuthorBytes below one message's size does it.
		err = fmt.Errorf("chat: a message of %d bytes is more than retention or the author's quota keeps", len(body))
	}
	if err == nil {
		c.stats.Posted++
	}
	c.mu.Unlock()
	if err != nil {
		return Message{}, err
	}
	for _, p := range env.Members() {
		if env.Send(p.ID, typeMessage, body) == nil {
			c.mu.Lock()
			c.stats.Pushed++
			c.mu.Unlock()
		}
	}
	return m, nil
}

// sign makes the signed message of text at Lamport time l in community
// cid, signed by env's key. The signature is checked before it is used: a
// key that does not match it would make every other node drop our posts.
func sign(env community.Env, cid community.ID, l uint64, text string) (signedMessage, error) {
	pub := env.Key()
	if len(pub) != ed25519.PublicKeySize {
		return signedMessage{}, ErrNoKey
	}
	s := signedMessage{Key: PublicKey(pub), Lamport: l, Text: text}
	sb := signedBytes(cid, s.Key, l, text)
	sig := env.Sign(sb)
	if sig == nil {
		return signedMessage{}, ErrNoKey
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, sb, sig) {
		return signedMessage{}, errors.New("chat: the node's signature does not verify with its key")
	}
	s.Sig = Signature(sig)
	return s, nil
}

// History returns every message, in order, read from the file. It is
// bounded by retention (MaxMessages, MaxBytes), but that may be megabytes:
// an app should read Page by Page.
func (c *Chat) History() []Message {
	msgs, _ := c.store.all()
	return msgs
}

// ErrBadCursor says a cursor given to Page is not one that Page returned.
var ErrBadCursor = errors.New("chat: bad cursor")

// Page returns up to limit messages of the history, in order: the newest
// if before is "", else those just before the cursor before. next is the
// cursor of the page before this one, "" if there is no older message. A
// cursor is opaque text (URL-safe); it stays valid while messages come and
// go.
func (c *Chat) Page(before string, limit int) (msgs []Message, next string, err error) {
	var key []byte
	if before != "" {
		key, err = base64.RawURLEncoding.DecodeString(before)
		if err != nil || len(key) != keyLen {
			return nil, "", ErrBadCursor
		}
	}
	msgs, more, err := c.store.page(key, max(limit, 1))
	if err != nil {
		return nil, "", err
	}
	if more && len(msgs) > 0 {
		next = base64.RawURLEncoding.EncodeToString(keyOf(&msgs[0]))
	}
	return msgs, next, nil
}

// Subscribe returns a channel of the messages added from now on (posted or
// received, in the order they arrive, which History may later interleave
// with older ones) and a function that ends the subscription. A subscriber
// that falls more than 64 messages behind is cut off: its channel closes,
// and it should read History again. The channel also closes at Close.
func (c *Chat) Subscribe() (<-chan Message, func()) {
	return c.subs.Subscribe(&c.mu)
}

// Stats returns the counters.
func (c *Chat) Stats() Stats {
	md, _ := c.store.meta()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Messages, s.Bytes, s.Floor = int(md.count), int64(md.bytes), md.floor
	s.Clock, s.Reference = c.clock, c.gate.reference(c.clock, time.Now())
	return s
}
