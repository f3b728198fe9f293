package proto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

var errUnknownType = errors.New("test: unknown type")

// decodeMessage decodes a body of type t, as the core's dispatch does.
func decodeMessage(t Type, body []byte) (Message, error) {
	switch t {
	case TypeIntroRequest:
		m, err := DecodeIntroRequest(body)
		return &m, err
	case TypeIntroResponse:
		m, err := DecodeIntroResponse(body)
		return &m, err
	case TypePunctureRequest:
		m, err := DecodePunctureRequest(body)
		return &m, err
	case TypePuncture:
		m, err := DecodePuncture(body)
		return &m, err
	case TypeBeacon:
		m, err := DecodeBeacon(body)
		return &m, err
	case TypeHandshake:
		m, err := DecodeHandshake(body)
		return &m, err
	}
	return nil, errUnknownType
}

// decodePacket parses a whole datagram.
func decodePacket(pkt []byte) (Header, Message, error) {
	h, body, err := ParseHeader(pkt)
	if err != nil {
		return Header{}, nil, err
	}
	m, err := decodeMessage(h.Type, body)
	return h, m, err
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenHeaders(t *testing.T) {
	for _, tc := range []struct {
		h   Header
		hex string
	}{
		{Header{Type: TypeIntroRequest, Community: CoreCommunity(), Sender: goldenSender, Dest: goldenDest4},
			"574b01010cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751"},
		{Header{Type: TypeIntroResponse, Community: CoreCommunity(), Sender: goldenSender, Dest: goldenDest6},
			"574b01020cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f100620010db80000000000000000000000070751"},
	} {
		got := tc.h.AppendTo(nil)
		if hex.EncodeToString(got) != tc.hex {
			t.Errorf("%v: AppendTo = %x, want %s", tc.h.Dest, got, tc.hex)
		}
		if len(got) != tc.h.Len() {
			t.Errorf("%v: Len = %d, encoded %d bytes", tc.h.Dest, tc.h.Len(), len(got))
		}
		h, body, err := ParseHeader(mustHex(t, tc.hex))
		if err != nil || h != tc.h || len(body) != 0 {
			t.Errorf("ParseHeader(%s) = %+v, %x, %v; want %+v", tc.hex, h, body, err, tc.h)
		}
	}
}

func TestGoldenMessages(t *testing.T) {
	for _, v := range goldenVectors() {
		t.Run(v.name, func(t *testing.T) {
			pkt, err := Encode(nil, v.h, v.m)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(pkt); got != v.hex {
				t.Fatalf("Encode =\n%s\nwant\n%s", got, v.hex)
			}
			h, m, err := decodePacket(mustHex(t, v.hex))
			if err != nil {
				t.Fatal(err)
			}
			want := v.h
			want.Type = v.m.Type()
			if h != want {
				t.Errorf("header = %+v, want %+v", h, want)
			}
			if !reflect.DeepEqual(m, v.m) {
				t.Errorf("decoded %+v, want %+v", m, v.m)
			}
		})
	}
}

// Every proper prefix of a golden datagram fails to decode: the header has a
// fixed length and the body's map header promises entries that a prefix
// lacks, so no prefix is a complete shorter encoding.
func TestTruncation(t *testing.T) {
	for _, v := range goldenVectors() {
		pkt := mustHex(t, v.hex)
		for i := range len(pkt) {
			if _, _, err := decodePacket(pkt[:i]); err == nil {
				t.Errorf("%s: prefix of %d/%d bytes decoded", v.name, i, len(pkt))
			} else if r := Reason(err); r != "short" {
				t.Errorf("%s: prefix of %d/%d bytes: %v (reason %s), want short", v.name, i, len(pkt), err, r)
			}
		}
	}
}

func TestPaddingInvisible(t *testing.T) {
	for _, v := range goldenVectors() {
		pkt := Pad(mustHex(t, v.hex), MaxDatagram)
		if len(pkt) != MaxDatagram {
			t.Fatalf("%s: padded to %d", v.name, len(pkt))
		}
		_, m, err := decodePacket(pkt)
		if err != nil || !reflect.DeepEqual(m, v.m) {
			t.Errorf("%s: padded datagram decoded to %+v, %v", v.name, m, err)
		}
	}
}

// Decoded values do not alias the datagram, which the reader reuses.
func TestDecodeCopies(t *testing.T) {
	for _, v := range goldenVectors() {
		pkt := mustHex(t, v.hex)
		_, m, err := decodePacket(pkt)
		if err != nil {
			t.Fatal(err)
		}
		clear(pkt)
		if !reflect.DeepEqual(m, v.m) {
			t.Errorf("%s: decoded value changed with the buffer: %+v", v.name, m)
		}
	}
}

// docs/protocol.md shows the same vectors as the tests.
func TestDocsHaveGoldenVectors(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	flat := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, string(doc))
	for _, v := range goldenVectors() {
		if !strings.Contains(flat, v.hex) {
			t.Errorf("docs/protocol.md lacks the %s vector %s", v.name, v.hex)
		}
	}
}

// The encoding is canonical: decoding and re-encoding gives the same bytes.
func TestGoldenCanonical(t *testing.T) {
	for _, v := range goldenVectors() {
		pkt := mustHex(t, v.hex)
		h, m, err := decodePacket(pkt)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Encode(nil, h, m)
		if err != nil || !bytes.Equal(again, pkt) {
			t.Errorf("%s: re-encoded to %x, %v", v.name, again, err)
		}
	}
}
