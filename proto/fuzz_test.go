package proto

import (
	"bytes"
	"reflect"
	"testing"
)

// Run one target at a time, for example:
//
//	go test ./proto -run='^$' -fuzz='^FuzzDecodeIntroResponse$' -fuzztime=30s

func FuzzParseHeader(f *testing.F) {
	for _, v := range goldenVectors() {
		f.Add(mustHex(f, v.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, body, err := ParseHeader(b)
		if err != nil {
			return
		}
		if len(b) > MaxDatagram || len(body) > len(b)-MinHeaderLen {
			t.Fatalf("accepted %d bytes with a %d-byte body", len(b), len(body))
		}
		// Re-encoding gives the same header, and the canonical form is stable.
		enc := h.AppendTo(nil)
		if len(enc) != h.Len() {
			t.Fatalf("Len %d, encoded %d", h.Len(), len(enc))
		}
		h2, rest, err := ParseHeader(enc)
		if err != nil || h2 != h || len(rest) != 0 {
			t.Fatalf("re-parsed %+v, %x, %v; want %+v", h2, rest, err, h)
		}
		if again := h2.AppendTo(nil); !bytes.Equal(again, enc) {
			t.Fatalf("encoding not stable: %x then %x", enc, again)
		}
	})
}

// fuzzBody checks that a body of type typ either fails or decodes to a value
// that re-encodes within the limits and decodes to the same value, with the
// same bytes on a second round.
func fuzzBody(f *testing.F, typ Type) {
	for _, v := range goldenVectors() {
		if v.m.Type() == typ {
			_, body, _ := ParseHeader(mustHex(f, v.hex))
			f.Add(body)
		}
	}
	for _, m := range maxMessages() {
		if m.Type() == typ {
			body, _ := m.AppendBody(nil)
			f.Add(body)
		}
	}
	// Small bodies give the mutator short paths into every key.
	for _, s := range []string{"80", "8101 00", "82 01 00 63 91 c0", "82 01 05 05 91 81 01 c410 000102030405060708090a0b0c0d0e0f",
		"82 01 05 07 81 01 c410 000102030405060708090a0b0c0d0e0f", "83 01 05 02 c406 0a0000010751 03 c400",
		"82 02 c412 fd000000000000000000000000000001 0751 04 91 c410 000102030405060708090a0b0c0d0e0f"} {
		f.Add(hexBody(f, s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in := bytes.Clone(body)
		m, err := decodeMessage(typ, body)
		if !bytes.Equal(in, body) {
			t.Fatal("decoder modified its input")
		}
		if err != nil {
			if r := Reason(err); r == "bad_magic" || r == "bad_version" {
				t.Fatalf("body error %v", err)
			}
			return
		}
		pkt, err := Encode(nil, Header{Sender: goldenSender, Dest: maxAddr(1)}, m)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
		h, m2, err := decodePacket(pkt)
		if err != nil || h.Type != typ || !reflect.DeepEqual(m2, m) {
			t.Fatalf("round trip: %+v, %v; want %+v", m2, err, m)
		}
		again, _ := Encode(nil, h, m2)
		if !bytes.Equal(again, pkt) {
			t.Fatalf("encoding not stable: %x then %x", pkt, again)
		}
		clear(body) // the decoded value must not alias the input
		if !reflect.DeepEqual(m2, m) {
			t.Fatalf("decoded value aliases the input")
		}
	})
}

func FuzzDecodeIntroRequest(f *testing.F)    { fuzzBody(f, TypeIntroRequest) }
func FuzzDecodeIntroResponse(f *testing.F)   { fuzzBody(f, TypeIntroResponse) }
func FuzzDecodePunctureRequest(f *testing.F) { fuzzBody(f, TypePunctureRequest) }
func FuzzDecodePuncture(f *testing.F)        { fuzzBody(f, TypePuncture) }
func FuzzDecodeBeacon(f *testing.F)          { fuzzBody(f, TypeBeacon) }
func FuzzDecodeHandshake(f *testing.F)       { fuzzBody(f, TypeHandshake) }
