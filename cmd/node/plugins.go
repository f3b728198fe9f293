package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/host"
)

// loadPlugins starts the -plugin binaries and adds their communities. A
// plugin replaces the -communities entry of the same name (the default
// list names game, and -plugin gameplugin should just work). On error every
// community is closed, started plugins included.
func (nc *nodeCommunities) loadPlugins(paths []string, dataDir string, log *slog.Logger) error {
	if len(paths) == 0 {
		return nil
	}
	dir, err := socketDir(dataDir)
	if err != nil {
		nc.close()
		return err
	}
	for _, path := range paths {
		p, err := host.Load(host.Config{Path: path, SocketDir: dir, Logger: log})
		if err != nil {
			nc.close()
			return err
		}
		i := slices.IndexFunc(nc.list, func(c community.Community) bool { return c.Name() == p.Name() })
		switch {
		case i < 0:
			nc.list = append(nc.list, p)
		case pluginPath(nc.list[i]) != "":
			nc.list = append(nc.list, p)
			nc.close()
			return fmt.Errorf("plugin %s: community %q is served by another plugin too", path, p.Name())
		default:
			log.Info("plugin replaces the built-in community", "community", p.Name(), "plugin", path)
			nc.list[i].Close() // never started
			nc.list[i] = p
		}
	}
	return nil
}

// pluginPath returns the binary of a plugin community, "" for others.
func pluginPath(c community.Community) string {
	if p, ok := c.(*host.Plugin); ok {
		return p.Path()
	}
	return ""
}

// socketDir picks where go-plugin puts the node's and the plugins' Unix
// sockets: the temporary directory, or, where there is none that we can
// write (Android), a directory in the data directory.
func socketDir(dataDir string) (string, error) {
	if dir := os.TempDir(); writableDir(dir) {
		return dir, nil
	}
	dir := filepath.Join(dataDir, "plugins")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("-plugin: no directory for plugin sockets: %w", err)
	}
	return dir, nil
}
