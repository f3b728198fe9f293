package proto

import "encoding/binary"

// A sealed datagram carries a whole plaintext datagram (header and body),
// encrypted and authenticated with the session keys two peers agreed on in
// their handshake:
//
//	 0       1       2       3               7                              15
//	+-------+-------+-------+---------------+------------- ... ------------+
//	|  'W'  |  'K'  | 0x81  | receiver index|   counter (8 bytes)          |
//	| 0x57  | 0x4B  |sealed | (4 bytes)     |                              |
//	+-------+-------+-------+---------------+------------- ... ------------+
//	| ciphertext of the inner datagram ...          | tag (16 bytes)       |
//	+------------------------------------- ... ----+----------------------+
//
// The magic stays, so other protocols on the same port are still told apart
// by their first bytes; byte 2, where a plaintext datagram has its version,
// says "sealed" (a node of the previous release drops it as bad_version).
// The receiver index names the receiver's session (so a peer that moves
// keeps it: the session belongs to the key, not the address), the counter
// is the AEAD nonce and the replay window's sequence number, and the 15
// bytes of the prefix are the AEAD's additional data. docs/protocol.md has
// the details.

// Sealed is byte 2 of a sealed datagram.
const Sealed = 0x81

// Sizes of a sealed datagram's parts.
const (
	SealedPrefixLen = 15 // magic, Sealed, receiver index, counter
	SealTagLen      = 16 // the AEAD tag
	// SealOverhead is what sealing adds to a datagram.
	SealOverhead = SealedPrefixLen + SealTagLen
	// MaxSealedInner is the largest datagram that can be sealed: the
	// sealed one must still fit in MaxDatagram.
	MaxSealedInner = MaxDatagram - SealOverhead
)

// IsSealed reports whether b starts like a sealed datagram. It checks only
// the first three bytes: ParseSealed checks the rest.
func IsSealed(b []byte) bool {
	return len(b) >= 3 && b[0] == Magic0 && b[1] == Magic1 && b[2] == Sealed
}

// AppendSealedPrefix appends the prefix of a sealed datagram to b.
func AppendSealedPrefix(b []byte, index uint32, counter uint64) []byte {
	b = append(b, Magic0, Magic1, Sealed)
	b = binary.BigEndian.AppendUint32(b, index)
	return binary.BigEndian.AppendUint64(b, counter)
}

// ParseSealed splits a sealed datagram into its receiver index, counter,
// additional data (the prefix) and ciphertext (with the tag). ct aliases
// b. A datagram too short to hold an inner header is ErrShort, one over
// MaxDatagram ErrTooLarge, one that is not sealed ErrBadMagic or
// ErrBadVersion.
func ParseSealed(b []byte) (index uint32, counter uint64, ad, ct []byte, err error) {
	switch {
	case len(b) > MaxDatagram:
		return 0, 0, nil, nil, ErrTooLarge
	case len(b) >= 2 && (b[0] != Magic0 || b[1] != Magic1):
		return 0, 0, nil, nil, ErrBadMagic
	case len(b) >= 3 && b[2] != Sealed:
		return 0, 0, nil, nil, ErrBadVersion
	case len(b) < SealOverhead+MinHeaderLen:
		return 0, 0, nil, nil, ErrShort
	}
	index = binary.BigEndian.Uint32(b[3:7])
	counter = binary.BigEndian.Uint64(b[7:15])
	return index, counter, b[:SealedPrefixLen:SealedPrefixLen], b[SealedPrefixLen:], nil
}
