package proto

import (
	"bytes"
	"net/netip"
	"testing"
)

// bigMessage is a message whose body is n bytes of filler.
type bigMessage struct{ n int }

func (*bigMessage) Type() Type { return 0x7f }

func (m *bigMessage) AppendBody(b []byte) ([]byte, error) {
	return append(b, make([]byte, m.n)...), nil
}

func TestEncodeSetsType(t *testing.T) {
	pkt, err := Encode(nil, Header{Type: TypeBeacon, Sender: goldenSender, Dest: goldenDest4}, &Puncture{Nonce: 1})
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := ParseHeader(pkt); h.Type != TypePuncture {
		t.Errorf("type = %v, want puncture", h.Type)
	}
}

func TestEncodeErrors(t *testing.T) {
	buf := append(make([]byte, 0, 2*MaxDatagram), "keep"...)
	h := Header{Sender: goldenSender, Dest: goldenDest6}
	for _, tc := range []struct {
		name string
		h    Header
		m    Message
		want error
	}{
		{"invalid dest", Header{Sender: goldenSender}, &Puncture{}, ErrBadAddress},
		{"zero sender", Header{Dest: goldenDest4}, &Puncture{}, ErrBadBody},
		{"one over", h, &bigMessage{MaxDatagram - MaxHeaderLen + 1}, ErrTooLarge},
		{"token", h, &Puncture{Token: make([]byte, MaxToken+1)}, ErrLimit},
		{"zero peer ID", h, &PunctureRequest{}, ErrBadBody},
	} {
		out, err := Encode(buf, tc.h, tc.m)
		if err != tc.want {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		if string(out) != "keep" {
			t.Errorf("%s: Encode returned %q, want b unchanged", tc.name, out)
		}
	}
	// Exactly MaxDatagram is fine, and the limit counts only the appended bytes.
	out, err := Encode(buf, h, &bigMessage{MaxDatagram - MaxHeaderLen})
	if err != nil || len(out) != len("keep")+MaxDatagram {
		t.Errorf("MaxDatagram: %d bytes, %v", len(out), err)
	}
}

func TestPad(t *testing.T) {
	pkt := []byte{1, 2, 3}
	for _, tc := range []struct{ n, want int }{
		{-1, 3}, {0, 3}, {3, 3}, {4, 4}, {128, 128}, {MaxDatagram, MaxDatagram}, {MaxDatagram + 1, MaxDatagram}, {1 << 30, MaxDatagram},
	} {
		got := Pad(bytes.Clone(pkt), tc.n)
		if len(got) != tc.want || !bytes.Equal(got[:3], pkt) || bytes.ContainsFunc(got[3:], func(r rune) bool { return r != 0 }) {
			t.Errorf("Pad(_, %d): %d bytes %x, want %d", tc.n, len(got), got, tc.want)
		}
	}
	long := make([]byte, MaxDatagram+5)
	if got := Pad(long, 10); len(got) != len(long) {
		t.Errorf("Pad shortened a packet to %d", len(got))
	}
}

// Anti-amplification arithmetic the core relies on: the largest answer to
// an unverified request (nonce, IPv6 LAN, full token, IPv6 header) is
// unverifiedResponseMax bytes.
const unverifiedResponseMax = 122

func TestUnverifiedResponseSize(t *testing.T) {
	resp := &IntroResponse{Nonce: ^uint64(0), LAN: netip.MustParseAddrPort("[2001:db8::1]:65535"), Token: make([]byte, MaxToken)}
	pkt, err := Encode(nil, Header{Sender: goldenSender, Dest: goldenDest6}, resp)
	if err != nil || len(pkt) != unverifiedResponseMax {
		t.Errorf("token-only response: %d bytes, %v; want %d", len(pkt), err, unverifiedResponseMax)
	}
}
