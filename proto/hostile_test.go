package proto

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// hexBody decodes hex with spaces.
func hexBody(t testing.TB, s string) []byte {
	return mustHex(t, strings.ReplaceAll(s, " ", ""))
}

// allocBytes returns the bytes f allocates, on average over many runs.
func allocBytes(f func()) uint64 {
	const runs = 100
	f() // warm up
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}

func TestHostileBodies(t *testing.T) {
	nested := "81 63 " + strings.Repeat("91", 1000) // never terminated
	for _, tc := range []struct {
		name string
		t    Type
		body string
		want error
	}{
		{"empty", TypeBeacon, "", ErrShort},
		{"not a map", TypeBeacon, "90", ErrBadBody},
		{"nil body", TypeBeacon, "c0", ErrBadBody},
		{"map32 huge", TypeBeacon, "df ffffffff", ErrLimit},
		{"map16 over limit", TypeBeacon, "de 0021", ErrLimit},
		{"map promising more", TypeBeacon, "df 00000002 0100", ErrShort},
		{"map32 truncated length", TypeBeacon, "df 0000", ErrShort},
		{"token bin32 huge", TypePuncture, "82 0101 03 c6 ffffffff", ErrLimit},
		{"token past end", TypePuncture, "82 0101 03 c4 08 0102", ErrShort},
		{"unknown bin32 huge", TypeBeacon, "81 63 c6 ffffffff", ErrShort},
		{"unknown str32 huge", TypeBeacon, "81 63 db ffffffff", ErrShort},
		{"unknown ext32 huge", TypeBeacon, "81 63 c9 ffffffff 01", ErrShort},
		{"unknown ext32 max", TypeBeacon, "81 63 c9 fffffffe 01", ErrShort},
		{"unknown array32 huge", TypeBeacon, "81 63 dd ffffffff", ErrShort},
		{"unknown map32 huge", TypeBeacon, "81 63 df 7fffffff", ErrShort},
		{"unknown map32 max", TypeBeacon, "81 63 df ffffffff", ErrShort},
		{"unknown nested arrays", TypeBeacon, nested, ErrShort},
		{"unknown nested maps", TypeBeacon, "81 63 " + strings.Repeat("81 00", 600), ErrShort},
		{"key str32 huge", TypeBeacon, "81 db ffffffff", ErrShort},
		{"never-used code", TypeBeacon, "81 63 c1", ErrBadBody},
		{"never-used code as key", TypeBeacon, "81 c1 00", ErrBadBody},
		{"communities array32 huge", TypeBeacon, "81 04 dd ffffffff", ErrLimit},
		{"communities past end", TypeBeacon, "81 04 92 c410 000102030405060708090a0b0c0d0e0f", ErrShort},
		{"peers array32 huge", TypeIntroResponse, "82 0101 05 dd ffffffff", ErrLimit},
		{"peers past end", TypeIntroResponse, "82 0101 05 98 00", ErrShort},
		{"invitee map32 huge", TypeIntroResponse, "82 0101 06 df ffffffff", ErrLimit},
		{"missing nonce", TypeIntroRequest, "80", ErrBadBody},
		{"nil nonce", TypeIntroRequest, "81 01 c0", ErrBadBody},
		{"missing target", TypePunctureRequest, "81 0101", ErrBadBody},
		{"target without ID", TypePunctureRequest, "82 0101 07 81 02 c406 c0a8010a0751", ErrBadBody},
		{"target zero ID", TypePunctureRequest, "82 0101 07 81 01 c410 00000000000000000000000000000000", ErrBadBody},
		{"duplicate key", TypePuncture, "82 0101 0102", ErrBadBody},
		{"duplicate nil key", TypeBeacon, "82 02c0 02c0", ErrBadBody},
		{"duplicate PeerInfo key", TypePunctureRequest, "82 0101 07 82 01 c410 000102030405060708090a0b0c0d0e0f 01 c410 000102030405060708090a0b0c0d0e0f", ErrBadBody},
		{"nonce as str", TypePuncture, "81 01 a131", ErrBadBody},
		{"nonce as float", TypePuncture, "81 01 cb 3ff0000000000000", ErrBadBody},
		{"nonce negative fixint", TypePuncture, "81 01 ff", ErrBadBody},
		{"nonce negative int64", TypePuncture, "81 01 d3 ffffffffffffffff", ErrBadBody},
		{"nonce truncated uint64", TypePuncture, "81 01 cf 0102", ErrShort},
		{"lan as array", TypeBeacon, "81 02 92 00 00", ErrBadBody},
		{"lan as str", TypeBeacon, "81 02 a6 c0a8010a0751", ErrBadBody},
		{"lan 5 bytes", TypeBeacon, "81 02 c4 05 c0a8010a07", ErrBadAddress},
		{"lan 19 bytes", TypeBeacon, "81 02 c4 13 " + strings.Repeat("00", 19), ErrBadAddress},
		{"lan bin32 huge", TypeBeacon, "81 02 c6 ffffffff", ErrBadAddress},
		{"token as str", TypePuncture, "82 0101 03 a3 616263", ErrBadBody},
		{"token as array", TypePuncture, "82 0101 03 90", ErrBadBody},
		{"communities as map", TypeBeacon, "81 04 80", ErrBadBody},
		{"community of 15 bytes", TypeBeacon, "81 04 91 c40f 000102030405060708090a0b0c0d0e 00", ErrBadBody},
		{"community of 17 bytes", TypeBeacon, "81 04 91 c411 000102030405060708090a0b0c0d0e0f10", ErrBadBody},
		{"community as str", TypeBeacon, "81 04 91 d9 10 000102030405060708090a0b0c0d0e0f", ErrBadBody},
		{"peer as array", TypeIntroResponse, "82 0101 05 91 " + strings.Repeat("90", 20), ErrBadBody},
		{"invitee as int", TypeIntroResponse, "82 0101 06 05", ErrBadBody},
		{"target as bin", TypePunctureRequest, "82 0101 07 c4 10 000102030405060708090a0b0c0d0e0f", ErrBadBody},
		{"peer wan 7 bytes", TypePunctureRequest, "82 0101 07 82 01 c410 000102030405060708090a0b0c0d0e0f 03 c407 00000000000000", ErrBadAddress},
		// The seed's fields (keys 17 to 19, SeedInfo).
		{"alt port over 65535", TypeIntroResponse, "82 0101 11 ce 00010000", ErrBadAddress},
		{"alt port as str", TypeIntroResponse, "82 0101 11 a13 1", ErrBadBody},
		{"seed invitee map32 huge", TypeIntroResponse, "82 0101 12 df ffffffff", ErrLimit},
		{"seed invitee without wan", TypeIntroResponse, "82 0101 12 81 01 c404 cccccccc", ErrBadBody},
		{"seed invitee without ID", TypeIntroResponse, "82 0101 12 81 03 c406 c63364030751", ErrBadBody},
		{"seed ID of 8 bytes", TypeIntroResponse, "82 0101 12 82 01 c408 6363636363636363 03 c406 c63364030751", ErrBadBody},
		{"seed ID of 3 bytes", TypeIntroResponse, "82 0101 12 82 01 c403 cccccc 03 c406 c63364030751", ErrBadBody},
		{"seed ID bin32 huge", TypeIntroResponse, "82 0101 12 82 01 c6 ffffffff", ErrBadBody},
		{"seed invitee IPv6 wan", TypeIntroResponse, "82 0101 12 82 01 c404 cccccccc 03 c412 20010db8000000000000000000000030 0751", ErrBadAddress},
		{"seed invitee IPv6 lan", TypeIntroResponse, "82 0101 12 83 01 c404 cccccccc 02 c412 fd000000000000000000000000000002 0751 03 c406 c63364030751", ErrBadAddress},
		{"seed invitee port 0", TypeIntroResponse, "82 0101 12 82 01 c404 cccccccc 03 c406 c63364030000", ErrBadAddress},
		{"seed invitee as bin", TypeIntroResponse, "82 0101 12 c404 cccccccc", ErrBadBody},
		{"seed target and target", TypePunctureRequest, "83 0101 07 81 01 c410 000102030405060708090a0b0c0d0e0f 13 82 01 c404 bbbbbbbb 03 c406 c63364020751", ErrBadBody},
		{"seed invitee and ticket", TypeIntroResponse, "83 0101 0f c47a " + strings.Repeat("01", 122) + " 12 82 01 c404 cccccccc 03 c406 c63364030751", ErrLimit},
		{"8 peers and ticket", TypeIntroResponse, "83 0101 0f c47a " + strings.Repeat("01", 122) + " 05 98" + strings.Repeat(" 81 01 c410 000102030405060708090a0b0c0d0e0f", 8), ErrLimit},
		{"seed target past end", TypePunctureRequest, "82 0101 13 82 01 c404 bbbbbbbb 03 c406 c633", ErrShort},
	} {
		body := hexBody(t, tc.body)
		if _, err := decodeMessage(tc.t, body); err != tc.want {
			t.Errorf("%s: %v %x: err = %v, want %v", tc.name, tc.t, body, err, tc.want)
		}
		if n := allocBytes(func() { _, _ = decodeMessage(tc.t, body) }); n > 1024 {
			t.Errorf("%s: decoding %d bytes allocated %d bytes", tc.name, len(body), n)
		}
	}
}

func TestBodyTooLarge(t *testing.T) {
	body := Pad(hexBody(t, "80"), MaxDatagram)
	if _, err := DecodeBeacon(body); err != nil {
		t.Fatalf("MaxDatagram body: %v", err)
	}
	if _, err := DecodeBeacon(append(body, 0)); err != ErrTooLarge {
		t.Fatalf("MaxDatagram+1 body: %v, want ErrTooLarge", err)
	}
}

// Rejecting a hostile body allocates nothing at all.
func TestHostileNoAllocs(t *testing.T) {
	for _, s := range []string{"df ffffffff", "81 63 c6 ffffffff", "81 63 dd ffffffff", "81 04 dd ffffffff",
		"82 0101 05 dd ffffffff", "81 63 " + strings.Repeat("91", 1000),
		// Counts within their limits but more than the bytes left can hold.
		"82 0100 04 dc 0010 " + zeroHex(20), "82 0100 05 98 " + zeroHex(40)} {
		body := hexBody(t, s)
		if n := testing.AllocsPerRun(100, func() { _, _ = DecodeIntroResponse(body) }); n != 0 {
			t.Errorf("%s: %v allocations", s, n)
		}
	}
}

func TestDeepUnknownValue(t *testing.T) {
	// 1000 nested arrays around a 0 and a 1000-deep map chain: valid
	// msgpack, so skipped without error and without recursion.
	for _, v := range []string{strings.Repeat("91", 1000) + "00", strings.Repeat("81 00", 600) + "00"} {
		body := hexBody(t, "82 63 "+v+" 02 c406 c0a8010a0751")
		m, err := DecodeBeacon(body)
		if err != nil || m.LAN != netip.MustParseAddrPort("192.168.1.10:1873") {
			t.Errorf("deep unknown value: %+v, %v", m, err)
		}
	}
}

// unknownEntries are map entries no message knows; each must be skipped.
var unknownEntries = []string{
	"63 a5 68656c6c6f",                         // 99: "hello"
	"63 81 01 93 01 cb 3ff0000000000000 80",    // 99: {1: [1, 1.0, {}]}
	"00 c3",                                    // 0: true
	"cc 63 d5 01 abcd",                         // 99 as uint8: fixext2
	"d3 0000000000000063 c7 02 05 abcd",        // 99 as int64: ext8
	"cd 1234 c0",                               // 0x1234: nil
	"a3 6b6579 05",                             // "key": 5
	"ff 05",                                    // -1: 5
	"92 01 02 dc 0002 c4 00 da 0000",           // [1, 2]: [bin, str]
	"40 ca 3f800000",                           // 64: float32
	"3f de 0001 e0 c2",                         // 63: {-32: false}
	"cf 0000000000000063 d8 01 " + zeroHex(16), // 99 as uint64: fixext16
}

func zeroHex(n int) string { return strings.Repeat("00", n) }

// withEntry adds a map entry to a fixmap body, first or last.
func withEntry(body, entry []byte, first bool) []byte {
	out := []byte{body[0] + 1}
	if first {
		out = append(out, entry...)
		return append(out, body[1:]...)
	}
	out = append(out, body[1:]...)
	return append(out, entry...)
}

func TestUnknownKeysIgnored(t *testing.T) {
	for _, v := range goldenVectors() {
		pkt := mustHex(t, v.hex)
		h, body, _ := ParseHeader(pkt)
		for _, e := range unknownEntries {
			for _, first := range []bool{true, false} {
				b := withEntry(body, hexBody(t, e), first)
				m, err := decodeMessage(h.Type, b)
				if err != nil || !reflect.DeepEqual(m, v.m) {
					t.Errorf("%s + %s: %+v, %v", v.name, e, m, err)
				}
			}
		}
	}
	// Keys of other messages are unknown too: a target in a beacon.
	b := hexBody(t, "81 07 c0")
	if _, err := DecodeBeacon(b); err != nil {
		t.Errorf("target key in a beacon: %v", err)
	}
}

// Unknown keys inside a PeerInfo are ignored as well.
func TestUnknownPeerInfoKeys(t *testing.T) {
	body := hexBody(t, "82 01 07 07 83 01 c410 000102030405060708090a0b0c0d0e0f 63 a0 04 c406 0a0000010751")
	m, err := DecodePunctureRequest(body)
	if err != nil || m.Target.ID != idOf(0) || m.Target.LAN.IsValid() {
		t.Errorf("%+v, %v", m, err)
	}
}

// Other encoders may choose longer or signed integer forms and nil for
// absent fields; all decode to the same value.
func TestLenientForms(t *testing.T) {
	want := Puncture{Nonce: 5}
	for _, s := range []string{"81 01 05", "81 01 cc05", "81 01 cd0005", "81 01 ce00000005", "81 01 cf0000000000000005",
		"81 01 d005", "81 01 d10005", "81 01 d200000005", "81 01 d30000000000000005",
		"83 01 05 02 c0 03 c0", "82 01 05 03 c400", "82 cc01 05 03 c50000", "81 d001 05"} {
		m, err := DecodePuncture(hexBody(t, s))
		if err != nil || !reflect.DeepEqual(m, want) {
			t.Errorf("%s: %+v, %v; want %+v", s, m, err, want)
		}
	}
	// bin16 and bin32 are accepted where the encoder writes bin8.
	m, err := DecodeBeacon(hexBody(t, "82 02 c6 00000006 c0a8010a0751 04 dc 0001 c5 0010 "+hex.EncodeToString(seq(1, 16))))
	if err != nil || m.LAN != netip.MustParseAddrPort("192.168.1.10:1873") || len(m.Communities) != 1 {
		t.Errorf("long forms: %+v, %v", m, err)
	}
	// Empty arrays and bins decode as nil, like omitted fields.
	m2, err := DecodeIntroResponse(hexBody(t, "84 01 00 03 c400 04 90 05 90"))
	if err != nil || !reflect.DeepEqual(m2, IntroResponse{}) {
		t.Errorf("empty fields: %+v, %v", m2, err)
	}
}

// An IPv4-mapped address decodes as IPv4, as the encoder would write it.
func TestMappedAddress(t *testing.T) {
	m, err := DecodeBeacon(hexBody(t, "81 02 c412 00000000000000000000ffffc0a8010a 0751"))
	if err != nil || m.LAN != netip.MustParseAddrPort("192.168.1.10:1873") {
		t.Errorf("%+v, %v", m, err)
	}
}

func TestNilIsAbsent(t *testing.T) {
	m, err := DecodeIntroResponse(hexBody(t, "86 01 01 02 c0 03 c0 04 c0 05 c0 06 c0"))
	if err != nil || !reflect.DeepEqual(m, IntroResponse{Nonce: 1}) {
		t.Errorf("%+v, %v", m, err)
	}
}

// The encoder omits invalid addresses, empty tokens and empty lists, and
// writes IPv4-mapped addresses as IPv4 and drops zones.
func TestOmitEmpty(t *testing.T) {
	for _, tc := range []struct {
		m    Message
		want string
	}{
		{&IntroRequest{}, "8101 00"},
		{&IntroResponse{Nonce: 1, Token: []byte{}, Communities: []ID{}, Peers: []PeerInfo{}}, "8101 01"},
		{&Puncture{Nonce: 0x80}, "8101 cc80"},
		{&Beacon{}, "80"},
		{&Beacon{LAN: netip.MustParseAddrPort("[::ffff:192.168.1.10]:1873")}, "81 02 c406 c0a8010a 0751"},
		{&Beacon{LAN: netip.MustParseAddrPort("[fe80::1%eth0]:1873")}, "81 02 c412 fe800000000000000000000000000001 0751"},
		{&PunctureRequest{Target: PeerInfo{ID: idOf(0)}}, "82 0100 07 8101 c410 000102030405060708090a0b0c0d0e0f"},
	} {
		got, err := tc.m.AppendBody(nil)
		if want := hexBody(t, tc.want); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%v: %x, %v; want %x", tc.m.Type(), got, err, want)
		}
	}
}

// A NAT hint that this version cannot act on safely reads as unknown: an
// unknown kind, a sequential hint without a usable step; bits above 32 are
// room for later fields and ignored.
func TestNATHintUnpack(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		want NATHint
	}{
		{0, NATHint{}},
		{1, NATHint{Kind: NATEasy}},
		{2 | 5<<8 | 40000<<16, NATHint{Kind: NATRandom}}, // port and step mean nothing for random
		{2 | 1<<32, NATHint{Kind: NATRandom, Wants: true}},
		{1 | 1<<32, NATHint{Kind: NATEasy, Wants: true}},
		{0 | 1<<32, NATHint{}}, // unknown kind: nothing to act on
		{3 | 1<<8 | 40000<<16, NATHint{Kind: NATSequential, Port: 40000, Step: 1}},
		{3 | 16<<8 | 1<<16 | 1<<32 | 1<<40, NATHint{Kind: NATSequential, Port: 1, Step: 16, Wants: true}},
		{3 | 0<<8 | 40000<<16, NATHint{}},  // no step
		{3 | 17<<8 | 40000<<16, NATHint{}}, // step too large
		{4, NATHint{}},                     // a kind from a later version
		{255 | 1<<8, NATHint{}},
	} {
		if got := unpackNAT(tc.v); got != tc.want {
			t.Errorf("unpackNAT(%#x) = %+v, want %+v", tc.v, got, tc.want)
		}
		if tc.want.Kind != NATUnknown && unpackNAT(tc.want.pack()) != tc.want {
			t.Errorf("%+v does not survive pack/unpack", tc.want)
		}
	}
}
