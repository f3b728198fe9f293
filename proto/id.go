package proto

import "encoding/hex"

// ID is a 16-byte UUID: a peer ID or a community ID.
type ID [16]byte

// String returns the canonical lowercase 8-4-4-4-12 hex form.
func (id ID) String() string {
	var s [36]byte
	hex.Encode(s[0:8], id[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], id[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], id[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], id[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], id[10:16])
	return string(s[:])
}

// IsZero reports whether id is the zero ID, which names no peer.
func (id ID) IsZero() bool { return id == ID{} }

// Namespace returns the walkie namespace UUID,
// 3310f224-6b2c-5ba4-a13d-d6c2f65e89c4: the UUIDv5 (SHA-1) of the URL
// "https://walkie.dev/ns" in the RFC 9562 URL namespace. A community named N
// has the ID UUIDv5(Namespace, N), so every peer derives the same ID from
// the same name without coordination.
func Namespace() ID {
	// A func, not a var, so no package state can be overwritten.
	return ID{0x33, 0x10, 0xf2, 0x24, 0x6b, 0x2c, 0x5b, 0xa4, 0xa1, 0x3d, 0xd6, 0xc2, 0xf6, 0x5e, 0x89, 0xc4}
}

// CoreCommunity returns the reserved community of the core overlay messages,
// 0cf79f5a-54b6-5aea-93ce-9a029e3b5872: UUIDv5(Namespace, "walkie/core").
// No application community may use the name "walkie/core".
func CoreCommunity() ID {
	return ID{0x0c, 0xf7, 0x9f, 0x5a, 0x54, 0xb6, 0x5a, 0xea, 0x93, 0xce, 0x9a, 0x02, 0x9e, 0x3b, 0x58, 0x72}
}

// KeyDerived reports whether id is a version-5 UUID: as a peer ID, the
// UUIDv5 of a public key (community.IDFromKey), which only a peer that
// proved that key may hold. The previous release's peer IDs are random
// (version 4).
func (id ID) KeyDerived() bool { return id[6]>>4 == 5 && id[8]>>6 == 2 }
