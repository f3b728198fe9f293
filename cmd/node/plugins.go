package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/walkie-p2p/walkie/plugins/host"
)

// loadPlugins starts the -plugin binaries, each serving one community, in
// the order given. Two that serve the same community are an error. On error
// none is left running.
func loadPlugins(paths []string, dataDir string, log *slog.Logger) ([]*host.Plugin, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	dir, err := socketDir(dataDir)
	if err != nil {
		return nil, err
	}
	var ps []*host.Plugin
	for _, path := range paths {
		p, err := host.Load(host.Config{Path: path, SocketDir: dir, DataDir: pluginDataDir(dataDir, path), Logger: log})
		if err == nil && slices.ContainsFunc(ps, func(q *host.Plugin) bool { return q.Name() == p.Name() }) {
			ps = append(ps, p)
			err = fmt.Errorf("plugin %s: community %q is served by another plugin too", path, p.Name())
		}
		if err != nil {
			closePlugins(ps)
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// pluginDataDir is where the plugin at path may keep files:
// DATA/plugin-data/BINARY, by its binary's name (its community's name is
// known only once it runs).
func pluginDataDir(dataDir, path string) string {
	return filepath.Join(dataDir, "plugin-data", filepath.Base(path))
}

// closePlugins stops the plugins of a node that will not run; their
// processes are gone when it returns.
func closePlugins(ps []*host.Plugin) {
	for _, p := range ps {
		p.Close()
	}
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
