package community

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/walkie-p2p/walkie/proto"
)

// note is a message as an author would declare it: short keys, a few kinds
// of field.
type note struct {
	ID   []byte         `msgpack:"i"`
	Seq  uint64         `msgpack:"s"`
	Text string         `msgpack:"t"`
	Tags []string       `msgpack:"g"`
	Meta map[string]int `msgpack:"m"`
	Next *note          `msgpack:"n"`
}

// pair is a message sent as an array, the most compact form: msgpack/v5
// reads any struct from an array of exactly its fields.
type pair struct {
	A uint16
	B string
}

// decodeGolden: bodies as msgpack/v5 writes them (pair as an array).
// Decode must read them back.
var decodeGolden = []struct {
	name string
	v    any // a pointer to the value
	hex  string
}{
	{"note", &note{ID: []byte{1, 2}, Seq: 300, Text: "hé", Tags: []string{"a"}, Meta: map[string]int{"k": -1}, Next: &note{Seq: 1}},
		"86" + "a169 c4020102" + "a173 cf000000000000012c" + "a174 a368c3a9" + "a167 91a161" + "a16d 81a16bff" +
			"a16e 86 a169c0 a173cf0000000000000001 a174a0 a167c0 a16dc0 a16ec0"},
	{"pair", &pair{A: 7, B: "x"}, "92 cd0007 a178"},
	{"string", ptr("walkie"), "a6 77616c6b6965"},
	{"bytes", &[]byte{0xff}, "c4 01 ff"},
	{"any", ptr[any](map[string]any{"a": []any{int8(1), "b"}}), "81 a161 92 d001 a162"},
}

func ptr[T any](v T) *T { return &v }

func golden(t testing.TB, h string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeGolden(t *testing.T) {
	for _, g := range decodeGolden {
		want := golden(t, g.hex)
		var buf bytes.Buffer
		e := msgpack.NewEncoder(&buf)
		e.UseArrayEncodedStructs(g.name == "pair")
		err := e.Encode(g.v)
		if enc := buf.Bytes(); err != nil || !bytes.Equal(enc, want) {
			t.Errorf("%s: msgpack writes %x, %v; want %x", g.name, enc, err, want)
		}
		got := reflect.New(reflect.TypeOf(g.v).Elem())
		if err := Decode(want, got.Interface()); err != nil {
			t.Errorf("%s: %v", g.name, err)
			continue
		}
		if !reflect.DeepEqual(got.Interface(), g.v) {
			t.Errorf("%s: decoded %+v, want %+v", g.name, got.Elem(), reflect.ValueOf(g.v).Elem())
		}
	}
}

// Every proper prefix of a body is refused as malformed and short, never
// half-decoded.
func TestDecodeTruncated(t *testing.T) {
	for _, g := range decodeGolden {
		b := golden(t, g.hex)
		for n := range len(b) {
			v := reflect.New(reflect.TypeOf(g.v).Elem()).Interface()
			err := Decode(b[:n], v)
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, proto.ErrShort) || proto.Reason(err) != "short" {
				t.Errorf("%s: %d of %d bytes: %v", g.name, n, len(b), err)
			}
		}
	}
}

// claim4GiB is a 1 KB body whose str32 claims 4 GiB.
func claim4GiB() []byte {
	return append([]byte{0xdb, 0xff, 0xff, 0xff, 0xff}, bytes.Repeat([]byte{'x'}, 1024-5)...)
}

func TestDecodeHostile(t *testing.T) {
	deep := append(bytes.Repeat([]byte{0x91}, proto.MaxDatagram-1), 0xc0)
	for _, tc := range []struct {
		name string
		body []byte
		want error // the proto cause, or nil for one from the library
	}{
		{"empty", nil, proto.ErrShort},
		{"str32 claims 4 GiB", claim4GiB(), proto.ErrShort},
		{"bin32 claims 4 GiB", golden(t, "81 a169 c6 ffffffff 00"), proto.ErrShort},
		{"array32 claims 4 billion", golden(t, "81 a167 dd ffffffff a0"), proto.ErrShort},
		{"map32 claims 4 billion", golden(t, "81 a16d df ffffffff a0 00"), proto.ErrShort},
		{"ext32 claims 4 GiB", golden(t, "c9 ffffffff 01 00"), proto.ErrBadBody},
		// Without the refusal of extensions, 56 MB for this 13-byte body:
		// msgpack/v5 reads a map through an extension header.
		{"map32 claim in a fixext8", golden(t, "81 a16d d7 ff df ffffffff 000000"), proto.ErrBadBody},
		{"a time", golden(t, "d6 ff 00000001"), proto.ErrBadBody},
		{"nesting never ends", bytes.Repeat([]byte{0x81, 0xa1, 0x6e}, 400), proto.ErrShort},
		{"trailing byte", golden(t, "81 a173 01 00"), proto.ErrBadBody},
		{"two values", golden(t, "80 80"), proto.ErrBadBody},
		{"never-used code", golden(t, "81 a173 c1"), proto.ErrBadBody},
		{"larger than a datagram", append(golden(t, "c5 04fe"), make([]byte, proto.MaxDatagram-2)...), proto.ErrTooLarge},
		{"wrong type", golden(t, "81 a173 a178"), nil},
		{"nested arrays for a note", deep, nil},
	} {
		for _, v := range []any{new(note), new(any), new(map[any]any)} {
			err := Decode(tc.body, v)
			if !errors.Is(err, ErrMalformed) {
				if tc.want != nil || err != nil {
					t.Errorf("%s into %T: %v, want ErrMalformed", tc.name, v, err)
				}
				continue
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%s into %T: %v, want %v", tc.name, v, err, tc.want)
			}
		}
	}
	// The deepest nesting a body can hold decodes: depth costs no more than
	// the body's length.
	var v any
	if err := Decode(deep, &v); err != nil {
		t.Errorf("1279 nested arrays into any: %v", err)
	}
	// msgpack/v5 panics on a key Go cannot hash; Decode returns it.
	for _, h := range []string{"81 c401ff 01", "81 91 01 01", "81 80 01"} {
		var m map[any]any
		if err := Decode(golden(t, h), &m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s into map[any]any: %v, want ErrMalformed", h, err)
		}
	}
}

// A 1 KB body claiming 4 GiB costs nothing at all; a valid 1 KB body costs
// a small multiple of its size. The library alone pays for what the body
// claims (measured on a 16 MiB claim, to keep the test light).
func TestDecodeAllocs(t *testing.T) {
	hostile := claim4GiB()
	arr := append([]byte{0xdd, 0xff, 0xff, 0xff, 0xff}, bytes.Repeat([]byte{1}, 1024-5)...)
	bin := append([]byte{0x81, 0xa1, 'i', 0xc6, 0xff, 0xff, 0xff, 0xff}, make([]byte, 1024-8)...)
	ext := golden(t, "81 a16d d7 ff df ffffffff 000000")
	var (
		n note
		a any
		s []int
		m map[any]any
	)
	for name, f := range map[string]func(){
		"str32 into a note":   func() { _ = Decode(hostile, &n) },
		"str32 into any":      func() { _ = Decode(hostile, &a) },
		"array32 into []int":  func() { _ = Decode(arr, &s) },
		"bin32 into a note":   func() { _ = Decode(bin, &n) },
		"bin32 into map[any]": func() { _ = Decode(bin, &m) },
		"map32 through ext":   func() { _ = Decode(ext, &n) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations a call, want 0", name, n)
		}
		// TotalAlloc is the whole process's: the race detector and the
		// runtime add a few bytes now and then, never the megabytes a
		// trusted claim would cost.
		if b := allocBytes(100, f); b > 64 {
			t.Errorf("%s: %d bytes a call, want none", name, b)
		}
	}

	valid, err := msgpack.Marshal(&note{Text: strings.Repeat("x", 500), Tags: strings.Split(strings.Repeat("t", 240), "")})
	if err != nil {
		t.Fatal(err)
	}
	var keep note
	got := allocBytes(100, func() { keep = note{}; _ = Decode(valid, &keep) })
	t.Logf("a valid %d-byte body: %d bytes a call", len(valid), got)
	if got > 16*uint64(len(valid)) {
		t.Errorf("a valid %d-byte body allocates %d bytes a call, over 16 times its size", len(valid), got)
	}

	claim16MiB := append([]byte{0x81, 0xa1, 'i', 0xc6, 0x01, 0x00, 0x00, 0x00}, make([]byte, 1024-8)...)
	lib := allocBytes(1, func() { _ = msgpack.Unmarshal(claim16MiB, new(note)) })
	t.Logf("a 1 KB body claiming 16 MiB: Decode 0 bytes, msgpack.Unmarshal alone %d bytes a call", lib)
	if err := Decode(claim16MiB, new(note)); !errors.Is(err, proto.ErrShort) {
		t.Errorf("16 MiB claim: %v", err)
	}
}

// allocBytes returns the bytes f allocates, on average over runs runs.
func allocBytes(runs int, f func()) uint64 {
	f() // warm up
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

func TestDecodeNeedsPointer(t *testing.T) {
	b := golden(t, "80")
	var nilNote *note
	for _, v := range []any{nil, note{}, nilNote} {
		if err := Decode(b, v); err == nil || errors.Is(err, ErrMalformed) {
			t.Errorf("into %T: %v, want a non-ErrMalformed error", v, err)
		}
	}
}

// What Decode returns is the caller's to keep: the body's buffer is reused
// by the node after the handler returns.
func TestDecodeCopies(t *testing.T) {
	type raw struct {
		B []byte             `msgpack:"b"`
		S string             `msgpack:"s"`
		R msgpack.RawMessage `msgpack:"r"`
	}
	body, _ := msgpack.Marshal(&raw{B: []byte("bin"), S: "str", R: msgpack.RawMessage{0xa3, 'r', 'a', 'w'}})
	var v raw
	if err := Decode(body, &v); err != nil {
		t.Fatal(err)
	}
	clear(body)
	if string(v.B) != "bin" || v.S != "str" || !bytes.Equal(v.R, []byte{0xa3, 'r', 'a', 'w'}) {
		t.Errorf("decoded value shares the body's memory: %+v", v)
	}
}

// Decoding starts no goroutine (msgpack/v5 can, with an option Decode
// leaves off): the synctest bubble fails if one is left behind, as it would
// in a community's tests.
func TestDecodeStartsNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var v struct {
			P *note
			M map[uint16]*pair
		}
		body, _ := msgpack.Marshal(map[string]any{"P": &note{Seq: 1}, "M": map[uint16]*pair{1: {A: 2}}})
		if err := Decode(body, &v); err != nil || v.P.Seq != 1 || v.M[1].A != 2 {
			t.Errorf("decoded %+v, %v", v, err)
		}
	})
}

func TestTyped(t *testing.T) {
	var got []*pair
	h := Typed(func(_ context.Context, from Peer, msg *pair) error {
		if from.ID != (proto.ID{1}) {
			t.Errorf("from %v", from)
		}
		got = append(got, msg)
		return nil
	})
	from := Peer{ID: proto.ID{1}}
	body := golden(t, "92 07 a178")
	for range 2 {
		if err := h(t.Context(), from, body); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0] == got[1] || *got[0] != (pair{A: 7, B: "x"}) || *got[1] != *got[0] {
		t.Errorf("handled %v, want two fresh copies of {7 x}", got)
	}
	// A body that does not decode never reaches the handler.
	for _, b := range [][]byte{nil, golden(t, "92 07"), golden(t, "92 a178 07"), claim4GiB()} {
		if err := h(t.Context(), from, b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: %v, want ErrMalformed", b, err)
		}
	}
	if len(got) != 2 {
		t.Errorf("the handler saw %d messages, want 2", len(got))
	}
	// The handler's own error passes through, not as ErrMalformed.
	errBusy := errors.New("busy")
	h = Typed(func(context.Context, Peer, *pair) error { return errBusy })
	if err := h(t.Context(), from, body); err != errBusy {
		t.Errorf("handler error: %v", err)
	}
}

// FuzzDecode: never panics; allocates at most in proportion to the body;
// whatever fails is ErrMalformed; whatever decodes passed
// proto.CheckMsgpack, and re-encodes to a body that decodes again.
func FuzzDecode(f *testing.F) {
	for _, g := range decodeGolden {
		f.Add(golden(f, g.hex))
	}
	f.Add(claim4GiB()[:16])
	f.Add(golden(f, "81 a16e 81 a16e 81 a167 dd 00000002 a0 a0"))
	f.Add(golden(f, "81 c401ff 01"))
	f.Add(golden(f, "81 a16d c7 08 00 df 00000001 a16b 01")) // a map in an extension
	f.Fuzz(func(t *testing.T, b []byte) {
		// Only a body that passes the check reaches the library; a refusal
		// allocates nothing (TestDecodeAllocs), so only those are weighed.
		checked := proto.CheckMsgpack(b) == nil
		var n note
		var p pair
		var a any
		var m map[any]any
		var noteErr error
		for _, v := range []any{&n, &p, &a, &m} {
			var before, after runtime.MemStats
			if checked {
				runtime.ReadMemStats(&before)
			}
			err := Decode(b, v)
			if checked {
				runtime.ReadMemStats(&after)
				// Generous for the Go values a byte can make, far below
				// what a claimed length would cost.
				if got, limit := after.TotalAlloc-before.TotalAlloc, 256*uint64(len(b))+64<<10; got > limit {
					t.Fatalf("%x into %T: allocated %d bytes, over %d", b, v, got, limit)
				}
			}
			if v == &n {
				noteErr = err
			}
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%x into %T: %v is not ErrMalformed", b, v, err)
				}
				continue
			}
			if !checked {
				t.Fatalf("%x into %T decoded, but CheckMsgpack refuses it", b, v)
			}
		}
		if noteErr == nil {
			enc, err := msgpack.Marshal(&n)
			if err != nil {
				t.Fatal(err)
			}
			var n2 note
			if err := Decode(enc, &n2); err != nil {
				t.Fatalf("re-encoded %+v as %x, which does not decode: %v", n, enc, err)
			}
		}
	})
}
