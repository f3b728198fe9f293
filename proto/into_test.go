package proto

import (
	"reflect"
	"testing"
)

// The Into decoders give what the plain ones give, leave nothing stale from
// an earlier, bigger message, and allocate nothing once warm.
func TestDecodeInto(t *testing.T) {
	var req IntroRequest
	var resp IntroResponse
	for _, v := range goldenVectors() {
		pkt := mustHex(t, v.hex)
		h, body, err := ParseHeader(pkt)
		if err != nil {
			t.Fatal(err)
		}
		switch h.Type {
		case TypeIntroRequest:
			want, _ := DecodeIntroRequest(body)
			if err := DecodeIntroRequestInto(body, &req); err != nil || !reflect.DeepEqual(req, want) {
				t.Errorf("%s: Into gave %+v, %v; want %+v", v.name, req, err, want)
			}
		case TypeIntroResponse:
			want, _ := DecodeIntroResponse(body)
			if err := DecodeIntroResponseInto(body, &resp); err != nil || !reflect.DeepEqual(resp, want) {
				t.Errorf("%s: Into gave %+v, %v; want %+v", v.name, resp, err, want)
			}
		}
	}
	// A bare response after a full one: no token, peers or invitee left over.
	bare, err := (&IntroResponse{Nonce: 5}).AppendBody(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := DecodeIntroResponseInto(bare, &resp); err != nil || !reflect.DeepEqual(resp, IntroResponse{Nonce: 5}) {
		t.Fatalf("bare response decoded as %+v, %v", resp, err)
	}
	full, _ := (&IntroRequest{Nonce: 1, Token: seq(1, 16), Communities: []ID{idOf(1), idOf(2)}}).AppendBody(nil)
	if err := DecodeIntroRequestInto(full, &req); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { DecodeIntroRequestInto(full, &req) }); n != 0 {
		t.Errorf("DecodeIntroRequestInto allocates %.0f times per call when warm, want 0", n)
	}
}

// The flag bits round-trip on their own and together; unknown bits are
// ignored.
func TestIntroRequestFlags(t *testing.T) {
	for _, m := range []IntroRequest{{Nonce: 1, KeepAlive: true}, {Nonce: 2, Symmetric: true}, {Nonce: 3, KeepAlive: true, Symmetric: true}, {Nonce: 4, WantMore: true}, {Nonce: 5, Seed: true}} {
		b, err := m.AppendBody(nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeIntroRequest(b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%+v decoded as %+v, %v", m, got, err)
		}
	}
	// {1: 4, 8: 0xf8}: nonce 4, flags with only unknown bits.
	got, err := DecodeIntroRequest([]byte{0x82, 0x01, 0x04, 0x08, 0xcc, 0xf8})
	if err != nil || got.KeepAlive || got.Symmetric || got.WantMore || got.Nonce != 4 {
		t.Errorf("unknown flag bits: %+v, %v", got, err)
	}
}
