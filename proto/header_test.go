package proto

import (
	"bytes"
	"net/netip"
	"testing"
)

func TestParseHeaderErrors(t *testing.T) {
	v4 := (&Header{Sender: goldenSender, Dest: goldenDest4}).AppendTo(nil)
	v6 := (&Header{Sender: goldenSender, Dest: goldenDest6}).AppendTo(nil)
	with := func(b []byte, off int, c byte) []byte {
		b = bytes.Clone(b)
		b[off] = c
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"one byte", []byte{Magic0}, ErrShort},
		{"stray byte", []byte{0x00, Magic1}, ErrBadMagic},
		{"bad magic", with(v4, 1, 'X'), ErrBadMagic},
		{"bad version", with(v4, 2, 2), ErrBadVersion},
		{"version before length", []byte{Magic0, Magic1, 0}, ErrBadVersion},
		{"short v4", v4[:MinHeaderLen-1], ErrShort},
		{"short v6", v6[:MaxHeaderLen-1], ErrShort},
		{"family 0", with(v4, 36, 0), ErrBadAddress},
		{"family 5", with(v4, 36, 5), ErrBadAddress},
		{"zero sender", (&Header{Dest: goldenDest4}).AppendTo(nil), ErrBadBody},
		{"over MaxDatagram", append(Pad(bytes.Clone(v4), MaxDatagram), 0), ErrTooLarge},
	} {
		_, _, err := ParseHeader(tc.b)
		if err != tc.want {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestHeaderBody(t *testing.T) {
	pkt := append((&Header{Sender: goldenSender, Dest: goldenDest6}).AppendTo(nil), 1, 2, 3)
	_, body, err := ParseHeader(pkt)
	if err != nil || !bytes.Equal(body, []byte{1, 2, 3}) {
		t.Fatalf("body = %x, %v", body, err)
	}
}

func TestHeaderAddressForms(t *testing.T) {
	for _, tc := range []struct {
		dest, want netip.AddrPort
		len        int
	}{
		{netip.MustParseAddrPort("[::ffff:192.0.2.1]:9"), netip.MustParseAddrPort("192.0.2.1:9"), MinHeaderLen},
		{netip.MustParseAddrPort("[fe80::1%eth0]:9"), netip.MustParseAddrPort("[fe80::1]:9"), MaxHeaderLen},
		{netip.AddrPort{}, netip.MustParseAddrPort("0.0.0.0:0"), MinHeaderLen},
		{netip.MustParseAddrPort("[::]:65535"), netip.MustParseAddrPort("[::]:65535"), MaxHeaderLen},
	} {
		h := Header{Sender: goldenSender, Dest: tc.dest}
		b := h.AppendTo(nil)
		if len(b) != tc.len || h.Len() != tc.len {
			t.Errorf("%v: encoded %d bytes, Len %d, want %d", tc.dest, len(b), h.Len(), tc.len)
		}
		got, _, err := ParseHeader(b)
		if err != nil || got.Dest != tc.want {
			t.Errorf("%v: parsed %v, %v; want %v", tc.dest, got.Dest, err, tc.want)
		}
	}
	// A peer that writes an IPv4-mapped address with family 6 is understood.
	b := (&Header{Sender: goldenSender, Dest: goldenDest6}).AppendTo(nil)
	copy(b[37:], netip.MustParseAddr("::ffff:192.0.2.1").AsSlice())
	h, _, err := ParseHeader(b)
	if err != nil || h.Dest != netip.MustParseAddrPort("192.0.2.1:1873") {
		t.Errorf("mapped family 6: %v, %v", h.Dest, err)
	}
}

func TestAppendToAppends(t *testing.T) {
	h := Header{Type: TypeBeacon, Sender: goldenSender, Dest: goldenDest4}
	b := h.AppendTo([]byte("prefix"))
	if string(b[:6]) != "prefix" || len(b) != 6+MinHeaderLen {
		t.Fatalf("AppendTo = %q", b)
	}
}
