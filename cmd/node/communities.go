package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/chat"
	"github.com/walkie-p2p/walkie/plugins/game"
	"github.com/walkie-p2p/walkie/plugins/host"
)

// builtin is a community compiled into walkie, run when -communities names
// it.
type builtin struct {
	name string // what -communities says; the community's Name
	open func(builtinSetup) (community.Community, error)
}

// builtinSetup is what the node gives a built-in community to open with.
// A community that needs more from the node gets a field here.
type builtinSetup struct {
	dir string // its own directory, DATA/NAME, not yet created
}

// builtins lists the communities compiled into walkie, in the order the
// help names them. Adding one to the binary is adding an entry: the node
// serves its HTTP API if it has one (community.APIServer), and a -plugin
// with the same name replaces it.
func builtins() []builtin {
	return []builtin{
		{chat.DefaultName, func(s builtinSetup) (community.Community, error) {
			return chat.New(chat.Config{Dir: s.dir})
		}},
		{"game", func(builtinSetup) (community.Community, error) {
			return game.New(game.Config{}), nil
		}},
	}
}

// builtinNames returns the names of builtins(), in order.
func builtinNames() []string {
	var names []string
	for _, b := range builtins() {
		names = append(names, b.name)
	}
	return names
}

// openCommunities makes the communities the node runs, in this order: one
// for each -communities name (the -plugin community of that name, else the
// built-in one), then the -plugin communities not named there. On error it
// leaves nothing open: no plugin runs, no store is held.
func openCommunities(opts *options, log *slog.Logger) ([]community.Community, error) {
	plugins, err := loadPlugins(opts.plugins, opts.dataDir, log)
	if err != nil {
		return nil, err
	}
	var list []community.Community
	for _, name := range opts.communities {
		if i := slices.IndexFunc(plugins, func(p *host.Plugin) bool { return p.Name() == name }); i >= 0 {
			if slices.Contains(builtinNames(), name) {
				log.Info("plugin replaces the built-in community", "community", name, "plugin", plugins[i].Path())
			}
			list = append(list, plugins[i])
			plugins = slices.Delete(plugins, i, i+1)
			continue
		}
		i := slices.IndexFunc(builtins(), func(b builtin) bool { return b.name == name })
		if i < 0 {
			// No code for it: announced, so that peers that run it
			// still find us as a member.
			list = append(list, announceOnly(name))
			continue
		}
		c, err := builtins()[i].open(builtinSetup{dir: filepath.Join(opts.dataDir, name)})
		if err != nil {
			closeAll(list)
			for _, p := range plugins {
				p.Close()
			}
			return nil, err
		}
		list = append(list, c)
	}
	for _, p := range plugins {
		list = append(list, p)
	}
	return list, nil
}

// closeAll closes every community; the overlay does it instead once it was
// created.
func closeAll(list []community.Community) error {
	var errs []error
	for _, c := range list {
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
