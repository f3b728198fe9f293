package seed

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// golden is a datagram made by the seed's own encoder (its unchanged
// message classes, run on a JVM), and the message it means.
type golden struct {
	name string
	hex  string
	m    Message
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func pid(s string) PeerID {
	id, err := ParsePeerID(s)
	if err != nil {
		panic(s)
	}
	return id
}

// goldenVectors are A (aaaaaaaa, 127.0.0.1), B (bbbbbbbb, 127.0.0.2) and C
// (cccccccc, 127.0.0.3), all on port 1873: B asks A for peers, A
// introduces C, C punctures toward B.
func goldenVectors() []golden {
	a, b, c := pid("aaaaaaaa"), pid("bbbbbbbb"), pid("cccccccc")
	addrA, addrB, addrC := ap("127.0.0.1:1873"), ap("127.0.0.2:1873"), ap("127.0.0.3:1873")
	return []golden{
		{"intro-request B->A",
			"6431363a6e6574776f726b5f6f70657261746f72303a31353a636f6e6e656374696f6e5f7479706569316531313a64657374696e6174696f6e64373a61646472657373393a3132372e302e302e31343a706f727469313837336565343a74797065693165373a706565725f6964383a626262626262626265",
			&IntroRequest{Sender: b, Destination: addrA, Connection: ConnectionWiFi}},
		{"intro-response A->B, invitee C, pex B and C",
			"6431363a6e6574776f726b5f6f70657261746f72303a333a7065786c64373a61646472657373393a3132372e302e302e32343a706f7274693138373365373a706565725f6964383a62626262626262626564373a61646472657373393a3132372e302e302e33343a706f7274693138373365373a706565725f6964383a6363636363636363656531353a636f6e6e656374696f6e5f7479706569316531313a64657374696e6174696f6e64373a61646472657373393a3132372e302e302e32343a706f727469313837336565343a7479706569326531353a696e7465726e616c5f736f7572636564373a61646472657373393a3132372e302e302e31343a706f727469313837336565373a706565725f6964383a6161616161616161373a696e766974656564373a61646472657373393a3132372e302e302e33343a706f7274693138373365373a706565725f6964383a63636363636363636565",
			&IntroResponse{Sender: a, Destination: addrB, Connection: ConnectionWiFi, InternalSource: addrA,
				Invitee: &Peer{ID: c, Addr: addrC}, Pex: []Peer{{ID: b, Addr: addrB}, {ID: c, Addr: addrC}}}},
		{"intro-response A->B, no invitee, empty pex",
			"6431363a6e6574776f726b5f6f70657261746f72303a333a7065786c6531353a636f6e6e656374696f6e5f7479706569316531313a64657374696e6174696f6e64373a61646472657373393a3132372e302e302e32343a706f727469313837336565343a7479706569326531353a696e7465726e616c5f736f7572636564373a61646472657373393a3132372e302e302e31343a706f727469313837336565373a706565725f6964383a616161616161616165",
			&IntroResponse{Sender: a, Destination: addrB, Connection: ConnectionWiFi, InternalSource: addrA}},
		{"puncture-request A->C, puncture_peer B",
			"6431313a64657374696e6174696f6e64373a61646472657373393a3132372e302e302e33343a706f72746931383733656531333a70756e63747572655f7065657264373a61646472657373393a3132372e302e302e32343a706f7274693138373365373a706565725f6964383a626262626262626265363a736f7572636564373a61646472657373393a3132372e302e302e31343a706f727469313837336565343a74797065693365373a706565725f6964383a616161616161616165",
			&PunctureRequest{Sender: a, Destination: addrC, Source: addrA, PuncturePeer: Peer{ID: b, Addr: addrB}}},
		{"puncture C->B",
			"6431313a64657374696e6174696f6e64373a61646472657373393a3132372e302e302e32343a706f727469313837336565363a736f7572636564373a61646472657373393a3132372e302e302e33343a706f727469313837336565343a74797065693465373a706565725f6964383a636363636363636365",
			&Puncture{Sender: c, Destination: addrB, Source: addrC}},
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The seed's datagrams decode to the messages they mean.
func TestGoldenDecode(t *testing.T) {
	for _, v := range goldenVectors() {
		pkt := mustHex(t, v.hex)
		if !IsSeed(pkt) {
			t.Errorf("%s: IsSeed false", v.name)
		}
		m, err := Decode(pkt)
		if err != nil || !reflect.DeepEqual(m, v.m) {
			t.Errorf("%s: Decode = %+v, %v; want %+v", v.name, m, err, v.m)
		}
		clear(pkt)
		if !reflect.DeepEqual(m, v.m) {
			t.Errorf("%s: the decoded message aliases the datagram", v.name)
		}
	}
}

// Walkie's encoder writes the seed's bytes for the same message, key order
// included, and they pass the model of the seed's decoder.
func TestGoldenEncode(t *testing.T) {
	for _, v := range goldenVectors() {
		prefix := []byte("xyz")
		pkt, err := Append(prefix, v.m)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if !bytes.Equal(pkt[:3], prefix) {
			t.Errorf("%s: Append changed the prefix", v.name)
		}
		if got := hex.EncodeToString(pkt[3:]); got != v.hex {
			t.Errorf("%s: Append =\n%s\nwant\n%s", v.name, pkt[3:], mustHex(t, v.hex))
		}
		if err := Check(pkt[3:]); err != nil {
			t.Errorf("%s: Check: %v", v.name, err)
		}
		if err := Check(mustHex(t, v.hex)); err != nil {
			t.Errorf("%s: Check of the seed's own datagram: %v", v.name, err)
		}
	}
}

// Every proper prefix of a golden datagram is refused as short: never read
// as a shorter message, never a hang. The seed's decoder, for the record,
// would drop some prefixes and spin on the others.
func TestTruncation(t *testing.T) {
	for _, v := range goldenVectors() {
		pkt := mustHex(t, v.hex)
		for i := range len(pkt) {
			if m, err := Decode(pkt[:i]); err != ErrShort {
				t.Errorf("%s: prefix of %d/%d bytes: %+v, %v; want ErrShort", v.name, i, len(pkt), m, err)
			}
			if err := Check(pkt[:i]); err != ErrWouldDrop && err != ErrWouldHang {
				t.Errorf("%s: Check of a prefix of %d/%d bytes: %v", v.name, i, len(pkt), err)
			}
		}
	}
}

// docs/protocol.md shows the golden datagrams.
func TestDocsHaveGoldenVectors(t *testing.T) {
	doc, err := os.ReadFile("../../docs/protocol.md")
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
			t.Errorf("docs/protocol.md lacks the %s datagram %s", v.name, v.hex)
		}
		if !strings.Contains(string(doc), string(mustHex(t, v.hex))) {
			t.Errorf("docs/protocol.md lacks the %s datagram as text", v.name)
		}
	}
}
