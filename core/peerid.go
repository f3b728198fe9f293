package core

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/walkie-p2p/walkie/proto"
)

// PeerIDFile is the name of the file, inside the data directory, that keeps
// the node's peer ID.
const PeerIDFile = "peer-id"

// LoadOrCreatePeerID returns the peer ID kept in dir/peer-id, creating dir and
// a new random ID (UUIDv4) on first start. The file is written atomically
// (temporary file, fsync, rename), so a crash leaves either no file or a
// whole one. A file that exists but does not hold a UUID is an error: a node
// must never silently become somebody else.
func LoadOrCreatePeerID(dir string) (proto.ID, error) {
	path := filepath.Join(dir, PeerIDFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id, perr := uuid.Parse(strings.TrimSpace(string(b)))
		if perr != nil || id == uuid.Nil {
			return proto.ID{}, fmt.Errorf("walkie: %s is corrupt (want a UUID, found %q); move it away to start with a new identity", path, truncate(string(b), 40))
		}
		return proto.ID(id), nil
	case !errors.Is(err, os.ErrNotExist):
		return proto.ID{}, fmt.Errorf("walkie: reading peer ID: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return proto.ID{}, fmt.Errorf("walkie: creating data directory: %w", err)
	}
	id, err := uuid.NewRandomFromReader(rand.Reader)
	if err != nil {
		return proto.ID{}, err
	}
	if err := writeFileAtomic(path, []byte(id.String()+"\n")); err != nil {
		return proto.ID{}, fmt.Errorf("walkie: writing peer ID: %w", err)
	}
	return proto.ID(id), nil
}

// writeFileAtomic writes data to path so that readers see the old file or the
// whole new one, never a part.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
