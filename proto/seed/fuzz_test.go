package seed

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
)

// Run one target at a time, by count, for example:
//
//	go test ./proto/seed -run='^$' -fuzz='^FuzzDecode$' -fuzztime=200000x

// seeds adds the golden datagrams, encodings of random messages, and the
// hostile datagrams of the tests.
func seeds(f *testing.F) {
	for _, v := range goldenVectors() {
		f.Add(mustHex(f, v.hex))
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		if b, err := Append(nil, randomMessage(r)); err == nil {
			f.Add(b)
		}
	}
	for _, s := range hostileClaims() {
		f.Add([]byte(s))
	}
	for _, s := range []string{"d5:ab", "\x80", "\xff", "d4:typei1ee", "d1:xlllleeeee", reqText + "x",
		"d15:connection_typei1e11:destinationd4:porti1873e7:address9:127.0.0.1e16:network_operator0:7:peer_id8:bbbbbbbb4:typei1ee"} {
		f.Add([]byte(s))
	}
}

// FuzzDecode: Decode never panics and never changes its input, and
// whatever it decodes re-encodes to a datagram that the model of the
// seed's decoder accepts, that is no longer than the input, and that
// decodes to the same message, in the same bytes the second time.
func FuzzDecode(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		m, err := Decode(b)
		if !bytes.Equal(in, b) {
			t.Fatal("Decode changed its input")
		}
		if err != nil {
			if m != nil {
				t.Fatalf("Decode returned %+v with %v", m, err)
			}
			if r := Reason(err); r == "bad_message" && err != ErrBadMessage {
				t.Fatalf("not a sentinel: %v", err)
			}
			return
		}
		enc, err := Append(nil, m)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
		if len(enc) > len(b) {
			t.Fatalf("re-encoded %d bytes into %d: %s", len(b), len(enc), enc)
		}
		if err := Check(enc); err != nil {
			t.Fatalf("Check(%s) = %v", enc, err)
		}
		m2, err := Decode(enc)
		if err != nil || !reflect.DeepEqual(m2, m) {
			t.Fatalf("round trip: %+v, %v; want %+v", m2, err, m)
		}
		if again, _ := Append(nil, m2); !bytes.Equal(again, enc) {
			t.Fatalf("encoding not stable: %s then %s", enc, again)
		}
		clear(b)
		if !reflect.DeepEqual(m2, m) {
			t.Fatal("the decoded message aliases the input")
		}
	})
}

// FuzzCheck: the model of the seed's decoder never panics, and what it
// accepts walkie's decoder accepts too: the profile walkie sends is within
// what both read.
func FuzzCheck(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Check(b)
		switch err {
		case nil:
			if _, derr := Decode(b); derr != nil {
				t.Fatalf("Check accepts %q, Decode says %v", b, derr)
			}
		case ErrWouldKill, ErrWouldHang, ErrWouldDrop, ErrOutOfProfile:
		default:
			t.Fatalf("Check: %v", err)
		}
	})
}
