package chat

import (
	"errors"
	"time"

	"github.com/walkie-p2p/walkie/community"
)

// Defaults of Config. docs/security.md ("Chat limits") says why each is
// what it is.
const (
	DefaultName         = "chat"
	DefaultSyncInterval = 2 * time.Second
	// DefaultMaxSyncInterval: an idle room syncs about twice a minute.
	DefaultMaxSyncInterval = 32 * time.Second
	DefaultMaxPerRound     = 32

	// Retention: a phone keeps at most this much history.
	DefaultMaxMessages = 10_000
	DefaultMaxBytes    = 4 << 20
	DefaultMaxAge      = 30 * 24 * time.Hour

	// One author's share of the store.
	DefaultMaxAuthorMessages = 1_000
	DefaultMaxAuthorBytes    = 512 << 10

	// Rates, in messages a second with a burst.
	DefaultAuthorRate  = 2.0
	DefaultAuthorBurst = 32
	DefaultPeerRate    = 2.0
	DefaultPeerBurst   = 32
	DefaultSyncRate    = 1.0
	DefaultSyncBurst   = 4

	// The clock.
	DefaultMaxAhead   = 1 << 10
	DefaultJumpBudget = 1 << 32
	// JumpPeriod is how long the jump budget takes to refill.
	JumpPeriod = 30 * 24 * time.Hour
)

// Config configures a Chat. Every field but Dir has a default, taken when
// the field is zero (or negative).
type Config struct {
	// Dir is where the history is kept (the file chat.db). Required.
	Dir string
	// Name is the community's name, hence the room. Default "chat".
	Name string
	// SyncInterval is how often the node sends a sync request to a random
	// member (±10%) while the room is active. Default 2s.
	SyncInterval time.Duration
	// MaxSyncInterval bounds the interval of an idle room: every sync
	// round that finds no new message and the same members doubles the
	// interval up to it; any news brings it back to SyncInterval. Pushes
	// carry new messages at once either way: sync repairs what was lost.
	// Default 32s (at least SyncInterval).
	MaxSyncInterval time.Duration
	// MaxPerRound bounds the messages sent in answer to one sync request,
	// and the answers accepted to one of ours beyond PeerRate. Default 32.
	MaxPerRound int

	// MaxMessages bounds the history, in messages: past it the oldest (in
	// history order) are deleted. Default 10,000.
	MaxMessages int
	// MaxBytes bounds the history, in bytes of encoded messages (the file
	// is larger: indexes and B+tree pages). Default 4 MiB.
	MaxBytes int64
	// MaxAge deletes a message once this node's clock passed its Lamport
	// time that long ago (messages carry no wall-clock time). Default 30
	// days.
	MaxAge time.Duration

	// MaxAuthorMessages bounds one author's messages in the store; past it
	// the author's oldest are deleted. Default 1,000.
	MaxAuthorMessages int
	// MaxAuthorBytes bounds one author's encoded bytes in the store, in the
	// same way. Default 512 KiB.
	MaxAuthorBytes int64

	// AuthorRate bounds the new messages accepted from one author, in
	// messages a second, with bursts of AuthorBurst. Own posts are not
	// limited. Defaults 2 and 32.
	AuthorRate  float64
	AuthorBurst int
	// PeerRate bounds the messages accepted from one member beyond the
	// answers to our own sync requests, in messages a second, with bursts
	// of PeerBurst. Defaults 2 and 32.
	PeerRate  float64
	PeerBurst int
	// SyncRate bounds the sync requests of one member that are answered, in
	// requests a second, with bursts of SyncBurst. Defaults 1 and 4.
	SyncRate  float64
	SyncBurst int

	// MaxAhead is how far ahead of the clock reference a message's Lamport
	// time may be, in Lamport times. Default 1,024.
	MaxAhead uint64
	// JumpBudget bounds how far messages that members vouch for may move
	// the clock beyond MaxAhead, in Lamport times per JumpPeriod (30 days).
	// Default 2^32.
	JumpBudget uint64
}

// withDefaults checks c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("chat: Config.Dir is required")
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	if !community.ValidName(c.Name) {
		return c, errors.New("chat: invalid community name " + c.Name)
	}
	def(&c.SyncInterval, DefaultSyncInterval)
	def(&c.MaxSyncInterval, DefaultMaxSyncInterval)
	c.MaxSyncInterval = max(c.MaxSyncInterval, c.SyncInterval)
	def(&c.MaxPerRound, DefaultMaxPerRound)
	def(&c.MaxMessages, DefaultMaxMessages)
	def(&c.MaxBytes, DefaultMaxBytes)
	def(&c.MaxAge, DefaultMaxAge)
	def(&c.MaxAuthorMessages, DefaultMaxAuthorMessages)
	def(&c.MaxAuthorBytes, DefaultMaxAuthorBytes)
	def(&c.AuthorRate, DefaultAuthorRate)
	def(&c.AuthorBurst, DefaultAuthorBurst)
	def(&c.PeerRate, DefaultPeerRate)
	def(&c.PeerBurst, DefaultPeerBurst)
	def(&c.SyncRate, DefaultSyncRate)
	def(&c.SyncBurst, DefaultSyncBurst)
	def(&c.MaxAhead, DefaultMaxAhead)
	def(&c.JumpBudget, DefaultJumpBudget)
	// Sums with Lamport times must not wrap.
	c.MaxAhead = min(c.MaxAhead, MaxLamport)
	c.JumpBudget = min(c.JumpBudget, MaxLamport)
	return c, nil
}

// def sets *v to d when it is zero or negative.
func def[T int | int64 | uint64 | float64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}
