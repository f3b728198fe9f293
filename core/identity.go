package core

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// Files of a node's identity, inside its data directory.
const (
	// KeyFile keeps the node's Ed25519 private key: PKCS #8 in a PEM block
	// ("PRIVATE KEY"), mode 0600, as `openssl pkey` reads it. The peer ID
	// derives from its public half.
	KeyFile = "identity.key"
	// PeerIDFile keeps the peer ID (a UUID and a newline) for tools that
	// read it; the key is the truth, and the file is rewritten to match.
	PeerIDFile = "peer-id"
	// OldPeerIDFile is where a previous release's random peer ID is kept
	// when the node makes its first key.
	OldPeerIDFile = "peer-id.old"
)

// Identity is a node's Ed25519 key and the peer ID derived from it
// (community.IDFromKey).
type Identity struct {
	Key ed25519.PrivateKey
	ID  proto.ID
}

// NewIdentity makes a fresh identity.
func NewIdentity() (Identity, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Identity{}, err
	}
	return IdentityFromKey(key), nil
}

// IdentityFromKey returns the identity of key.
func IdentityFromKey(key ed25519.PrivateKey) Identity {
	return Identity{Key: key, ID: community.IDFromKey(key.Public().(ed25519.PublicKey))}
}

// LoadOrCreateIdentity returns the identity kept in dir/identity.key,
// creating dir and a new key on first start; dir/peer-id is kept equal to
// the key's peer ID. Every file is written atomically (temporary file,
// fsync, rename), so a crash leaves the old file or the whole new one.
//
// A node must never silently become somebody else: a key file that does
// not hold an Ed25519 key is an error that names it, and so is a peer-id
// file that holds a key-derived ID while the key is missing (the key was
// lost). A peer-id of the previous release (a random UUID) with no key is
// an upgrade: the node makes a key, keeps the old file as peer-id.old and
// logs both IDs on log (which may be nil).
func LoadOrCreateIdentity(dir string, log *slog.Logger) (Identity, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	keyPath, idPath := filepath.Join(dir, KeyFile), filepath.Join(dir, PeerIDFile)
	old, err := readPeerID(idPath)
	if err != nil {
		return Identity{}, err
	}
	id, err := readKey(keyPath)
	switch {
	case err == nil:
	case !errors.Is(err, os.ErrNotExist):
		return Identity{}, err
	case old.KeyDerived():
		return Identity{}, fmt.Errorf("walkie: %s holds the key-derived peer ID %v, but %s is missing: restore the key file, or move %s away to start with a new identity",
			idPath, old, keyPath, idPath)
	default:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return Identity{}, fmt.Errorf("walkie: creating data directory: %w", err)
		}
		if id, err = NewIdentity(); err != nil {
			return Identity{}, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(id.Key)
		if err != nil {
			return Identity{}, err
		}
		if err := WriteFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return Identity{}, fmt.Errorf("walkie: writing %s: %w", keyPath, err)
		}
	}
	if old == id.ID {
		return id, nil
	}
	if !old.IsZero() && !old.KeyDerived() {
		// The previous release's random ID: kept, not overwritten.
		if err := os.Rename(idPath, filepath.Join(dir, OldPeerIDFile)); err != nil {
			return Identity{}, fmt.Errorf("walkie: keeping the old peer ID: %w", err)
		}
		log.Warn("identity: the peer ID is now derived from a key; the old one is kept in "+OldPeerIDFile,
			"old_peer_id", old, "peer_id", id.ID, "key_file", keyPath)
	} else if !old.IsZero() {
		log.Warn("identity: peer-id did not match the key; rewritten", "was", old, "peer_id", id.ID)
	}
	if err := WriteFileAtomic(idPath, []byte(id.ID.String()+"\n")); err != nil {
		return Identity{}, fmt.Errorf("walkie: writing %s: %w", idPath, err)
	}
	return id, nil
}

// readPeerID reads a peer-id file: the zero ID if there is none.
func readPeerID(path string) (proto.ID, error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return proto.ID{}, nil
	case err != nil:
		return proto.ID{}, fmt.Errorf("walkie: reading peer ID: %w", err)
	}
	id, perr := uuid.Parse(strings.TrimSpace(string(b)))
	if perr != nil || id == uuid.Nil {
		return proto.ID{}, fmt.Errorf("walkie: %s is corrupt (want a UUID, found %q); move it away to start with a new identity", path, truncate(string(b), 40))
	}
	return proto.ID(id), nil
}

// readKey reads a key file.
func readKey(path string) (Identity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Identity{}, err
		}
		return Identity{}, fmt.Errorf("walkie: reading %s: %w", path, err)
	}
	corrupt := func(why string) error {
		return fmt.Errorf("walkie: %s is corrupt (%s); restore it from a backup, or move it away to start with a new identity (a new peer ID)", path, why)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return Identity{}, corrupt(`want a PEM "PRIVATE KEY" block`)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return Identity{}, corrupt(err.Error())
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return Identity{}, corrupt(fmt.Sprintf("a %T, want an Ed25519 key", k))
	}
	return IdentityFromKey(key), nil
}

// WriteFileAtomic writes data to path so that readers see the old file or
// the whole new one, never a part (temporary file, fsync, rename, fsync of
// the directory). The file's mode is 0600. The node's other files (cmd/node)
// are written the same way.
func WriteFileAtomic(path string, data []byte) error {
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
