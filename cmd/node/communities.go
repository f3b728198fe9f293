package main

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/chat"
	"github.com/walkie-p2p/walkie/plugins/game"
)

// nodeCommunities is what -communities runs: the Community values for the
// overlay.
type nodeCommunities struct {
	list []community.Community
}

// buildCommunities makes the communities named by -communities. "chat" runs
// plugins/chat with its history in DATA/chat; any other (valid) name is
// announced in introductions without handling messages, so that peers that
// run it still find us as a member.
func buildCommunities(names []string, dataDir string) (*nodeCommunities, error) {
	nc := &nodeCommunities{}
	for _, name := range names {
		switch name {
		case chat.DefaultName:
			c, err := chat.New(chat.Config{Dir: filepath.Join(dataDir, "chat")})
			if err != nil {
				nc.close()
				return nil, err
			}
			nc.list = append(nc.list, c)
		case "game":
			nc.list = append(nc.list, game.New(game.Config{}))
		default:
			nc.list = append(nc.list, announceOnly(name))
		}
	}
	return nc, nil
}

// close closes every community; the overlay does it instead once it was
// created.
func (nc *nodeCommunities) close() error {
	var errs []error
	for _, c := range nc.list {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// announceOnly is a community this binary has no code for: it is announced,
// and messages to it are dropped as of an unknown type.
type announceOnly string

func (a announceOnly) Name() string                             { return string(a) }
func (announceOnly) Messages() []community.MessageSpec          { return nil }
func (announceOnly) Start(context.Context, community.Env) error { return nil }
func (announceOnly) Close() error                               { return nil }
