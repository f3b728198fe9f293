package seed

import (
	"net/netip"
	"testing"

	"github.com/walkie-p2p/walkie/proto"
)

func TestParsePeerID(t *testing.T) {
	for _, s := range []string{"aaaaaaaa", "0123abcd", "00000000", "ffffffff"} {
		id, err := ParsePeerID(s)
		if err != nil || id.String() != s || id.IsZero() {
			t.Errorf("ParsePeerID(%q) = %q, %v", s, id, err)
		}
	}
	for _, s := range []string{"", "aaaaaaa", "aaaaaaaaa", "AAAAAAAA", "aaaaaaaG", "aaaa-aaa", "aaaaaaa\x00", "\x00\x00\x00\x00\x00\x00\x00\x00", "aaaaaaa\xe9"} {
		if id, err := ParsePeerID(s); err != ErrBadMessage || !id.IsZero() {
			t.Errorf("ParsePeerID(%q) = %q, %v; want ErrBadMessage", s, id, err)
		}
	}
	if s := (PeerID{}).String(); s != "" {
		t.Errorf("zero PeerID prints %q", s)
	}
}

// A walkie peer's seed ID is the first 8 hex digits of its UUID string, as
// a seed's own ID is the first 8 characters of a UUID's.
func TestPeerIDOf(t *testing.T) {
	id := proto.ID{0x01, 0x23, 0x45, 0x6a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12}
	got := PeerIDOf(id)
	if got.String() != id.String()[:8] || got.String() != "0123456a" {
		t.Errorf("PeerIDOf(%s) = %q", id, got)
	}
	if _, err := ParsePeerID(got.String()); err != nil {
		t.Errorf("PeerIDOf gives an ID the seed would not write: %v", err)
	}
	if PeerIDOf(proto.CoreCommunity()).String() != "0cf79f5a" {
		t.Errorf("PeerIDOf(core) = %q", PeerIDOf(proto.CoreCommunity()))
	}
}

// Seed and walkie datagrams are told apart by their first byte.
func TestIsSeed(t *testing.T) {
	hdr := proto.Header{Type: proto.TypeIntroRequest, Community: proto.CoreCommunity(), Sender: proto.ID{15: 1},
		Dest: netip.MustParseAddrPort("192.0.2.1:1873")}
	walkie, err := proto.Encode(nil, hdr, &proto.Puncture{Nonce: 1})
	if err != nil {
		t.Fatal(err)
	}
	sealed := []byte{proto.Magic0, proto.Magic1, 0x81, 0, 0, 0, 1}
	for b, want := range map[string]bool{
		"d4:typei1ee":   true,
		"d":             true,
		"":              false,
		string(walkie):  false,
		string(sealed):  false,
		"le":            false,
		"\x64\x00\xff":  true,
		"WKd":           false,
		"\x80d4:typeie": false,
	} {
		if got := IsSeed([]byte(b)); got != want {
			t.Errorf("IsSeed(%q) = %v, want %v", b, got, want)
		}
	}
}
