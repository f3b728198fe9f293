// Package ping is the community that docs/writing-a-community.md builds: a
// node pings every member and counts the pongs that come back.
package ping

import (
	"context"
	"maps"
	"sync"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// Ping is the community. Handlers run on the community's own goroutine and
// Pongs on the caller's, hence the mutex.
type Ping struct {
	env   community.Env // set by Start, before any handler runs
	mu    sync.Mutex
	pongs map[proto.ID]int
}

// New returns a ping community, ready for core.Config.Communities.
func New() *Ping { return &Ping{pongs: map[proto.ID]int{}} }

// Name is the community's name; every node derives its wire ID from it.
func (p *Ping) Name() string { return "ping" }

// Messages declares both types; a larger body never reaches a handler.
func (p *Ping) Messages() []community.MessageSpec {
	return []community.MessageSpec{
		{Type: 1, Name: "ping", MaxSize: 8, Handle: p.onPing},
		{Type: 2, Name: "pong", MaxSize: 8, Handle: p.onPong},
	}
}

// Start keeps the Env: how the community sends and finds its members.
func (p *Ping) Start(_ context.Context, env community.Env) error { p.env = env; return nil }

// Close has nothing to release: Ping starts no goroutine, opens no file.
func (p *Ping) Close() error { return nil }

// PingAll pings every member (once the node started) and counts the pings.
func (p *Ping) PingAll() (sent int) {
	for _, m := range p.env.Members() {
		if p.env.Send(m.ID, 1, []byte("ping")) == nil {
			sent++
		}
	}
	return sent
}

// Pongs returns how many pongs each member sent back.
func (p *Ping) Pongs() map[proto.ID]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.pongs)
}

func (p *Ping) onPing(_ context.Context, from community.Peer, body []byte) error {
	return p.env.Send(from.ID, 2, body) // a pong with the ping's body
}

func (p *Ping) onPong(_ context.Context, from community.Peer, _ []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pongs[from.ID]++
	return nil
}
