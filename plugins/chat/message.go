package chat

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/walkie-p2p/walkie/community"
)

// Limits of a message. They are part of the protocol: every body fits in one
// datagram, so no message is ever fragmented or reassembled.
const (
	// MaxText is the longest text, in bytes of UTF-8. A signed message
	// with it takes 1,114 bytes, within the 1,194 a community body to an
	// authenticated peer may take.
	MaxText = 1000
	// MaxLamport bounds Lamport times: 2^53, exact in a JSON number, and
	// so large that no honest room reaches it, while a peer that sends a
	// huge time cannot wrap our clock around.
	MaxLamport = 1 << 53
)

// Message is one chat message as the history shows it. Its order in a
// history is by Lamport time, then author, then ID: a total order every
// node computes alike.
//
// A signed message (version 2) carries its author's key and signature;
// Author and ID derive from what it signed (docs/protocol.md), so neither
// can be claimed, and anybody who knows the room's name can check it. An
// unsigned one is a version 1 message kept from before the upgrade: its
// Author and ID are what its sender claimed, and it stays on this node
// (sync never offers it).
type Message struct {
	ID      uuid.UUID `json:"id"`      // signed: from the signed bytes; unsigned: the sender's claim
	Author  uuid.UUID `json:"author"`  // the author's peer ID: signed, community.IDFromKey(Key)
	Lamport uint64    `json:"lamport"` // the author's Lamport time when posting
	Text    string    `json:"text"`
	Signed  bool      `json:"signed"`       // a version 2 message, checked when it arrived
	Key     PublicKey `json:"key,omitzero"` // the author's Ed25519 key; zero when unsigned
	Sig     Signature `json:"sig,omitzero"` // the author's signature; zero when unsigned
}

// PublicKey is an Ed25519 public key, shown in JSON as 64 hex digits.
type PublicKey [ed25519.PublicKeySize]byte

// Signature is an Ed25519 signature, shown in JSON as 128 hex digits.
type Signature [ed25519.SignatureSize]byte

// MarshalText implements encoding.TextMarshaler: hex.
func (k PublicKey) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, k[:]), nil }

// UnmarshalText implements encoding.TextUnmarshaler: 64 hex digits.
func (k *PublicKey) UnmarshalText(b []byte) error { return unhex(k[:], b) }

// MarshalText implements encoding.TextMarshaler: hex.
func (s Signature) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, s[:]), nil }

// UnmarshalText implements encoding.TextUnmarshaler: 128 hex digits.
func (s *Signature) UnmarshalText(b []byte) error { return unhex(s[:], b) }

// unhex decodes exactly len(dst) bytes of hex.
func unhex(dst, src []byte) error {
	if len(src) != 2*len(dst) {
		return fmt.Errorf("chat: want %d hex digits", 2*len(dst))
	}
	_, err := hex.Decode(dst, src)
	return err
}

// encode returns m's body: signed, as version 2 sends it, or unsigned, as
// version 1 stored it.
func (m *Message) encode() []byte {
	if !m.Signed {
		return m.encodeV1()
	}
	s := signedMessage{Key: m.Key, Lamport: m.Lamport, Text: m.Text, Sig: m.Sig}
	return s.encode()
}

// Errors about a message's content. ErrBadText wraps the others, so that an
// API can answer every one of them as a client mistake.
var (
	ErrBadText = errors.New("chat: bad text")
	ErrEmpty   = fmt.Errorf("%w: empty", ErrBadText)
	ErrTooLong = fmt.Errorf("%w: longer than %d bytes", ErrBadText, MaxText)
	ErrUTF8    = fmt.Errorf("%w: not valid UTF-8", ErrBadText)
)

// checkText says what is wrong with a text, if anything.
func checkText(s string) error {
	switch {
	case s == "":
		return ErrEmpty
	case len(s) > MaxText:
		return ErrTooLong
	case !utf8.ValidString(s):
		return ErrUTF8
	}
	return nil
}

// keyLen is the length of a message's order key.
const keyLen = 8 + 16 + 16

// key is the message's order key: big-endian Lamport time, author, ID, so
// that byte order is history order (bbolt iterates keys in byte order).
func (m *Message) key() [keyLen]byte {
	var k [keyLen]byte
	binary.BigEndian.PutUint64(k[:8], m.Lamport)
	copy(k[8:24], m.Author[:])
	copy(k[24:], m.ID[:])
	return k
}

// less orders messages as histories do.
func (m *Message) less(n *Message) bool {
	a, b := m.key(), n.key()
	return bytes.Compare(a[:], b[:]) < 0
}

// errBadBody says a body is well-formed msgpack but not a well-formed
// message. It is a community.ErrMalformed, like what community.Decode
// returns for a body that is not even that.
var errBadBody = fmt.Errorf("chat: malformed message: %w", community.ErrMalformed)

// decodeStored reads a message of the history of community cid: a signed
// one (version 2), or an unsigned one kept from version 1. Signatures were
// checked when the messages arrived, not again.
func decodeStored(cid community.ID, b []byte) (Message, error) {
	if len(b) > 0 && b[0] == 0x94 { // version 1: an array of 4
		return decodeV1(b)
	}
	s, err := decodeSigned(b)
	if err != nil {
		return Message{}, err
	}
	m, _ := s.message(cid)
	return m, nil
}

// isSigned reports whether a stored body is a signed message, by its first
// two bytes (an array of 5, version 2); the others stay on this node.
func isSigned(b []byte) bool {
	return len(b) > 1 && b[0] == 0x95 && b[1] == Version
}

// encodeV1 returns m's body as version 1 wrote it: the msgpack array [id
// bin (16 bytes), author bin (16 bytes), lamport uint, text str]. Only
// files of that version, and tests, hold such bodies.
func (m *Message) encodeV1() []byte {
	var buf bytes.Buffer
	buf.Grow(maxMessageBodyV1)
	e := msgpack.NewEncoder(&buf)
	_ = e.EncodeArrayLen(4)
	_ = e.EncodeBytes(m.ID[:])
	_ = e.EncodeBytes(m.Author[:])
	_ = e.EncodeUint(m.Lamport)
	_ = e.EncodeString(m.Text)
	return buf.Bytes()
}

// messageV1 is a version 1 message as its body carries it: msgpack/v5
// reads a struct from an array of exactly its fields.
type messageV1 struct {
	ID, Author []byte
	Lamport    uint64
	Text       string
}

// decodeV1 parses and checks a version 1 body, as version 1 did: exact
// lengths, a Lamport time in 1..MaxLamport, a valid text, the canonical
// encoding, no trailing bytes. The message is unsigned.
func decodeV1(b []byte) (Message, error) {
	var m Message
	if len(b) > maxMessageBodyV1 {
		return m, errBadBody
	}
	var w messageV1
	if err := community.Decode(b, &w); err != nil {
		return m, err
	}
	if len(w.ID) != len(m.ID) || len(w.Author) != len(m.Author) || w.Lamport == 0 || w.Lamport > MaxLamport {
		return m, errBadBody
	}
	copy(m.ID[:], w.ID)
	copy(m.Author[:], w.Author)
	m.Lamport, m.Text = w.Lamport, w.Text
	if err := checkText(m.Text); err != nil {
		return Message{}, err
	}
	if !bytes.Equal(m.encodeV1(), b) {
		return Message{}, errBadBody
	}
	return m, nil
}
