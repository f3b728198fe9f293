package chat

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/walkie-p2p/walkie/community"
)

// Version is the chat protocol version this package speaks. Version 1, the
// release before, had unsigned messages whose author and ID were fields of
// their own (types 1 and 2); version 2 signs every message (docs/protocol.md,
// "The chat community").
//
// Every body of version 2 or later is a msgpack array whose first element
// is the version, a uint: a decoder reads it before anything else, so that
// a body of a version it does not speak is refused by that number
// (*VersionError), whatever the rest holds. A version 1 node would have read
// a body of its own types with its own decoder, so version 2 moved to new
// types, which a version 1 node drops as unknown (its core counts them as
// unknown_type).
const Version = 2

// Message types of the chat community. Wire constants: append only, never
// renumber.
const (
	// The types of version 1. Their bodies are refused (Stats.Version1) and
	// never answered: version 1 has no message that could tell its sender.
	typeMessageV1 community.Type = 1
	typeSyncV1    community.Type = 2

	typeMessage community.Type = 3 // one signed message (a post, or an answer to a sync)
	typeSync    community.Type = 4 // a syncRequest
)

// Largest bodies of version 1, so that they reach the handler that counts
// them rather than being dropped by size without a word about the version.
const (
	maxMessageBodyV1 = 1 + 2*(2+16) + 9 + 3 + MaxText
	maxSyncBodyV1    = maxSyncBody - 1
)

// signTag starts the bytes a chat message's signature covers: it names
// the purpose and the version, so that nothing signed for anything else
// (another community, a later version) passes for a chat message.
const signTag = "walkie chat message v2\x00"

// signedLen is the length of what a signature covers, but for the text:
// the tag, the community ID, the key and the Lamport time.
const signedLen = len(signTag) + 16 + ed25519.PublicKeySize + 8

// maxMessageBody is the largest encoded message: the array header, the
// version, the key (bin8 of 32), a uint64, MaxText bytes of string (str16)
// and the signature (bin8 of 64). It fits a datagram sealed to an IPv6
// peer (proto.MaxSealedInner less a 55-byte header: 1,194 bytes).
const maxMessageBody = 1 + 1 + 2 + ed25519.PublicKeySize + 9 + 3 + MaxText + 2 + ed25519.SignatureSize

// VersionError is what the decoders return for a well-formed body of
// another version of the chat protocol: a body of a version 1 type, or one
// of our types whose version is not Version.
type VersionError struct {
	Type    community.Type
	Version uint64
}

// Error implements error.
func (e *VersionError) Error() string {
	return fmt.Sprintf("chat: type %d: body of chat protocol version %d, this node speaks %d", e.Type, e.Version, Version)
}

// ErrBadSignature says a message's signature does not verify with the key
// it carries, over the bytes it carries in this room: a forged author or a
// relabelled copy (another Lamport time, text or room).
var ErrBadSignature = errors.New("chat: bad signature")

// signedMessage is a message as its body carries it: the author's key, the
// Lamport time, the text and the signature. The author and the ID derive
// from them (open); the wire has no field of its own for either.
type signedMessage struct {
	Key     PublicKey
	Lamport uint64
	Text    string
	Sig     Signature
}

// signedBytes is what the author of a message in community cid signs: the
// tag, the community ID (16 bytes), the key (32), the Lamport time (8, big
// endian) and the text. Every part before the text has a fixed length, so
// one sequence of bytes reads only one way.
func signedBytes(cid community.ID, key PublicKey, lamport uint64, text string) []byte {
	b := make([]byte, 0, signedLen+len(text))
	b = append(b, signTag...)
	b = append(b, cid[:]...)
	b = append(b, key[:]...)
	b = binary.BigEndian.AppendUint64(b, lamport)
	return append(b, text...)
}

// idOf derives a message's ID from its signed bytes: the first 16 bytes of
// their SHA-256. A copy with another ID is another message, whose
// signature does not verify.
func idOf(signed []byte) uuid.UUID {
	sum := sha256.Sum256(signed)
	return uuid.UUID(sum[:16])
}

// message returns the message s carries in community cid, without checking
// its signature (what was stored was checked when it arrived), and the
// bytes it signs.
func (s *signedMessage) message(cid community.ID) (Message, []byte) {
	sb := signedBytes(cid, s.Key, s.Lamport, s.Text)
	return Message{ID: idOf(sb), Author: uuid.UUID(community.IDFromKey(s.Key[:])), Lamport: s.Lamport,
		Text: s.Text, Signed: true, Key: s.Key, Sig: s.Sig}, sb
}

// verify checks the signature of s over sb, the bytes that message
// returned with m: an error wrapping ErrBadSignature if it does not verify.
func (s *signedMessage) verify(m *Message, sb []byte) error {
	if !ed25519.Verify(s.Key[:], sb, s.Sig[:]) {
		return fmt.Errorf("%w: by %s at Lamport %d", ErrBadSignature, m.Author, m.Lamport)
	}
	return nil
}

// open checks the signature of s in community cid and returns its message,
// or ErrBadSignature.
func (s *signedMessage) open(cid community.ID) (Message, error) {
	m, sb := s.message(cid)
	if err := s.verify(&m, sb); err != nil {
		return Message{}, err
	}
	return m, nil
}

// encode returns the body: the msgpack array [version, key bin (32 bytes),
// lamport uint, text str, signature bin (64 bytes)].
func (s *signedMessage) encode() []byte {
	var buf bytes.Buffer
	buf.Grow(maxMessageBody)
	e := msgpack.NewEncoder(&buf)
	// Writes to a bytes.Buffer cannot fail.
	_ = e.EncodeArrayLen(5)
	_ = e.EncodeUint(Version)
	_ = e.EncodeBytes(s.Key[:])
	_ = e.EncodeUint(s.Lamport)
	_ = e.EncodeString(s.Text)
	_ = e.EncodeBytes(s.Sig[:])
	return buf.Bytes()
}

// decodeSigned parses and checks a message body: the version first, then
// exact lengths, a Lamport time in 1..MaxLamport, a valid text, the
// canonical encoding and nothing after it. It does not check the
// signature (open does).
func decodeSigned(b []byte) (signedMessage, error) {
	var s signedMessage
	if len(b) > maxMessageBody {
		return s, errBadBody
	}
	var w signedBody
	if err := community.Decode(b, &w); err != nil {
		return s, err
	}
	if len(w.key) != len(s.Key) || len(w.sig) != len(s.Sig) || w.lamport == 0 || w.lamport > MaxLamport {
		return s, errBadBody
	}
	s.Key, s.Sig = PublicKey(w.key), Signature(w.sig)
	s.Lamport, s.Text = w.lamport, w.text
	if err := checkText(s.Text); err != nil {
		return signedMessage{}, err
	}
	// One encoding per message: msgpack allows several, and the decoder
	// takes them all; accepting only ours keeps stored bytes and the fuzz
	// round trip exact.
	if !bytes.Equal(s.encode(), b) {
		return signedMessage{}, errBadBody
	}
	return s, nil
}

// signedBody is a message body as msgpack reads it, for decodeSigned.
type signedBody struct {
	key, sig []byte
	lamport  uint64
	text     string
}

// DecodeMsgpack reads the version before anything else, and refuses a body
// of another version by that number; then the four fields of version 2.
// community.Decode calls it once every length in the body is bounded.
func (w *signedBody) DecodeMsgpack(d *msgpack.Decoder) error {
	if err := readVersion(d, typeMessage, 5); err != nil {
		return err
	}
	var err error
	if w.key, err = d.DecodeBytes(); err != nil {
		return err
	}
	if err := peek(d, isUint); err != nil {
		return err
	}
	if w.lamport, err = d.DecodeUint64(); err != nil {
		return err
	}
	if err := peek(d, isStr); err != nil {
		return err
	}
	if w.text, err = d.DecodeString(); err != nil {
		return err
	}
	w.sig, err = d.DecodeBytes()
	return err
}

// readVersion reads the array header and the version of a body of type t,
// which must be Version in an array of n elements; another version is a
// *VersionError, whatever the array's length.
func readVersion(d *msgpack.Decoder, t community.Type, n int) error {
	if err := peek(d, func(c byte) bool { return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32 }); err != nil {
		return err
	}
	l, err := d.DecodeArrayLen()
	if err != nil {
		return err
	}
	if l < 1 {
		return errBadBody
	}
	if err := peek(d, isUint); err != nil {
		return err
	}
	v, err := d.DecodeUint64()
	if err != nil {
		return err
	}
	if v != Version {
		return &VersionError{Type: t, Version: v}
	}
	if l != n {
		return errBadBody
	}
	return nil
}

// isStr reports whether c starts a string.
func isStr(c byte) bool {
	return msgpcode.IsFixedString(c) || c == msgpcode.Str8 || c == msgpcode.Str16 || c == msgpcode.Str32
}
