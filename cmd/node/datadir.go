package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The state directory: -data, or where a node finds one without it.

// dataDir returns -data, or $HOME/.walkie when it is not given.
func dataDir(s string) (string, error) {
	if s != "" {
		return s, nil
	}
	home, _ := os.UserHomeDir()
	exe, _ := os.Executable()
	return defaultDataDir(home, exe, writableDir)
}

// defaultDataDir picks the state directory when -data is not given: HOME's
// .walkie, else walkie-data beside the binary (an Android app has no HOME
// of its own, but its native library folder's neighbour may be writable),
// whichever is writable first.
func defaultDataDir(home, exe string, writable func(string) bool) (string, error) {
	var tried []string
	if home != "" {
		d := filepath.Join(home, defaultDataSubdir)
		if writable(d) {
			return d, nil
		}
		tried = append(tried, d)
	}
	if exe != "" {
		d := filepath.Join(filepath.Dir(exe), defaultExeDataDir)
		if writable(d) {
			return d, nil
		}
		tried = append(tried, d)
	}
	if len(tried) == 0 {
		return "", &usageError{err: errors.New("-data is required: there is no $HOME and no binary path"), hint: true}
	}
	return "", &usageError{err: fmt.Errorf("-data is required: no writable default (tried %s)", strings.Join(tried, ", ")), hint: true}
}

// writableDir reports whether dir exists or can be made, and takes a file.
func writableDir(dir string) bool {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false
	}
	f, err := os.CreateTemp(dir, ".probe*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}
