package chat

import (
	"bytes"
	"encoding/binary"
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
	// MaxText is the longest text, in bytes of UTF-8.
	MaxText = 1000
	// MaxLamport bounds Lamport times: 2^53, exact in a JSON number, and
	// so large that no honest room reaches it, while a peer that sends a
	// huge time cannot wrap our clock around.
	MaxLamport = 1 << 53
	// maxMessageBody is the largest encoded message: two 16-byte IDs, a
	// uint64 and MaxText bytes of string, with their msgpack prefixes.
	maxMessageBody = 1 + 2*(2+16) + 9 + 3 + MaxText
)

// Message is one chat message. Its order in a history is by Lamport time,
// then author, then ID: a total order every node computes alike.
type Message struct {
	ID      uuid.UUID `json:"id"`      // random (UUIDv4), chosen by the author
	Author  uuid.UUID `json:"author"`  // the author's peer ID
	Lamport uint64    `json:"lamport"` // the author's Lamport time when posting
	Text    string    `json:"text"`
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

// encode returns the message's body: the msgpack array [id bin (16 bytes), author
// bin (16 bytes), lamport uint, text str].
func (m *Message) encode() []byte {
	var buf bytes.Buffer
	buf.Grow(maxMessageBody)
	e := msgpack.NewEncoder(&buf)
	// Writes to a bytes.Buffer cannot fail.
	_ = e.EncodeArrayLen(4)
	_ = e.EncodeBytes(m.ID[:])
	_ = e.EncodeBytes(m.Author[:])
	_ = e.EncodeUint(m.Lamport)
	_ = e.EncodeString(m.Text)
	return buf.Bytes()
}

// errBadBody says a body is well-formed msgpack but not a well-formed
// message. It is a community.ErrMalformed, like what community.Decode
// returns for a body that is not even that.
var errBadBody = fmt.Errorf("chat: malformed message: %w", community.ErrMalformed)

// messageBody is a message as its body carries it: msgpack/v5 reads a
// struct from an array of exactly its fields.
type messageBody struct {
	ID, Author []byte
	Lamport    uint64
	Text       string
}

// decodeMessage parses and checks a message body: exact lengths, a Lamport
// time in 1..MaxLamport, a valid text, the canonical encoding, no trailing
// bytes.
func decodeMessage(b []byte) (Message, error) {
	var m Message
	if len(b) > maxMessageBody {
		return m, errBadBody
	}
	var w messageBody
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
	// One encoding per message: msgpack allows several (a small number in
	// 8 bytes, a short string with a long prefix, a bin for the text, a map
	// for the array), and the decoder takes them all; accepting only ours
	// keeps the stored bytes and the fuzz round trip exact.
	if !bytes.Equal(m.encode(), b) {
		return Message{}, errBadBody
	}
	return m, nil
}
