package game

// EventKind says what changed in a game. The values are the event names of
// the API's stream (GET /api/NAME/stream).
type EventKind string

// The kinds of events.
const (
	// EventChallenge: a new game, an opponent's invite (Game.Challenger
	// false) or our own challenge.
	EventChallenge EventKind = "challenge"
	// EventMove: a player committed a move: the opponent (Game.Opponent
	// turned true) or we (Game.Played turned true). The move itself stays
	// secret until the result.
	EventMove EventKind = "move"
	// EventResult: the game ended; Game.Result says how, and Event.Score
	// is the record against the opponent that includes it.
	EventResult EventKind = "result"
)

// Event is one change of a game, as Subscribe delivers it.
type Event struct {
	Kind EventKind
	Game Game // the game after the change
	// Score is the record against Game.Peer after the game, for
	// EventResult (a void game leaves it as it was: zero against a new
	// opponent); zero for the others.
	Score Score
}

// Subscribe returns a channel of every change of a game from now on, in
// order, and a function that ends the subscription. A subscriber that falls
// more than 64 events behind is cut off: its channel closes, and it should
// read Games again. The channel also closes at Close.
func (c *Community) Subscribe() (<-chan Event, func()) {
	return c.subs.Subscribe(&c.mu)
}

// publish hands ev to every subscriber, never waiting: one whose buffer is
// full is cut off. Called with c.mu held, so events keep the order of the
// changes.
func (c *Community) publish(kind EventKind, g *game) {
	if c.subs.Len() == 0 {
		return
	}
	ev := Event{Kind: kind, Game: g.snapshot()}
	if kind == EventResult {
		ev.Score = Score{Peer: g.peer}
		if s := c.scores[g.peer]; s != nil {
			ev.Score = *s
		}
	}
	c.subs.Publish(ev)
}
