package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/walkie-p2p/walkie/core"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// httpTokenFile is the file in the data directory that holds the token the
// HTTP server asks for when it listens beyond loopback.
const httpTokenFile = "http-token"

// Limits of the token.
const (
	tokenRandomBytes = 16  // of a new token: 128 bits, written as 32 hex digits
	tokenMinLen      = 32  // characters of a token an operator writes there
	tokenMaxLen      = 256 // characters; a bearer token must fit a header
)

// loadOrCreateToken returns the token in dir/http-token and the file's
// path. With no such file it writes one with a new random token (mode
// 0600, atomically, so that a crash leaves the old file or the whole new
// one). A file that cannot be read or holds no token is an error that
// names it: a new token in its place would lock out, without a word,
// every client that has the old one. A file that others may read is
// logged.
func loadOrCreateToken(dir string, log *slog.Logger) (token, path string, err error) {
	path = filepath.Join(dir, httpTokenFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		token = strings.TrimSpace(string(b))
		if !wellFormedToken(token) {
			return "", path, fmt.Errorf("%s holds no token (want %d to %d of A-Z a-z 0-9 - . _ ~, found %d bytes); write one there, or remove the file and walkie writes a new one",
				path, tokenMinLen, tokenMaxLen, len(b))
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("the HTTP token file may be read by other users; chmod 600 it", "token_file", path, "mode", fi.Mode().Perm().String())
		}
		return token, path, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", path, fmt.Errorf("reading the HTTP token: %w; it must be a file that the user who runs walkie can read", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", path, fmt.Errorf("creating data directory: %w", err)
	}
	raw := make([]byte, tokenRandomBytes)
	rand.Read(raw) // never fails (crypto/rand)
	token = hex.EncodeToString(raw)
	if err := core.WriteFileAtomic(path, []byte(token+"\n")); err != nil {
		return "", path, fmt.Errorf("writing the HTTP token: %w", err)
	}
	return token, path, nil
}

// wellFormedToken reports whether s can be a token: tokenMinLen to tokenMaxLen
// characters that need no quoting in a header or a cookie.
func wellFormedToken(s string) bool {
	if len(s) < tokenMinLen || len(s) > tokenMaxLen {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	return true
}
