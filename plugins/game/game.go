// Package game is rock-paper-scissors between two members of the "game"
// community, played so that the peer who answers second cannot cheat.
//
// # Protocol
//
// The challenger sends an invite. Each player then commits to a move by
// sending a hash of it with a 32-byte random nonce, the game ID and its own
// peer ID (Commitment; a commit on an invited game accepts it), and reveals
// the move and the nonce only once it holds both commitments. Since nobody
// reveals before holding the other's commitment, the second player learns
// nothing it could answer with, and a reveal that does not hash to the
// commitment, with the revealer's peer ID, loses the round. A commitment
// equal to ours is a copy: the game is void and we reveal nothing.
//
// The overlay is UDP, so a player that waits on its opponent resends what it
// has sent (invite, commit, reveal) every Config.Retry; the receiver rejects
// the duplicates, which cost nothing. A finished player answers a resent
// reveal with its own reveal marked done, and a done reveal is never
// answered, so repairs cannot ping-pong.
//
// # Timeouts
//
// A game that makes no progress for Config.Timeout ends. If both players
// committed and we revealed but the opponent did not, the opponent forfeits
// (we win): withholding a losing reveal must not pay. Otherwise the game is
// void and counts for nobody: before both commitments nobody has revealed
// anything, so abandoning costs the other player nothing.
//
// # Rejections
//
// A message that breaks the rules is rejected with a reason (one of the
// Reason constants): the handler returns a *RejectError (the node logs and
// counts it), Rejected counts it, and where the sender can act on it the
// game sends a reject message back. A reject is never answered, and never
// scores: it voids the open game it names. One that says our reveal did not
// match is counted as ReasonDisputed, since our reveal is ours to check: a
// loss is never recorded on the opponent's word.
//
// # Versions
//
// Bodies carry the protocol version (Version), and a body of another
// version is refused by it and counted as ReasonVersion, never read as
// ours. Version 1 bodies had no version, so version 2 moved to new types:
// a version 1 node drops ours as unknown types, and we answer its messages
// with a version 1 reject that voids its game.
//
// # Members
//
// Only peers that proved their key are members (Policy): a commitment binds
// the player's peer ID, which is the player's own only once it derives
// from a proven key. A peer of the release before keys is no member: it
// cannot be challenged, and its messages never reach the game.
//
// # API
//
// Challenge and Play drive a game; Games lists the open and recent ones,
// Scores the wins, losses and draws per opponent (void games count for
// nobody), and Subscribe delivers every change as it happens (a challenge,
// a move, a result). API serves them over HTTP, with a stream of events;
// the node mounts it at /api/game.
//
// # Scores on disk
//
// A community made with Load keeps its score table in Config.Dir/scores.json
// (the node's DATA/game/scores.json), written atomically after every game
// that scores, and reads it back at the next Load. New keeps it in memory
// only.
package game

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/httpjson"
	"github.com/walkie-p2p/walkie/proto"
)

// Config configures a game community. The zero value is usable.
type Config struct {
	Name    string        // community name; default "game"
	Timeout time.Duration // a game without progress for this long ends (see the package comment); default 30 s
	Retry   time.Duration // resend interval while waiting on the opponent; default 2 s
	Rand    io.Reader     // nonces and game IDs; default crypto/rand
	// AutoPlay answers every invite at once with a random move: a bot to
	// play against (gameplugin -bot), where nobody calls Play.
	AutoPlay bool
	// Dir is the directory of the score table (ScoresFile), for Load; ""
	// with New, which keeps the table in memory.
	Dir string
}

// Limits on what a peer can make us hold.
const (
	maxOpen       = 64  // open games in total
	maxOpenByPeer = 4   // open games with one peer
	maxFinished   = 256 // finished games kept for Games and for late repairs
)

// Errors of the API.
var (
	ErrNoGame      = errors.New("game: no such game")
	ErrGameOver    = errors.New("game: the game is over")
	ErrPlayed      = errors.New("game: you already played in this game")
	ErrTooMany     = errors.New("game: too many open games")
	ErrNotStarted  = errors.New("game: community not started")
	ErrNotAMember  = errors.New("game: that peer is not a member of the game community")
	ErrChallengeMe = errors.New("game: you cannot challenge yourself")
)

// Community is the game community. Create it with New; its methods are safe
// for concurrent use.
type Community struct {
	cfg Config

	mu       sync.Mutex
	env      community.Env
	log      *slog.Logger
	games    map[GameID]*game
	finished []GameID // oldest first, for eviction
	scores   map[proto.ID]*Score
	rejected map[string]int
	subs     httpjson.Subscribers[Event] // Subscribe's, under mu
	closed   bool
	cancel   context.CancelFunc
	done     chan struct{}

	// With a Dir: the score table changed since the last save (one
	// pending signal), and the last save failed. Only the loop, and
	// Close after it, use unsaved.
	dirty   chan struct{}
	unsaved bool
}

// New returns a game community that keeps its scores in memory only; Load
// keeps them in a file. cfg.Dir must be empty: New panics otherwise, since
// a table that was meant to be kept would be lost.
func New(cfg Config) *Community {
	if cfg.Dir != "" {
		panic("game: New with Config.Dir; use Load, which reads the score table")
	}
	return newCommunity(cfg)
}

// newCommunity returns a community with cfg's defaults and empty tables.
func newCommunity(cfg Config) *Community {
	if cfg.Name == "" {
		cfg.Name = "game"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 2 * time.Second
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Community{
		cfg:      cfg,
		games:    make(map[GameID]*game),
		scores:   make(map[proto.ID]*Score),
		rejected: make(map[string]int),
	}
}

// Name implements community.Community.
func (c *Community) Name() string { return c.cfg.Name }

// Policy implements community.PolicyHolder: only members that proved their
// key play. A commitment binds the player's peer ID, and only a key makes
// that ID the player's own: an unauthenticated peer's ID is a claim.
func (c *Community) Policy() community.Policy { return community.Policy{Authenticated: true} }

// Messages implements community.Community.
func (c *Community) Messages() []community.MessageSpec {
	spec := func(t community.Type, name string) community.MessageSpec {
		return community.MessageSpec{Type: t, Name: name, MaxSize: MaxBody,
			Handle: func(_ context.Context, from community.Peer, b []byte) error { return c.handle(from.ID, t, b) }}
	}
	return []community.MessageSpec{
		spec(TypeInvite, "invite"), spec(TypeCommit, "commit"),
		spec(TypeReveal, "reveal"), spec(TypeReject, "reject"),
		// Declared so that a version 1 peer's bodies reach us, to be
		// refused by their version and answered, rather than dropped as
		// unknown types without a word to either side.
		spec(TypeInviteV1, "invite-v1"), spec(TypeCommitV1, "commit-v1"),
		spec(TypeRevealV1, "reveal-v1"), spec(TypeRejectV1, "reject-v1"),
	}
}

// Start implements community.Community: it starts the loop that resends
// and times games out.
func (c *Community) Start(ctx context.Context, env community.Env) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.env != nil {
		return errors.New("game: started twice")
	}
	c.env, c.log = env, env.Logger()
	ctx, c.cancel = context.WithCancel(ctx)
	c.done = make(chan struct{})
	go c.loop(ctx)
	return nil
}

// Close implements community.Community: it ends every subscription and,
// with a Dir, saves the score table if a save is pending.
func (c *Community) Close() error {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.closed = true
	c.subs.Close()
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if c.dirty != nil {
		select {
		case <-c.dirty:
			c.saveScores()
		default:
			if c.unsaved {
				c.saveScores()
			}
		}
		if c.unsaved {
			return fmt.Errorf("game: the score table %s could not be saved: the last games' scores are not on disk", filepath.Join(c.cfg.Dir, ScoresFile))
		}
	}
	return nil
}

// Challenge invites peer to a game and returns its ID. Play a move in it
// with Play.
func (c *Community) Challenge(peer proto.ID) (GameID, error) {
	c.mu.Lock()
	var out outbox
	defer func() { c.mu.Unlock(); c.flush(out) }()
	if c.env == nil {
		return GameID{}, ErrNotStarted
	}
	if peer == c.env.Self() {
		return GameID{}, ErrChallengeMe
	}
	if !c.isMember(peer) {
		return GameID{}, ErrNotAMember
	}
	if !c.roomFor(peer) {
		return GameID{}, ErrTooMany
	}
	var id GameID
	if _, err := io.ReadFull(c.cfg.Rand, id[:]); err != nil {
		return GameID{}, err
	}
	now := time.Now()
	g := &game{id: id, peer: peer, challenger: true, started: now, deadline: now.Add(c.cfg.Timeout)}
	c.games[id] = g
	c.publish(EventChallenge, g)
	out.add(peer, TypeInvite, &Message{Game: id})
	return id, nil
}

// Play plays move m in game id: it commits to the move now and reveals it
// once the opponent has committed too. Playing in a game we were invited to
// accepts the invitation.
func (c *Community) Play(id GameID, m Move) error {
	if !m.Valid() {
		return errors.New("game: want rock, paper or scissors")
	}
	c.mu.Lock()
	var out outbox
	defer func() { c.mu.Unlock(); c.flush(out) }()
	g, ok := c.games[id]
	switch {
	case !ok:
		return ErrNoGame
	case g.result != Open:
		return ErrGameOver
	case g.committed:
		return ErrPlayed
	}
	return c.commit(g, m, &out)
}

// commit commits g to move m.
func (c *Community) commit(g *game, m Move, out *outbox) error {
	if _, err := io.ReadFull(c.cfg.Rand, g.nonce[:]); err != nil {
		return err
	}
	g.mine, g.committed = m, true
	g.hash = Commitment(g.id, c.env.Self(), m, g.nonce)
	g.deadline = time.Now().Add(c.cfg.Timeout)
	c.publish(EventMove, g)
	out.add(g.peer, TypeCommit, &Message{Game: g.id, Hash: g.hash})
	if r := c.maybeReveal(g, out); r != "" {
		c.rejected[r]++
	}
	return nil
}

// autoPlay commits g to a random move, for Config.AutoPlay.
func (c *Community) autoPlay(g *game, out *outbox) {
	var b [1]byte
	if _, err := io.ReadFull(c.cfg.Rand, b[:]); err != nil {
		return
	}
	// 256 is not a multiple of 3: redraw the top value for a fair move.
	for b[0] == 255 {
		if _, err := io.ReadFull(c.cfg.Rand, b[:]); err != nil {
			return
		}
	}
	c.commit(g, Move(b[0]%3+1), out)
}

// isMember reports whether peer announces this community.
func (c *Community) isMember(peer proto.ID) bool {
	for _, p := range c.env.Members() {
		if p.ID == peer {
			return true
		}
	}
	return false
}

// roomFor reports whether another open game with peer fits the limits.
func (c *Community) roomFor(peer proto.ID) bool {
	open, byPeer := 0, 0
	for _, g := range c.games {
		if g.result == Open {
			open++
			if g.peer == peer {
				byPeer++
			}
		}
	}
	return open < maxOpen && byPeer < maxOpenByPeer
}

// maybeReveal reveals our move once both commitments are in. A commitment
// of theirs equal to ours is a copy (ours binds our peer ID, so they could
// not open it, but refusing it costs nothing and reveals nothing): the game
// is void, the opponent told, and maybeReveal returns ReasonCopied.
func (c *Community) maybeReveal(g *game, out *outbox) string {
	if g.committed && g.theirCommitted && !g.revealed {
		if g.theirHash == g.hash {
			c.finish(g, Void, ReasonCopied)
			out.add(g.peer, TypeReject, &Message{Game: g.id, Reason: ReasonCopied})
			return ReasonCopied
		}
		g.revealed = true
		out.add(g.peer, TypeReveal, &Message{Game: g.id, Move: g.mine, Nonce: g.nonce})
	}
	c.maybeFinish(g)
	return ""
}

// maybeFinish scores the game once both moves are known.
func (c *Community) maybeFinish(g *game) {
	if g.result == Open && g.revealed && g.theirMove != 0 {
		c.finish(g, outcome(g.mine, g.theirMove), "")
	}
}

// finish ends g with result r, scores it and keeps it among the finished.
func (c *Community) finish(g *game, r Result, reason string) {
	g.result, g.reason, g.ended = r, reason, time.Now()
	s := c.scores[g.peer]
	if s == nil && r != Void {
		s = &Score{Peer: g.peer}
		c.scores[g.peer] = s
	}
	switch r {
	case Win:
		s.Wins++
	case Loss:
		s.Losses++
	case Draw:
		s.Draws++
	}
	if r != Void {
		c.markScored()
	}
	c.publish(EventResult, g)
	c.finished = append(c.finished, g.id)
	if len(c.finished) > maxFinished {
		delete(c.games, c.finished[0])
		c.finished = c.finished[1:]
	}
	if c.log != nil {
		c.log.Info("game over", "game", g.id, "peer", g.peer, "result", r, "mine", g.mine, "theirs", g.theirMove, "reason", reason)
	}
}
