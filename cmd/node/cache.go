package main

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/walkie-p2p/walkie/core"
)

// The peer cache: no single point of entry. The node keeps the addresses
// of peers it verified (public ones first: they answer anyone) in
// DATA/peers, one ip:port a line, and tries them on start beside
// -bootstrap, so a node whose bootstrap is gone still gets in through any
// member that answers.
const (
	peerCacheFile  = "peers"
	peerCacheMax   = 32          // addresses kept
	peerCacheEvery = time.Minute // how often it is written while the node runs
)

// peerCache reads and writes the cache file.
type peerCache struct {
	path string
	log  *slog.Logger
}

// load returns the cached addresses. A missing file is an empty cache; a
// line that is not an address is skipped (the file is only a hint, and the
// next write replaces it), and so is an unreadable file, with a warning.
func (c peerCache) load() []netip.AddrPort {
	b, err := os.ReadFile(c.path)
	if err != nil {
		if !os.IsNotExist(err) {
			c.log.Warn("peer cache unreadable; starting without it", "file", c.path, "err", err)
		}
		return nil
	}
	var out []netip.AddrPort
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() && len(out) < peerCacheMax {
		line := strings.TrimSpace(sc.Text())
		if a, err := netip.ParseAddrPort(line); err == nil && a.Port() != 0 {
			out = append(out, a)
		}
	}
	return out
}

// keep writes the contacts every peerCacheEvery, and once more when ctx
// ends (the node stops).
func (c peerCache) keep(ctx context.Context, contacts func(int) []netip.AddrPort) {
	t := time.NewTicker(peerCacheEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.save(contacts(peerCacheMax))
			return
		case <-t.C:
			c.save(contacts(peerCacheMax))
		}
	}
}

// save writes addrs, unless there are none: a node that lost every peer
// keeps the addresses it had, which are its best way back.
func (c peerCache) save(addrs []netip.AddrPort) {
	if len(addrs) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("# peers this node verified, tried on start beside -bootstrap; rewritten every minute\n")
	for _, a := range addrs {
		b.WriteString(a.String() + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err == nil {
		err = core.WriteFileAtomic(c.path, []byte(b.String()))
		if err != nil {
			c.log.Warn("cannot write the peer cache", "file", c.path, "err", err)
		}
	}
}
