package game

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/walkie-p2p/walkie/community"
)

// Version is the game protocol version this package speaks. Version 1, the
// first release, had the types 1 to 4, bodies with no version, and a
// commitment that bound neither the game nor the player; version 2 binds
// both (Commitment).
//
// Every body of version 2 or later is a msgpack map whose first entry is
// keyVersion, a uint: a decoder reads it before anything else, so that a
// node refuses a body of a version it does not speak by that number
// (*VersionError), whatever the rest holds. A version 1 node skips unknown
// keys, so it would have read a version 2 body of its own types as one of
// its own: version 2 moved to new types, which a version 1 node drops as
// unknown (its core counts them as unknown_type).
const Version = 2

// Message types of the game community. Wire constants: append only, never
// renumber.
const (
	// The types of version 1. A node of this version refuses their bodies
	// (ReasonVersion) and answers all but a reject with a version 1 reject,
	// which makes a version 1 node void its game.
	TypeInviteV1 community.Type = 1
	TypeCommitV1 community.Type = 2
	TypeRevealV1 community.Type = 3
	TypeRejectV1 community.Type = 4

	TypeInvite community.Type = 5 // {version, game}: play a game with me
	TypeCommit community.Type = 6 // {version, game, hash}: my move is committed (accepts an invite)
	TypeReveal community.Type = 7 // {version, game, move, nonce}: my move, which must match my commitment
	TypeReject community.Type = 8 // {version, game, reason}: your message was rejected, and why
)

// Body keys, shared by all types so that one decoder serves every message.
// Wire constants: append only, never renumber.
const (
	keyVersion = 0 // uint, the first entry of every body of the current types: Version
	keyGame    = 1 // bin, GameIDLen bytes
	keyHash    = 2 // bin, HashLen bytes
	keyMove    = 3 // uint, a Move
	keyNonce   = 4 // bin, NonceLen bytes
	keyReason  = 5 // str, at most MaxReason bytes
	keyDone    = 6 // uint, optional on a reveal: 1 = the sender has finished, do not answer
)

// Lengths on the wire.
const (
	GameIDLen = 16 // a random game ID
	HashLen   = 32 // SHA-256
	NonceLen  = 32 // the commitment's random nonce: guessing it is as hard as breaking SHA-256
	MaxReason = 64 // a rejection reason

	// maxFields bounds the entries of one body after the version, so a
	// body of tiny unknown entries cannot make the decoder loop long.
	maxFields = 8
	// MaxBody is the largest body of any type, the MaxSize of every spec:
	// a reveal or a reject with some room for fields added later.
	MaxBody = 160
)

// GameID identifies one game. The challenger draws it at random.
type GameID [GameIDLen]byte

// String returns the ID in hex, as the API shows it.
func (g GameID) String() string { return fmt.Sprintf("%x", g[:]) }

// ParseGameID parses the hex form String returns.
func ParseGameID(s string) (GameID, error) {
	var g GameID
	if len(s) != 2*GameIDLen {
		return GameID{}, errors.New("game: a game ID is 32 hex digits")
	}
	if _, err := hex.Decode(g[:], []byte(s)); err != nil {
		return GameID{}, errors.New("game: a game ID is 32 hex digits")
	}
	return g, nil
}

// Message is a decoded message of any type; fields absent on the wire are zero.
type Message struct {
	Game   GameID
	Hash   [HashLen]byte
	Move   Move
	Nonce  [NonceLen]byte
	Reason string
	Done   bool // on a reveal: the sender has finished the game
}

// Errors of the decoder, both community.ErrMalformed: bad input, not a
// failure of ours.
var (
	errMalformed = fmt.Errorf("game: %w", community.ErrMalformed)
	errMissing   = fmt.Errorf("game: missing field: %w", community.ErrMalformed)
)

// VersionError is what Decode returns for a well-formed body of another
// version of the game protocol: one of the version 1 types, or a body of
// the current types whose version is not Version.
type VersionError struct {
	Type    community.Type
	Version uint64
	// Game is the game a version 1 body names, so that the sender can be
	// told; zero for other versions, whose layout we do not know.
	Game GameID
}

// Error implements error.
func (e *VersionError) Error() string {
	return fmt.Sprintf("game: type %d: body of protocol version %d, this node speaks %d", e.Type, e.Version, Version)
}

// versioned reports whether bodies of type t carry a version: the types of
// version 2 on.
func versioned(t community.Type) bool { return t >= TypeInvite && t <= TypeReject }

// fieldsOf lists the keys each type carries, besides the version, in the
// order they are written.
func fieldsOf(t community.Type) []int {
	switch t {
	case TypeInvite, TypeInviteV1:
		return []int{keyGame}
	case TypeCommit, TypeCommitV1:
		return []int{keyGame, keyHash}
	case TypeReveal, TypeRevealV1:
		return []int{keyGame, keyMove, keyNonce}
	case TypeReject, TypeRejectV1:
		return []int{keyGame, keyReason}
	}
	return nil
}

// Encode returns the body of a message of type t: Version first, then the
// fields of t, and only those. A version 1 type gets the version 1 layout,
// which has no version, so that a node can answer a version 1 peer in words
// it reads.
func Encode(t community.Type, b *Message) ([]byte, error) {
	keys := fieldsOf(t)
	if keys == nil {
		return nil, fmt.Errorf("game: unknown type %d", t)
	}
	if len(b.Reason) > MaxReason {
		return nil, errors.New("game: reason too long")
	}
	if (t == TypeReveal || t == TypeRevealV1) && b.Done {
		keys = append(keys[:len(keys):len(keys)], keyDone)
	}
	if versioned(t) {
		keys = append([]int{keyVersion}, keys...)
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.EncodeMapLen(len(keys))
	for _, k := range keys {
		enc.EncodeUint(uint64(k))
		switch k {
		case keyVersion:
			enc.EncodeUint(Version)
		case keyGame:
			enc.EncodeBytes(b.Game[:])
		case keyHash:
			enc.EncodeBytes(b.Hash[:])
		case keyMove:
			enc.EncodeUint(uint64(b.Move))
		case keyNonce:
			enc.EncodeBytes(b.Nonce[:])
		case keyReason:
			enc.EncodeString(b.Reason)
		case keyDone:
			enc.EncodeUint(1)
		}
	}
	// Writes to a bytes.Buffer cannot fail.
	return buf.Bytes(), nil
}

// Decode parses a body of type t. A body of the current types must start
// with the version, and one of another version is a *VersionError, as is
// any well-formed body of a version 1 type. Every field of t must be
// present with its exact length; unknown keys and the fields of other types
// are skipped (a later version may add some, of any msgpack type but an
// extension); trailing bytes are refused. The body goes through
// community.Decode, so no declared length costs more than the body.
func Decode(t community.Type, data []byte) (Message, error) {
	want := fieldsOf(t)
	if want == nil {
		return Message{}, fmt.Errorf("game: unknown type %d", t)
	}
	if len(data) > MaxBody {
		return Message{}, errMalformed
	}
	d := decoding{versioned: versioned(t), allowed: allowedKeys(t, want)}
	err := community.Decode(data, &d)
	if d.other {
		return Message{}, &VersionError{Type: t, Version: d.version}
	}
	if err != nil || !d.done {
		return Message{}, errMalformed
	}
	for _, k := range want {
		if d.seen&(1<<k) == 0 {
			return Message{}, errMissing
		}
	}
	if !d.versioned {
		return Message{}, &VersionError{Type: t, Version: 1, Game: d.m.Game}
	}
	return d.m, nil
}

// allowedKeys is the set of keys a body of type t may carry, besides the
// version.
func allowedKeys(t community.Type, want []int) uint64 {
	var allowed uint64
	for _, k := range want {
		allowed |= 1 << k
	}
	if t == TypeReveal || t == TypeRevealV1 {
		allowed |= 1 << keyDone
	}
	return allowed
}

// decoding is a body being decoded: community.Decode checks its lengths,
// then calls DecodeMsgpack.
type decoding struct {
	versioned bool    // the body must start with the version
	allowed   uint64  // keys of the type; others are skipped
	seen      uint64  // keys read
	done      bool    // DecodeMsgpack ran (a nil body skips it)
	other     bool    // the body is of another version, which version says
	version   uint64  // the version the body carries
	m         Message // the fields read
}

// errOtherVersion stops DecodeMsgpack at a version it does not speak.
var errOtherVersion = errors.New("game: another version")

// DecodeMsgpack reads the body's map: the version first if the type has
// one, at most maxFields entries, each key once, the type's fields with
// their exact lengths and ranges.
func (d *decoding) DecodeMsgpack(dec *msgpack.Decoder) error {
	d.done = true
	n, err := dec.DecodeMapLen()
	if err != nil || n < 0 {
		return errMalformed
	}
	if d.versioned {
		// Before the count and the other fields: a later version may have
		// more, or other shapes, and must still be refused by its number.
		if n < 1 {
			return errMissing
		}
		if k, err := dec.DecodeUint64(); err != nil || k != keyVersion {
			return errMissing
		}
		if d.version, err = dec.DecodeUint64(); err != nil {
			return errMalformed
		}
		if d.version != Version {
			d.other = true
			return errOtherVersion
		}
		d.seen |= 1 << keyVersion
		n--
	}
	if n > maxFields {
		return errMalformed
	}
	b := &d.m
	for range n {
		k, err := dec.DecodeUint64()
		if err != nil || k >= 64 || d.seen&(1<<k) != 0 {
			return errMalformed
		}
		d.seen |= 1 << k
		if d.allowed&(1<<k) == 0 {
			// An unknown key, or another type's field.
			if dec.Skip() != nil {
				return errMalformed
			}
			continue
		}
		switch k {
		case keyGame:
			err = decodeFixed(dec, b.Game[:])
		case keyHash:
			err = decodeFixed(dec, b.Hash[:])
		case keyNonce:
			err = decodeFixed(dec, b.Nonce[:])
		case keyMove:
			var m uint64
			if m, err = dec.DecodeUint64(); err == nil && m > 255 {
				err = errMalformed
			}
			b.Move = Move(m)
		case keyDone:
			var v uint64
			if v, err = dec.DecodeUint64(); err == nil && v > 1 {
				err = errMalformed
			}
			b.Done = v == 1
		case keyReason:
			if b.Reason, err = dec.DecodeString(); err == nil && len(b.Reason) > MaxReason {
				err = errMalformed
			}
		}
		if err != nil {
			return errMalformed
		}
	}
	return nil
}

// decodeFixed reads a bin of exactly len(dst) bytes into dst.
func decodeFixed(dec *msgpack.Decoder, dst []byte) error {
	v, err := dec.DecodeBytes()
	if err != nil || len(v) != len(dst) {
		return errMalformed
	}
	copy(dst, v)
	return nil
}
