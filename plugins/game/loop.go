package game

import (
	"context"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// loop resends and times out games every Retry until ctx ends, and saves
// the score table (with a Dir) when a game scored; a failed save is tried
// again at the next tick.
func (c *Community) loop(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.cfg.Retry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.dirty: // nil without a Dir: never ready
			c.saveScores()
		case <-t.C:
			c.tick(time.Now())
			if c.unsaved {
				c.saveScores()
			}
		}
	}
}

// tick times out the games past their deadline and resends for the others.
func (c *Community) tick(now time.Time) {
	c.mu.Lock()
	var out outbox
	defer func() { c.mu.Unlock(); c.flush(out) }()
	for _, g := range c.games {
		if g.result != Open {
			continue
		}
		if now.Before(g.deadline) {
			c.resend(g, &out)
			continue
		}
		switch {
		case g.revealed && g.theirMove == 0:
			c.finish(g, Win, ReasonNoReveal)
		case !g.committed:
			c.finish(g, Void, ReasonYouDidNotPlay)
		default:
			c.finish(g, Void, ReasonNoCommit)
		}
		out.add(g.peer, TypeReject, &Message{Game: g.id, Reason: ReasonTimedOut})
	}
}

// resend sends again what the opponent may have missed, while we wait on
// it: the invite until it commits, our commit and our reveal.
func (c *Community) resend(g *game, out *outbox) {
	if g.challenger && !g.theirCommitted {
		out.add(g.peer, TypeInvite, &Message{Game: g.id})
	}
	if g.committed {
		out.add(g.peer, TypeCommit, &Message{Game: g.id, Hash: g.hash})
	}
	if g.revealed {
		out.add(g.peer, TypeReveal, &Message{Game: g.id, Move: g.mine, Nonce: g.nonce})
	}
}

// outbox collects messages to send once the mutex is released, so that
// the lock is never held across Env.Send.
type outbox []outMsg

type outMsg struct {
	to   proto.ID
	typ  community.Type
	body []byte
}

// add encodes a message into the outbox. Our own bodies always encode.
func (o *outbox) add(to proto.ID, t community.Type, b *Message) {
	enc, err := Encode(t, b)
	if err == nil {
		*o = append(*o, outMsg{to, t, enc})
	}
}

// flush sends the outbox. A failed send is logged: the resend loop or the
// timeout deals with it.
func (c *Community) flush(out outbox) {
	for _, m := range out {
		if err := c.env.Send(m.to, m.typ, m.body); err != nil && c.log != nil {
			c.log.Debug("game: send failed", "to", m.to, "type", m.typ, "err", err)
		}
	}
}
