// Package community is the API a community author sees. A community (a chat
// room, a game, your own) is a set of message types that ride on the walkie
// overlay: the node walks the network once for all communities, tells each
// community which peers are its members, dispatches each received message to
// its handler (after checking the type is registered and the body fits the
// declared maximum), and lends each community an Env to send with.
//
// The same Community value runs in-process (a node's Config.Communities) or
// out-of-process as a go-plugin binary (plugins/sdk.Serve).
//
// Bodies are the community's own bytes. Decode reads a msgpack body into a
// Go value with every declared length checked against the body first, and
// Typed makes a Handler of a function that takes the decoded value.
package community

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net/netip"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/proto"
)

// ID identifies a community on the wire: the UUIDv5 of its name in the walkie
// namespace, so that every node derives the same ID from the same name.
type ID = proto.ID

// Type is a message type within one community. Each community owns all 256
// types; the core's own messages live in a reserved community.
type Type = proto.Type

// IDFromName derives a community's ID from its name.
func IDFromName(name string) ID {
	return ID(uuid.NewSHA1(uuid.UUID(proto.Namespace()), []byte(name)))
}

// IDFromKey derives a peer ID from a node's Ed25519 public key: the UUIDv5
// (SHA-1) of the raw 32-byte key in the walkie namespace, the one community
// IDs use. So a peer ID is self-certifying: whoever proves the key holds
// the ID, and nobody else can.
func IDFromKey(pub ed25519.PublicKey) ID {
	return ID(uuid.NewSHA1(uuid.UUID(proto.Namespace()), pub))
}

// ValidName reports whether name is a valid community name: 1 to 32 of
// [a-z0-9-], starting with a letter or digit, so that it is safe as a
// metrics label and a file name.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > 32 || name[0] == '-' {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Peer is a member of a community as the overlay knows it.
type Peer struct {
	ID   proto.ID       // its peer ID
	Addr netip.AddrPort // where the overlay reaches it
	// Key is the peer's Ed25519 public key, once it proved it; nil for a
	// peer of an earlier release, which has none.
	Key ed25519.PublicKey
	// Authenticated reports that the peer proved Key in a handshake with
	// this node: ID is IDFromKey(Key), nobody else can hold it, and what
	// this node exchanges with the peer is sealed.
	Authenticated bool
}

// Handler handles one received message. body is only valid during the call
// (copy what you keep); Typed makes a Handler that gets a decoded value
// instead. An error is logged and counted as a dropped message; it never
// reaches the sender.
type Handler func(ctx context.Context, from Peer, body []byte) error

// MessageSpec declares one message type of a community.
type MessageSpec struct {
	Type    Type    // the type byte on the wire
	Name    string  // for logs and metrics
	MaxSize int     // largest body accepted, in bytes; larger ones are dropped before Handle runs
	Handle  Handler // called on the community's own goroutine, one message at a time
}

// Community is what a community author implements.
type Community interface {
	// Name is the community's name (see ValidName); its ID derives from it.
	Name() string
	// Messages lists the message types the community accepts.
	Messages() []MessageSpec
	// Start is called once before any handler runs. ctx ends at Close.
	Start(ctx context.Context, env Env) error
	// Close releases the community's resources. No handler runs after it.
	Close() error
}

// Env is what the node lends a community.
type Env interface {
	// Send queues one message of this community to a member and returns at
	// once: the node's worker sends it with its own datagrams, in one
	// batched write. It never waits, for the network or for the worker; it
	// fails with ErrUnknownPeer, ErrTooLarge, ErrBusy (the community's
	// send queue is full: the message was not sent, and is counted as
	// dropped) or ErrClosed. body is copied: the caller may reuse it.
	Send(to proto.ID, typ Type, body []byte) error
	// Members returns the verified peers that announce this community.
	Members() []Peer
	// Self returns our own peer ID.
	Self() proto.ID
	// WAN returns our public address as the WAN vote decided it (invalid
	// while unknown).
	WAN() netip.AddrPort
	// Logger returns a logger tagged with the community's name.
	Logger() *slog.Logger
	// Key returns this node's Ed25519 public key (Self is IDFromKey of
	// it); nil for a node without one.
	Key() ed25519.PublicKey
	// Sign signs msg with this node's Ed25519 key; ed25519.Verify with
	// Key() checks it. Start msg with a domain-separation tag of your own
	// (the community's name and what is signed), so that nothing signed for
	// one purpose can be replayed as another. Nil for a node without a key.
	Sign(msg []byte) []byte
}

// Policy is what a community asks of the node beyond its message types.
// The zero Policy asks for nothing.
type Policy struct {
	// Authenticated admits only peers that proved their key as members:
	// Members lists only them, Send refuses others (ErrUnknownPeer), and
	// messages from others are dropped before a handler runs (counted as
	// unauthenticated). A community that trusts who sent what (chat, a
	// game) sets it.
	Authenticated bool
}

// PolicyHolder is implemented by a community whose Policy is not the zero
// one. The node asks once, before Start.
type PolicyHolder interface {
	Policy() Policy
}

// Errors an Env returns.
var (
	ErrUnknownPeer = errors.New("walkie: not a member of this community")
	ErrTooLarge    = errors.New("walkie: message larger than a datagram allows")
	ErrClosed      = errors.New("walkie: community closed")
	// ErrBusy says the community's send queue is full: the node sends
	// slower than the community asks. The message is dropped, as UDP
	// would drop it; a community that must not lose it retries later.
	ErrBusy = errors.New("walkie: send queue full")
)
