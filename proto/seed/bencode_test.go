package seed

import (
	"math"
	"strings"
	"testing"
)

func TestReaderInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  error
	}{
		{"i0e", 0, nil},
		{"i1873e", 1873, nil},
		{"i-1e", -1, nil},
		{"i9223372036854775807e", math.MaxInt64, nil},
		{"i-9223372036854775808e", math.MinInt64, nil},
		{"i9223372036854775808e", 0, ErrLimit},
		{"i-9223372036854775809e", 0, ErrLimit},
		{"i99999999999999999999e", 0, ErrLimit},
		{"i" + strings.Repeat("9", 1000) + "e", 0, ErrLimit},
		{"i00e", 0, ErrBadBencode},
		{"i01e", 0, ErrBadBencode},
		{"i-0e", 0, ErrBadBencode},
		{"ie", 0, ErrBadBencode},
		{"i-e", 0, ErrBadBencode},
		{"i--1e", 0, ErrBadBencode},
		{"i1-e", 0, ErrBadBencode},
		{"i+1e", 0, ErrBadBencode},
		{"i1.5e", 0, ErrBadBencode},
		{"i1\x80e", 0, ErrBadBencode},
		{"i", 0, ErrShort},
		{"i12", 0, ErrShort},
		{"i-", 0, ErrShort},
		{"", 0, ErrShort},
		{"1:a", 0, ErrBadMessage},
		{"le", 0, ErrBadMessage},
	} {
		r := reader{b: []byte(tc.in)}
		v, err := r.int()
		if err != tc.err || err == nil && (v != tc.want || r.off != len(tc.in)) {
			t.Errorf("int(%.30q) = %d, %v (at %d); want %d, %v", tc.in, v, err, r.off, tc.want, tc.err)
		}
	}
}

func TestReaderString(t *testing.T) {
	long := strings.Repeat("x", MaxString)
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"0:", "", nil},
		{"3:abc", "abc", nil},
		{"2:\xc3\xa9", "\xc3\xa9", nil},
		{"256:" + long, long, nil},
		{"257:" + long + "x", "", ErrLimit},
		{"4294967296:", "", ErrLimit},
		{"99999999999999999999999:", "", ErrLimit},
		{"00:", "", ErrBadBencode},
		{"03:abc", "", ErrBadBencode},
		{"3x", "", ErrBadBencode},
		{"3-abc", "", ErrBadBencode},
		{"4:abc", "", ErrShort},
		{"5:ab", "", ErrShort},
		{"3", "", ErrShort},
		{"", "", ErrShort},
		{"i1e", "", ErrBadMessage},
		{":abc", "", ErrBadBencode},
	} {
		r := reader{b: []byte(tc.in)}
		s, err := r.str(MaxString)
		if err != tc.err || err == nil && (string(s) != tc.want || r.off != len(tc.in)) {
			t.Errorf("str(%.30q) = %.30q, %v; want %.30q, %v", tc.in, s, err, tc.want, tc.err)
		}
	}
}

func TestReaderOpen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind byte
		err  error
	}{
		{"le", 'l', nil},
		{"de", 'd', nil},
		{"de", 'l', ErrBadMessage},
		{"i1e", 'd', ErrBadMessage},
		{"1:a", 'l', ErrBadMessage},
		{"x", 'l', ErrBadBencode},
		{"\x80", 'd', ErrBadBencode},
		{"", 'd', ErrShort},
	} {
		r := reader{b: []byte(tc.in)}
		if err := r.open(tc.kind); err != tc.err || err == nil && r.off != 1 {
			t.Errorf("open(%q, %c) = %v, want %v", tc.in, tc.kind, err, tc.err)
		}
	}
}

func TestReaderSkip(t *testing.T) {
	nest := func(n int, open string) string {
		return strings.Repeat(open, n) + "i0e" + strings.Repeat("e", n)
	}
	for _, tc := range []struct {
		name, in string
		depth    int
		err      error
	}{
		{"int", "i5e", 2, nil},
		{"string", "5:hello", 2, nil},
		{"empty list", "le", 2, nil},
		{"empty dict", "de", 2, nil},
		{"mixed", "d1:ali1e1:xdee1:bd1:ci2eee", 2, nil},
		{"lists to MaxDepth", nest(MaxDepth-1, "l"), 2, nil},
		{"lists past MaxDepth", nest(MaxDepth, "l"), 2, ErrLimit},
		{"lists 1000 deep", nest(1000, "l"), 2, ErrLimit},
		{"dicts past MaxDepth", strings.Repeat("d1:a", MaxDepth) + "i0e" + strings.Repeat("e", MaxDepth), 2, ErrLimit},
		{"unclosed list", "l", 2, ErrShort},
		{"unclosed deep", strings.Repeat("l", 3), 2, ErrShort},
		{"list of MaxPex", "l" + strings.Repeat("i0e", MaxPex) + "e", 2, nil},
		{"list over MaxPex", "l" + strings.Repeat("i0e", MaxPex+1) + "e", 2, ErrLimit},
		{"dict of MaxKeys", "d" + keys(MaxKeys) + "e", 2, nil},
		{"dict over MaxKeys", "d" + keys(MaxKeys+1) + "e", 2, ErrLimit},
		{"duplicate key", "d1:ai0e1:ai0ee", 2, ErrBadBencode},
		{"int key", "di1ei0ee", 2, ErrBadBencode},
		{"key too long", "d33:" + strings.Repeat("k", 33) + "i0ee", 2, ErrLimit},
		{"key without value", "d1:ae", 2, ErrBadBencode},
		{"unknown byte", "x", 2, ErrBadBencode},
		{"0x80", "\x80", 2, ErrBadBencode},
		{"end", "e", 2, ErrBadBencode},
		{"nothing", "", 2, ErrShort},
	} {
		r := reader{b: []byte(tc.in)}
		err := r.skip(tc.depth)
		if err != tc.err || err == nil && r.off != len(tc.in) {
			t.Errorf("%s: skip(%.40q) = %v at %d, want %v", tc.name, tc.in, err, r.off, tc.err)
		}
	}
}

// keys returns n distinct dict entries "1:a" .. with int values.
func keys(n int) string {
	var sb strings.Builder
	for i := range n {
		sb.WriteString("2:k" + string(rune('a'+i)) + "i0e")
	}
	return sb.String()
}

// FuzzSkip: the reader never panics, never reads past the end, and, since
// bencode is prefix-free, whatever it accepts has no accepted proper
// prefix: each is refused as short.
func FuzzSkip(f *testing.F) {
	for _, s := range []string{"i5e", "5:hello", "d1:ali1e1:xdee1:bd1:ci2eee", "llleee", "d1:ai0e1:ai0ee", "i-9223372036854775808e",
		"d11:destinationd7:address9:127.0.0.24:porti1873ee6:sourced7:address9:127.0.0.34:porti1873ee4:typei4e7:peer_id8:cccccccce"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := reader{b: b}
		err := r.skip(1)
		if r.off > len(b) {
			t.Fatalf("read to %d of %d bytes", r.off, len(b))
		}
		if err != nil {
			if Reason(err) == "bad_message" && len(b) > 0 {
				t.Fatalf("skip: %v", err) // skip knows no types to be wrong about
			}
			return
		}
		for i := range r.off {
			p := reader{b: b[:i]}
			if err := p.skip(1); err != ErrShort {
				t.Fatalf("prefix %q of accepted %q: %v", b[:i], b[:r.off], err)
			}
		}
	})
}
