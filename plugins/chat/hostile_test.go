package chat

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/proto"
)

// hostile is a member of a chat room that speaks the wire format and none
// of the rules: the tests make it send what they like. It keeps the
// messages it receives, and answers a sync request with answer's bodies.
type hostile struct {
	env    community.Env
	mu     sync.Mutex
	answer func(from proto.ID) [][]byte // nil: no answers
	got    [][]byte                     // the message bodies received
}

func (h *hostile) Name() string { return DefaultName }

func (h *hostile) Messages() []community.MessageSpec {
	return []community.MessageSpec{
		{Type: typeMessage, Name: "message", MaxSize: maxMessageBody, Handle: h.onMessage},
		{Type: typeSync, Name: "sync", MaxSize: maxSyncBody, Handle: h.onSync},
	}
}

func (h *hostile) onMessage(_ context.Context, _ community.Peer, body []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, bytes.Clone(body))
	return nil
}

// received returns the message bodies received so far.
func (h *hostile) received() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.got...)
}

func (h *hostile) Start(_ context.Context, env community.Env) error { h.env = env; return nil }
func (h *hostile) Close() error                                     { return nil }

func (h *hostile) onSync(_ context.Context, from community.Peer, _ []byte) error {
	h.mu.Lock()
	answer := h.answer
	h.mu.Unlock()
	if answer == nil {
		return nil
	}
	for _, b := range answer(from.ID) {
		h.env.Send(from.ID, typeMessage, b)
	}
	return nil
}

// setAnswer sets what the member answers sync requests with.
func (h *hostile) setAnswer(f func(from proto.ID) [][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answer = f
}

// push sends body to member to, and fails the test if it cannot.
func (h *hostile) push(t *testing.T, to proto.ID, body []byte) {
	t.Helper()
	if err := h.env.Send(to, typeMessage, body); err != nil {
		t.Fatalf("hostile push: %v", err)
	}
}

// mixedRoom starts a room on memnet in which node i is hostile when
// hostileAt(i) says so and an honest Chat with cfg otherwise (Dir set per
// node). Honest nodes' current Chats are in chats, hostile ones in bad.
func mixedRoom(t *testing.T, opts coretest.Options, cfg Config, hostileAt func(i int) bool) (*coretest.Network, []*Chat, []*hostile) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	chats := make([]*Chat, opts.Nodes)
	bad := make([]*hostile, opts.Nodes)
	net := coretest.Start(t, opts, func(i int) []community.Community {
		if hostileAt(i) {
			bad[i] = &hostile{}
			return []community.Community{bad[i]}
		}
		c := cfg
		c.Dir = opts.NodeDir(i)
		if c.SyncInterval == 0 {
			c.SyncInterval = time.Second
		}
		ch, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		chats[i] = ch
		return []community.Community{ch}
	})
	return net, chats, bad
}

// signed is a message of the member's own at Lamport time l, signed with
// its node's key: as valid as an honest post, whatever its time.
func (h *hostile) signed(l uint64, text string) Message {
	cid := community.IDFromName(DefaultName)
	s := signedMessage{Key: PublicKey(h.env.Key()), Lamport: l, Text: text}
	s.Sig = Signature(h.env.Sign(signedBytes(cid, s.Key, l, text)))
	m, _ := s.message(cid)
	return m
}

// testKey returns test key number i (its seed is 32 bytes of i).
func testKey(i byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{i}, ed25519.SeedSize))
}

// signedBy is the message of text at Lamport time l in the default room,
// signed with priv.
func signedBy(priv ed25519.PrivateKey, l uint64, text string) Message {
	return signedIn(community.IDFromName(DefaultName), priv, l, text)
}

// signedIn is the message of text at Lamport time l in community cid,
// signed with priv.
func signedIn(cid community.ID, priv ed25519.PrivateKey, l uint64, text string) Message {
	s := signedMessage{Key: PublicKey(priv.Public().(ed25519.PublicKey)), Lamport: l, Text: text}
	s.Sig = Signature(ed25519.Sign(priv, signedBytes(cid, s.Key, l, text)))
	m, _ := s.message(cid)
	return m
}

// unsigned is a version 1 message by author, as files of that version hold
// them.
func unsigned(author uuid.UUID, l uint64, text string) Message {
	return Message{ID: uuid.New(), Author: author, Lamport: l, Text: text}
}

// holds reports whether c's history holds a message with id.
func holds(c *Chat, id uuid.UUID) bool {
	for _, m := range c.History() {
		if m.ID == id {
			return true
		}
	}
	return false
}

// claim sends member to a sync request whose range starts at l: it shows a
// clock of at least l (see syncRequest.announced).
func (h *hostile) claim(t *testing.T, to proto.ID, l uint64) {
	t.Helper()
	r := syncRequest{Lo: l, Hi: ^uint64(0), Bits: make([]byte, minFilterBytes)}
	if err := h.env.Send(to, typeSync, r.encode()); err != nil {
		t.Fatalf("hostile sync request: %v", err)
	}
}
