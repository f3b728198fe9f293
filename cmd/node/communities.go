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
	dir  string      // its own directory, DATA/NAME, not yet created
	chat chat.Config // the chat's flags (its Dir is dir)
}

// builtins lists the communities compiled into walkie, in the order the
// help names them. Adding one to the binary is adding an entry: the node
// serves its HTTP API if it has one (community.APIServer), and a -plugin
// with the same name replaces it.
func builtins() []builtin {
	return []builtin{
		{chat.DefaultName, func(s builtinSetup) (community.Community, error) {
			cfg := s.chat
			cfg.Dir = s.dir
			return chat.New(cfg)
		}},
		{"game", func(s builtinSetup) (community.Community, error) {
			return game.Load(game.Config{Dir: s.dir}) // the score table: DATA/game/scores.json
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
// built-in one), the -plugin communities not named there, then the
// -announce names. A name that nothing serves is a usage error, found only
// now if plugins were given. On error it leaves nothing open: no plugin
// runs, no store is held.
func openCommunities(opts *options, log *slog.Logger) ([]community.Community, error) {
	plugins, err := loadPlugins(opts.plugins, opts.dataDir, log)
	if err != nil {
		return nil, err
	}
	if err := checkServed(opts, plugins); err != nil {
		closePlugins(plugins)
		return nil, err
	}
	known := builtins()
	var list []community.Community
	for _, name := range opts.communities {
		b := slices.IndexFunc(known, func(b builtin) bool { return b.name == name })
		if i := slices.IndexFunc(plugins, func(p *host.Plugin) bool { return p.Name() == name }); i >= 0 {
			if b >= 0 {
				log.Info("plugin replaces the built-in community", "community", name, "plugin", plugins[i].Path())
			}
			list = append(list, plugins[i])
			plugins = slices.Delete(plugins, i, i+1)
			continue
		}
		c, err := known[b].open(builtinSetup{dir: filepath.Join(opts.dataDir, name), chat: opts.chat}) // b >= 0: checkServed
		if err != nil {
			closeAll(list)
			closePlugins(plugins)
			return nil, err
		}
		list = append(list, c)
	}
	for _, p := range plugins {
		list = append(list, p)
	}
	for _, name := range opts.announce {
		list = append(list, announceOnly(name))
	}
	return list, nil
}

// checkServed checks the -communities and -announce names against what the
// plugins serve: each -communities name is built in or served, and no
// -announce name is served (it would run, not just be announced).
func checkServed(opts *options, plugins []*host.Plugin) error {
	var served []string
	for _, p := range plugins {
		served = append(served, p.Name())
	}
	for _, name := range opts.communities {
		if !slices.Contains(builtinNames(), name) && !slices.Contains(served, name) {
			return unknownCommunity(opts.rawCommunities, name, served)
		}
	}
	for _, name := range opts.announce {
		if i := slices.Index(served, name); i >= 0 {
			return badFlag("announce", opts.rawAnnounce, "community %q is run by -plugin %s; drop it from -announce", name, plugins[i].Path())
		}
	}
	return nil
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

// announceOnly is a community of -announce: it is announced, so that peers
// that run it find us as a member, and messages to it are dropped as of an
// unknown type.
type announceOnly string

func (a announceOnly) Name() string                             { return string(a) }
func (announceOnly) Messages() []community.MessageSpec          { return nil }
func (announceOnly) Start(context.Context, community.Env) error { return nil }
func (announceOnly) Close() error                               { return nil }
