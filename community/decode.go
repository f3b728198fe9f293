package community

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/walkie-p2p/walkie/proto"
)

// ErrMalformed is what Decode, and so a Typed handler, returns for a body
// that is not a well-formed message (match it with errors.Is). It tells bad
// input from a handler's own failures.
var ErrMalformed = errors.New("community: malformed body")

// Decode decodes body, exactly one msgpack value, into v, a non-nil pointer,
// with msgpack/v5 (so struct tags such as `msgpack:"t"` apply, and a struct
// may come as a map or as an array of exactly its fields). It runs
// proto.CheckMsgpack first, which is what makes a general decoder safe on a
// body from anyone. Decode guarantees:
//
//   - Allocation at most proportional to the body. Every declared length and
//     count fits in the bytes left, so no string, byte slice, slice or map
//     gets more bytes or elements than the body has; each element costs
//     the size of the Go value v's type makes for it. Without the check, a
//     1 KB body claiming a 4 GiB bin makes msgpack/v5 allocate 4 GiB.
//   - Work linear in the body, nesting included, and a body of at most
//     proto.MaxDatagram bytes.
//   - One meaning per body: bytes after the value are refused.
//   - No extension values (msgpack/v5 writes a time.Time as one; send times
//     as integers): their payload is opaque to the check, yet the library
//     reads a map through an extension's header.
//   - No panic: the library panics on some hostile bodies (a bin used as a
//     key of a map[any]any), and Decode returns that as ErrMalformed.
//   - v shares no memory with body: keep it after the handler returns.
//
// Refusing a body that fails the check allocates nothing. Such an error also
// matches the proto sentinel that says why, so proto.Reason labels it.
//
// Decode does not check meaning. msgpack/v5 is lenient about form: it
// converts integers between widths and signs without a range check (300
// into a uint8 is 44, -1 into a uint64 is its maximum: decode into a 64-bit
// field and check the range), reads a bin as a string and nil as a zero
// value, leaves a field the body lacks as it was (zero, in a fresh value)
// and skips keys that match no field. Required fields, exact lengths,
// ranges and limits such as "text at most 1000 bytes" stay the caller's to
// check after Decode, and so does a canonical form if equal messages must
// have equal bytes.
//
// A v that is not a non-nil pointer is the caller's mistake, reported as an
// error that is not ErrMalformed.
func Decode(body []byte, v any) (err error) {
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("community: Decode into %T: need a non-nil pointer", v)
	}
	if err := proto.CheckMsgpack(body); err != nil {
		return malformed(err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = &malformedError{fmt.Errorf("msgpack: %v", r)}
		}
	}()
	// Unmarshal's decoder, but with every option reset on purpose: no
	// preallocation of values ahead of the body (an option that would start a
	// goroutine per type), no lifting of the library's allocation limits.
	dec := msgpack.GetDecoder()
	dec.Reset(bytes.NewReader(body))
	err = dec.Decode(v)
	msgpack.PutDecoder(dec)
	if err != nil {
		return &malformedError{err}
	}
	return nil
}

// Typed adapts h into a Handler that decodes each body with Decode into a
// fresh T and calls h with it, so an author never touches raw bytes:
//
//	{Type: 1, Name: "note", MaxSize: 200, Handle: community.Typed(c.onNote)}
//
// A body that does not decode never reaches h: the Handler returns Decode's
// error, an ErrMalformed, which the node logs and counts as a dropped
// message. msg is h's to keep. What Decode does not check (see there), h
// checks before it trusts msg.
func Typed[T any](h func(ctx context.Context, from Peer, msg *T) error) Handler {
	return func(ctx context.Context, from Peer, body []byte) error {
		msg := new(T)
		if err := Decode(body, msg); err != nil {
			return err
		}
		return h(ctx, from, msg)
	}
}

// malformedError is Decode's error for bad input: it is ErrMalformed, and it
// unwraps to its cause.
type malformedError struct{ cause error }

func (e *malformedError) Error() string { return ErrMalformed.Error() + ": " + e.cause.Error() }

// Is makes the error ErrMalformed without a second wrapper, which would
// allocate.
func (e *malformedError) Is(target error) bool { return target == ErrMalformed }

// Unwrap gives the cause, for errors.Is with proto's sentinels.
func (e *malformedError) Unwrap() error { return e.cause }

// The errors for the causes proto.CheckMsgpack returns, made once, so that
// refusing a hostile body allocates nothing. Never modified.
var (
	errShort    error = &malformedError{proto.ErrShort}
	errBadBody  error = &malformedError{proto.ErrBadBody}
	errTooLarge error = &malformedError{proto.ErrTooLarge}
)

// malformed wraps a cause from proto.CheckMsgpack.
func malformed(cause error) error {
	switch cause {
	case proto.ErrShort:
		return errShort
	case proto.ErrBadBody:
		return errBadBody
	case proto.ErrTooLarge:
		return errTooLarge
	}
	return &malformedError{cause}
}
