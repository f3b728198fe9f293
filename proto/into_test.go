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
