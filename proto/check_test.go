package proto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// checkGolden holds one value of every msgpack format, each as its own
// body: CheckMsgpack accepts all of them, and the reference library agrees
// on where each ends.
var checkGolden = []struct{ name, hex string }{
	{"positive fixint", "7f"},
	{"negative fixint", "e0"},
	{"nil", "c0"},
	{"false", "c2"},
	{"true", "c3"},
	{"uint8", "cc ff"},
	{"uint16", "cd ffff"},
	{"uint32", "ce ffffffff"},
	{"uint64", "cf ffffffffffffffff"},
	{"int8", "d0 80"},
	{"int16", "d1 8000"},
	{"int32", "d2 80000000"},
	{"int64", "d3 8000000000000000"},
	{"float32", "ca 3fc00000"},
	{"float64", "cb 3ff8000000000000"},
	{"empty fixstr", "a0"},
	{"fixstr", "a3 616263"},
	{"str8", "d9 03 616263"},
	{"str16", "da 0003 616263"},
	{"str32", "db 00000003 616263"},
	{"bin8", "c4 02 0102"},
	{"bin16", "c5 0002 0102"},
	{"bin32", "c6 00000002 0102"},
	{"empty fixarray", "90"},
	{"fixarray", "93 01 a161 c0"},
	{"array16", "dc 0002 01 02"},
	{"array32", "dd 00000002 01 02"},
	{"empty fixmap", "80"},
	{"fixmap", "82 01 02 a161 91 c3"},
	{"map16", "de 0001 01 02"},
	{"map32", "df 00000001 01 02"},
	{"nested", "81 a161 82 a162 92 90 80 c4 01 00 dc 0001 de 0000"},
}

// checkExt holds one value of every extension format, well-formed to the
// reference library, all refused: a payload is opaque to the check.
var checkExt = []struct{ name, hex string }{
	{"fixext1", "d4 01 aa"},
	{"fixext2", "d5 01 aabb"},
	{"fixext4 (timestamp32)", "d6 ff 00000001"},
	{"fixext8", "d7 01 0001020304050607"},
	{"fixext16", "d8 01 000102030405060708090a0b0c0d0e0f"},
	{"empty ext8", "c7 00 01"},
	{"ext8", "c7 02 01 aabb"},
	{"ext16", "c8 0002 01 aabb"},
	{"ext32", "c9 00000002 01 aabb"},
	{"ext in an array", "92 01 d4 01 aa"},
	{"ext as a map value", "81 a161 c7 00 01"},
	// What the refusal is for: msgpack/v5 reads a map through an
	// extension header, so these claims would reach it unchecked.
	{"bin32 claim in an ext8 payload", "c7 07 01 81 01 c6 ffffffff"},
	{"map32 claim in a fixext8 payload", "81 a16d d7 ff df ffffffff 000000"},
}

// librarySkip reports whether the reference library reads b as exactly one
// value. Only for bodies CheckMsgpack accepted, or short ones: its Skip
// sizes buffers by declared lengths.
func librarySkip(b []byte) bool {
	r := bytes.NewReader(b)
	return msgpack.NewDecoder(r).Skip() == nil && r.Len() == 0
}

func TestCheckMsgpackGolden(t *testing.T) {
	for _, g := range checkGolden {
		b := hexBody(t, g.hex)
		if err := CheckMsgpack(b); err != nil {
			t.Errorf("%s %x: %v", g.name, b, err)
		}
		if !librarySkip(b) {
			t.Errorf("%s %x: not one value to the reference library", g.name, b)
		}
	}
}

// Every proper prefix of a value is cut inside it: ErrShort, never a
// half-read success. The library agrees that none is a whole value.
func TestCheckMsgpackTruncated(t *testing.T) {
	for _, g := range checkGolden {
		b := hexBody(t, g.hex)
		for n := range len(b) {
			if err := CheckMsgpack(b[:n]); err != ErrShort {
				t.Errorf("%s: %d of %d bytes: %v, want ErrShort", g.name, n, len(b), err)
			}
			if librarySkip(b[:n]) {
				t.Errorf("%s: %d of %d bytes are one value to the reference library", g.name, n, len(b))
			}
		}
	}
}

func TestCheckMsgpackRefusesExt(t *testing.T) {
	for _, g := range checkExt {
		b := hexBody(t, g.hex)
		if err := CheckMsgpack(b); err != ErrBadBody {
			t.Errorf("%s %x: %v, want ErrBadBody", g.name, b, err)
		}
		if !librarySkip(b) {
			t.Errorf("%s %x: not one value to the reference library", g.name, b)
		}
	}
	// The reference library writes a time as an extension.
	b, err := msgpack.Marshal(time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckMsgpack(b); err != ErrBadBody {
		t.Errorf("time %x: %v, want ErrBadBody", b, err)
	}
	// The core's own reader still skips extension values under unknown
	// keys: newer peers may send anything there.
	r := reader{b: hexBody(t, "c7 02 01 aabb")}
	if err := r.skip(); err != nil || r.left() != 0 {
		t.Errorf("reader.skip of an ext8: %v, %d left", err, r.left())
	}
}

// Whatever the reference library encodes passes, times aside.
func TestCheckMsgpackLibraryValues(t *testing.T) {
	for _, v := range []any{
		nil, true, 0, -1, 127, 128, -33, 1 << 40, -1 << 40, uint64(1<<64 - 1), 1.5, float32(2.5),
		"", strings.Repeat("s", 31), strings.Repeat("s", 32), strings.Repeat("s", 256),
		[]byte{}, make([]byte, 300), []any{}, make([]int, 20), map[string]any{},
		map[string]any{"a": []any{1, "b", map[string]int{"c": 3}}, "d": nil},
	} {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckMsgpack(b); err != nil {
			t.Errorf("%T %x: %v", v, b, err)
		}
	}
}

func TestCheckMsgpackHostile(t *testing.T) {
	claim4GiB := "db ffffffff" + strings.Repeat("78", 1024-5) // 1 KB claiming 4 GiB
	for _, tc := range []struct {
		name string
		hex  string
		want error
	}{
		{"empty", "", ErrShort},
		{"never-used code", "c1", ErrBadBody},
		{"never-used code nested", "92 01 c1", ErrBadBody},
		{"trailing byte", "01 00", ErrBadBody},
		{"two values", "a161 a162", ErrBadBody},
		{"trailing after a map", "81 01 02 00", ErrBadBody},
		{"str32 claims 4 GiB", "db ffffffff 61", ErrShort},
		{"1 KB str32 claims 4 GiB", claim4GiB, ErrShort},
		{"bin32 claims 4 GiB", "c6 ffffffff 01", ErrShort},
		{"ext32 claims 4 GiB", "c9 ffffffff 01 02", ErrBadBody},
		{"array32 claims 4 billion", "dd ffffffff 01 02 03", ErrShort},
		{"map32 claims 4 billion", "df ffffffff 01 02", ErrShort},
		{"map32 claims 2 billion", "df 7fffffff 01 02", ErrShort},
		{"array16 one short", "dc 0003 01 02", ErrShort},
		{"map entry without value", "81 01", ErrShort},
		{"length cut", "db 0000", ErrShort},
		{"str8 past the end", "d9 05 6161", ErrShort},
		{"inner length past the end", "92 c4 10 00 00", ErrShort},
		{"nested arrays never end", strings.Repeat("91", 1000), ErrShort},
		{"nested maps never end", strings.Repeat("81 00", 600), ErrShort},
		{"larger than a datagram", "c5 04fe" + strings.Repeat("00", MaxDatagram-2), ErrTooLarge},
	} {
		b := hexBody(t, tc.hex)
		if err := CheckMsgpack(b); err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// At the limits, still accepted: the largest body, the deepest nesting.
	for name, h := range map[string]string{
		"a datagram of bin16": "c5 04fd" + strings.Repeat("00", MaxDatagram-3),
		"1279 nested arrays":  strings.Repeat("91", MaxDatagram-1) + "c0",
		"639 nested maps":     strings.Repeat("81 00", MaxDatagram/2-1) + "cc 00",
	} {
		b := hexBody(t, h)
		if len(b) != MaxDatagram {
			t.Fatalf("%s: %d bytes, want %d", name, len(b), MaxDatagram)
		}
		if err := CheckMsgpack(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The check allocates nothing, whatever the body claims: it only reads.
func TestCheckMsgpackAllocs(t *testing.T) {
	bodies := [][]byte{
		hexBody(t, "db ffffffff"+strings.Repeat("78", 1024-5)),
		hexBody(t, "dd ffffffff"+strings.Repeat("01", 1024-5)),
		hexBody(t, strings.Repeat("91", 1000)),
		hexBody(t, checkGolden[len(checkGolden)-1].hex),
	}
	for _, b := range bodies {
		if n := testing.AllocsPerRun(100, func() { _ = CheckMsgpack(b) }); n != 0 {
			t.Errorf("%x...: %v allocations", b[:5], n)
		}
	}
}

// FuzzCheckMsgpack: never panics, fails only with the package's sentinels,
// and what it accepts holds no extension value and the reference library
// reads as one value with nothing left over, so the two agree on every
// declared length.
func FuzzCheckMsgpack(f *testing.F) {
	for _, g := range append(checkGolden, checkExt...) {
		f.Add(hexBody(f, g.hex))
	}
	f.Add(hexBody(f, "db ffffffff 61"))
	f.Add(hexBody(f, "81 a161 dd 00000002 c6 00000001 00 df 00000001 01 02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckMsgpack(b)
		switch {
		case err == nil:
		case errors.Is(err, ErrShort), errors.Is(err, ErrBadBody), errors.Is(err, ErrTooLarge):
			return
		default:
			t.Fatalf("%x: unexpected error %v", b, err)
		}
		if len(b) > MaxDatagram {
			t.Fatalf("accepted %d bytes", len(b))
		}
		if !librarySkip(b) {
			t.Fatalf("accepted %x, which the reference library does not read as one value", b)
		}
		if hasExt(b) {
			t.Fatalf("accepted %x, which holds an extension value", b)
		}
		if len(b) < MaxDatagram {
			if err := CheckMsgpack(append(b[:len(b):len(b)], 0)); err != ErrBadBody {
				t.Fatalf("%x with a trailing byte: %v, want ErrBadBody", b, err)
			}
		}
	})
}

// hasExt reports whether b, one well-formed value, holds an extension
// value, by the reference library's reading.
func hasExt(b []byte) bool {
	d := msgpack.NewDecoder(bytes.NewReader(b))
	for pending := 1; pending > 0; pending-- {
		c, err := d.PeekCode()
		if err != nil {
			return false
		}
		switch {
		case msgpcode.IsExt(c):
			return true
		case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
			n, _ := d.DecodeArrayLen()
			pending += n
		case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
			n, _ := d.DecodeMapLen()
			pending += 2 * n
		default:
			if d.Skip() != nil {
				return false
			}
		}
	}
	return false
}
