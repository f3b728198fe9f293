package seed

import (
	"encoding/hex"

	"github.com/walkie-p2p/walkie/proto"
)

// PeerID is a seed peer ID: 8 lowercase hex digits, the first 8 characters
// of a random UUID's string, which a seed draws once and keeps. It holds the
// characters themselves; the zero PeerID (no characters) means none.
type PeerID [8]byte

// ParsePeerID parses 8 lowercase hex digits; anything else is ErrBadMessage.
// The seed only ever writes lowercase (Java's UUID.toString), so walkie
// does too and accepts nothing else: one ID, one spelling.
func ParsePeerID(s string) (PeerID, error) {
	var id PeerID
	if len(s) != len(id) {
		return PeerID{}, ErrBadMessage
	}
	copy(id[:], s)
	if !id.valid() {
		return PeerID{}, ErrBadMessage
	}
	return id, nil
}

// PeerIDOf returns the seed peer ID a walkie peer answers to: the first 8
// hex digits of its UUID string, as a seed took its own from a UUID. It is
// 32 bits of the walkie ID, and the seed proves nothing about it.
func PeerIDOf(id proto.ID) PeerID {
	var p PeerID
	hex.Encode(p[:], id[:4])
	return p
}

// String returns the 8 digits, or "" for the zero PeerID.
func (id PeerID) String() string {
	if id.IsZero() {
		return ""
	}
	return string(id[:])
}

// IsZero reports whether id is the zero PeerID: no ID.
func (id PeerID) IsZero() bool { return id == PeerID{} }

func (id PeerID) valid() bool {
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// IsSeed reports whether a datagram is the seed's: its first byte is 'd',
// a bencoded dict. Every walkie datagram starts with the magic "WK", plain
// or sealed, so the two protocols share one socket and the reader routes a
// datagram by its first byte alone.
func IsSeed(b []byte) bool { return len(b) > 0 && b[0] == 'd' }
