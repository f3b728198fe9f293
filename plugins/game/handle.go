package game

import (
	"cmp"
	"errors"
	"slices"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// Reasons a message is rejected or a game ends. They are a fixed set, so
// that counting them by reason stays bounded.
const (
	ReasonMalformed     = "malformed body"
	ReasonUnknownGame   = "unknown game ID"
	ReasonNotAPlayer    = "not a player of this game"
	ReasonDuplicate     = "duplicate message"
	ReasonGameOver      = "late: the game is over"
	ReasonEarlyReveal   = "reveal before both commits"
	ReasonBadMove       = "not a move"
	ReasonMismatch      = "reveal does not match commitment"
	ReasonTooMany       = "too many open games"
	ReasonIDInUse       = "game ID in use"
	ReasonNoReveal      = "opponent did not reveal in time"
	ReasonNoCommit      = "opponent did not play in time"
	ReasonYouDidNotPlay = "you did not play in time"
	ReasonTimedOut      = "game timed out"
	ReasonOpponent      = "opponent rejected the game"
	ReasonDisputed      = "opponent disputes our reveal"
	ReasonVersion       = "unsupported game protocol version"
	ReasonCopied        = "commitment copies ours"
)

// RejectError is what a handler returns for a message it rejects.
type RejectError struct {
	Type   community.Type
	Reason string
}

// Error implements error.
func (e *RejectError) Error() string { return "game: rejected " + typeName(e.Type) + ": " + e.Reason }

func typeName(t community.Type) string {
	switch t {
	case TypeInvite:
		return "invite"
	case TypeCommit:
		return "commit"
	case TypeReveal:
		return "reveal"
	case TypeReject:
		return "reject"
	case TypeInviteV1, TypeCommitV1, TypeRevealV1, TypeRejectV1:
		return "version 1 message"
	}
	return "message"
}

// game is one game from our side. Its fields change under Community.mu.
type game struct {
	id         GameID
	peer       proto.ID
	challenger bool
	started    time.Time
	ended      time.Time
	deadline   time.Time // of the current phase; progress moves it

	mine      Move
	nonce     [NonceLen]byte
	hash      [HashLen]byte // our commitment
	committed bool          // we sent our commitment
	revealed  bool          // we sent our reveal

	theirHash      [HashLen]byte
	theirCommitted bool
	theirMove      Move // 0 until a matching reveal

	result Result
	reason string // why it ended, when not by two reveals
}

// handle processes one message. It runs on the community's goroutine.
func (c *Community) handle(from proto.ID, t community.Type, data []byte) error {
	c.mu.Lock()
	var out outbox
	defer func() { c.mu.Unlock(); c.flush(out) }()
	reason := c.apply(from, t, data, &out)
	if reason == "" {
		return nil
	}
	c.rejected[reason]++
	return &RejectError{Type: t, Reason: reason}
}

// apply applies one message and returns why it was rejected ("" if it was
// not). Replies go to out.
func (c *Community) apply(from proto.ID, t community.Type, data []byte, out *outbox) string {
	b, err := Decode(t, data)
	var ve *VersionError
	if errors.As(err, &ve) {
		return c.otherVersion(from, ve, out)
	}
	if err != nil {
		return ReasonMalformed
	}
	g := c.games[b.Game]
	reject := func(reason string) string {
		if t != TypeReject {
			out.add(from, TypeReject, &Message{Game: b.Game, Reason: reason})
		}
		return reason
	}
	if t == TypeInvite {
		switch {
		case g != nil && g.peer == from:
			return ReasonDuplicate
		case g != nil:
			return reject(ReasonIDInUse)
		case !c.roomFor(from):
			return reject(ReasonTooMany)
		}
		now := time.Now()
		g := &game{id: b.Game, peer: from, started: now, deadline: now.Add(c.cfg.Timeout)}
		c.games[b.Game] = g
		c.publish(EventChallenge, g)
		if c.cfg.AutoPlay {
			c.autoPlay(g, out)
		}
		return ""
	}
	switch {
	case g == nil && t == TypeReject:
		return ReasonUnknownGame // never answer a reject
	case g == nil:
		return reject(ReasonUnknownGame)
	case g.peer != from:
		return reject(ReasonNotAPlayer)
	}
	if g.result != Open {
		return c.late(g, t, &b, out)
	}
	switch t {
	case TypeCommit:
		if g.theirCommitted {
			return ReasonDuplicate
		}
		g.theirHash, g.theirCommitted = b.Hash, true
		g.deadline = time.Now().Add(c.cfg.Timeout)
		c.publish(EventMove, g)
		return c.maybeReveal(g, out)
	case TypeReveal:
		switch {
		case !g.committed || !g.theirCommitted:
			// Not answered: an honest reveal gets here only when reordered
			// ahead of its commit, and the resend loop repairs that.
			return ReasonEarlyReveal
		case !b.Move.Valid():
			c.finish(g, Win, ReasonBadMove)
			return reject(ReasonBadMove)
		case Commitment(g.id, from, b.Move, b.Nonce) != g.theirHash:
			c.finish(g, Win, ReasonMismatch)
			return reject(ReasonMismatch)
		}
		g.theirMove = b.Move
		c.maybeFinish(g)
	case TypeReject:
		// A reject is the opponent's word, so it ends the game for nobody.
		// One that calls our reveal bad is false, or comes from a broken
		// peer: we built the reveal from the move and nonce we committed
		// to (and may not have revealed yet). Scoring it as our loss let
		// any opponent hand us losses.
		if b.Reason == ReasonMismatch || b.Reason == ReasonBadMove {
			c.finish(g, Void, ReasonDisputed)
			return ReasonDisputed
		}
		c.finish(g, Void, ReasonOpponent+": "+b.Reason)
	}
	return ""
}

// otherVersion refuses a body of another protocol version. A version 1
// peer is told, in a version 1 reject, so that it voids its game at once
// instead of resending until it times out; a version 1 node never answers
// a reject. A body of a later version we cannot read past its version, so
// its sender is not answered; a later version keeps the version first, so
// its decoder refuses ours by number in turn.
func (c *Community) otherVersion(from proto.ID, ve *VersionError, out *outbox) string {
	if c.log != nil {
		c.log.Debug("game: refused a body of another protocol version", "from", from,
			"type", uint8(ve.Type), "version", ve.Version, "speaks", Version)
	}
	if ve.Version == 1 && ve.Type != TypeRejectV1 {
		out.add(from, TypeRejectV1, &Message{Game: ve.Game, Reason: ReasonVersion})
	}
	return ReasonVersion
}

// late handles a message for a finished game. An opponent still waiting
// on our reveal resends its own (not marked done): it gets ours, marked
// done so that it is not answered in turn. An opponent still playing a game
// we ended without two reveals learns that it is over. Nothing else is
// answered.
func (c *Community) late(g *game, t community.Type, b *Message, out *outbox) string {
	decided := g.revealed && g.theirMove != 0
	switch {
	case t == TypeReject:
	case decided && t == TypeReveal && !b.Done:
		out.add(g.peer, TypeReveal, &Message{Game: g.id, Move: g.mine, Nonce: g.nonce, Done: true})
		return ReasonDuplicate
	case decided:
		return ReasonDuplicate
	default:
		out.add(g.peer, TypeReject, &Message{Game: g.id, Reason: ReasonGameOver})
	}
	return ReasonGameOver
}

// Score is the record against one opponent.
type Score struct {
	Peer   proto.ID
	Wins   int
	Losses int
	Draws  int
}

// Scores returns the score table, best record first.
func (c *Community) Scores() []Score {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Score, 0, len(c.scores))
	for _, s := range c.scores {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Score) int {
		if d := cmp.Compare(b.Wins-b.Losses, a.Wins-a.Losses); d != 0 {
			return d
		}
		return slices.Compare(a.Peer[:], b.Peer[:])
	})
	return out
}

// Game is a snapshot of one game, as the API shows it.
type Game struct {
	ID         GameID
	Peer       proto.ID
	Challenger bool // we sent the invite
	Started    time.Time
	Mine       Move
	Theirs     Move   // known once revealed and checked
	Played     bool   // we committed a move
	Opponent   bool   // the opponent committed a move
	Result     Result // "" while open
	Reason     string // why it ended, when not by two reveals
}

// Games returns the open and the recently finished games, newest first.
func (c *Community) Games() []Game {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Game, 0, len(c.games))
	for _, g := range c.games {
		out = append(out, g.snapshot())
	}
	slices.SortFunc(out, func(a, b Game) int {
		if d := b.Started.Compare(a.Started); d != 0 {
			return d
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	return out
}

// Game returns one game.
func (c *Community) Game(id GameID) (Game, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.games[id]
	if !ok {
		return Game{}, false
	}
	return g.snapshot(), true
}

// Rejected returns how many messages were rejected, by reason.
func (c *Community) Rejected() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.rejected))
	for k, v := range c.rejected {
		out[k] = v
	}
	return out
}

func (g *game) snapshot() Game {
	return Game{ID: g.id, Peer: g.peer, Challenger: g.challenger, Started: g.started,
		Mine: g.mine, Theirs: g.theirMove, Played: g.committed, Opponent: g.theirCommitted,
		Result: g.result, Reason: g.reason}
}
