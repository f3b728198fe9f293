package game

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/walkie-p2p/walkie/community"
)

// Message types of the game community. Wire constants: append only, never
// renumber.
const (
	TypeInvite community.Type = 1 // {game}: play a game with me
	TypeCommit community.Type = 2 // {game, hash}: my move is committed (accepts an invite)
	TypeReveal community.Type = 3 // {game, move, nonce}: my move, which must match my commitment
	TypeReject community.Type = 4 // {game, reason}: your message was rejected, and why
)

// Body keys, shared by all types so that one decoder serves every message.
// Wire constants: append only, never renumber.
const (
	keyGame   = 1 // bin, GameIDLen bytes
	keyHash   = 2 // bin, HashLen bytes
	keyMove   = 3 // uint, a Move
	keyNonce  = 4 // bin, NonceLen bytes
	keyReason = 5 // str, at most MaxReason bytes
	keyDone   = 6 // uint, optional on a reveal: 1 = the sender has finished, do not answer
)

// Lengths on the wire.
const (
	GameIDLen = 16 // a random game ID
	HashLen   = 32 // SHA-256
	NonceLen  = 32 // the commitment's random nonce: guessing it is as hard as breaking SHA-256
	MaxReason = 64 // a rejection reason

	// maxFields bounds the entries of one body, so a body of tiny unknown
	// entries cannot make the decoder loop long.
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

// fieldsOf lists the keys each type carries, in the order they are written.
func fieldsOf(t community.Type) []int {
	switch t {
	case TypeInvite:
		return []int{keyGame}
	case TypeCommit:
		return []int{keyGame, keyHash}
	case TypeReveal:
		return []int{keyGame, keyMove, keyNonce}
	case TypeReject:
		return []int{keyGame, keyReason}
	}
	return nil
}

// Encode returns the body of a message of type t. Only the fields of t are
// written.
func Encode(t community.Type, b *Message) ([]byte, error) {
	keys := fieldsOf(t)
	if keys == nil {
		return nil, fmt.Errorf("game: unknown type %d", t)
	}
	if len(b.Reason) > MaxReason {
		return nil, errors.New("game: reason too long")
	}
	if t == TypeReveal && b.Done {
		keys = append(keys[:len(keys):len(keys)], keyDone)
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.EncodeMapLen(len(keys))
	for _, k := range keys {
		enc.EncodeUint(uint64(k))
		switch k {
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

// Decode parses a body of type t. Every field of t must be present with its
// exact length; unknown keys and the fields of other types are skipped (a
// later version may add some, of any msgpack type but an extension);
// trailing bytes are refused. The body goes through community.Decode, so no
// declared length costs more than the body.
func Decode(t community.Type, data []byte) (Message, error) {
	want := fieldsOf(t)
	if want == nil {
		return Message{}, fmt.Errorf("game: unknown type %d", t)
	}
	if len(data) > MaxBody {
		return Message{}, errMalformed
	}
	d := decoding{allowed: allowedKeys(t, want)}
	if err := community.Decode(data, &d); err != nil || !d.done {
		return Message{}, errMalformed
	}
	for _, k := range want {
		if d.seen&(1<<k) == 0 {
			return Message{}, errMissing
		}
	}
	return d.m, nil
}

// allowedKeys is the set of keys a body of type t may carry.
func allowedKeys(t community.Type, want []int) uint {
	var allowed uint
	for _, k := range want {
		allowed |= 1 << k
	}
	if t == TypeReveal {
		allowed |= 1 << keyDone
	}
	return allowed
}

// decoding is a body being decoded: community.Decode checks its lengths,
// then calls DecodeMsgpack.
type decoding struct {
	allowed uint    // keys of the type; others are skipped
	seen    uint    // keys read
	done    bool    // DecodeMsgpack ran (a nil body skips it)
	m       Message // the fields read
}

// DecodeMsgpack reads the body's map: at most maxFields entries, each key
// once, the type's fields with their exact lengths and ranges.
func (d *decoding) DecodeMsgpack(dec *msgpack.Decoder) error {
	d.done = true
	n, err := dec.DecodeMapLen()
	if err != nil || n < 0 || n > maxFields {
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
			k = 0 // another type's field: skipped like an unknown key
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
		default:
			err = dec.Skip()
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
