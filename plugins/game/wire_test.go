package game

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// vector is a body as it is on the wire, and what it means.
type vector struct {
	t   community.Type
	m   Message
	hex string
}

// vectorInputs are the game ID, hash and nonce of the golden vectors.
func vectorInputs() (GameID, [HashLen]byte, [NonceLen]byte) {
	id := GameID{0: 0x01, 15: 0x0f}
	var h [HashLen]byte
	var n [NonceLen]byte
	for i := range h {
		h[i], n[i] = byte(i), byte(0xff-i)
	}
	return id, h, n
}

// goldenVectors are the bodies of this version as they are on the wire.
// They must never change: a change here breaks every node already
// deployed. docs/protocol.md shows them byte by byte.
func goldenVectors() []vector {
	id, h, n := vectorInputs()
	return []vector{
		{TypeInvite, Message{Game: id}, "820002" + "01c4100100000000000000000000000000000f"},
		{TypeCommit, Message{Game: id, Hash: h}, "830002" + "01c4100100000000000000000000000000000f02c420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{TypeReveal, Message{Game: id, Move: Paper, Nonce: n}, "840002" + "01c4100100000000000000000000000000000f030204c420fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0"},
		{TypeReveal, Message{Game: id, Move: Scissors, Nonce: n, Done: true}, "850002" + "01c4100100000000000000000000000000000f030304c420fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e00601"},
		{TypeReject, Message{Game: id, Reason: ReasonMismatch}, "830002" + "01c4100100000000000000000000000000000f05d92072657665616c20646f6573206e6f74206d6174636820636f6d6d69746d656e74"},
	}
}

// v1Vectors are the bodies of version 1, the first release: the same
// inputs as goldenVectors, no version entry, types 1 to 4.
func v1Vectors() []vector {
	id, h, n := vectorInputs()
	return []vector{
		{TypeInviteV1, Message{Game: id}, "8101c4100100000000000000000000000000000f"},
		{TypeCommitV1, Message{Game: id, Hash: h}, "8201c4100100000000000000000000000000000f02c420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{TypeRevealV1, Message{Game: id, Move: Paper, Nonce: n}, "8301c4100100000000000000000000000000000f030204c420fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0"},
		{TypeRevealV1, Message{Game: id, Move: Scissors, Nonce: n, Done: true}, "8401c4100100000000000000000000000000000f030304c420fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e00601"},
		{TypeRejectV1, Message{Game: id, Reason: ReasonMismatch}, "8201c4100100000000000000000000000000000f05d92072657665616c20646f6573206e6f74206d6174636820636f6d6d69746d656e74"},
	}
}

func TestGolden(t *testing.T) {
	for _, v := range goldenVectors() {
		b, err := Encode(v.t, &v.m)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b); got != v.hex {
			t.Errorf("Encode(%d, %+v)\n got %s\nwant %s", v.t, v.m, got, v.hex)
		}
		want, _ := hex.DecodeString(v.hex)
		m, err := Decode(v.t, want)
		if err != nil || m != v.m {
			t.Errorf("Decode(%d, %s) = %+v, %v; want %+v", v.t, v.hex, m, err, v.m)
		}
		if len(want) > MaxBody {
			t.Errorf("type %d: %d bytes, above MaxBody", v.t, len(want))
		}
	}
}

// A version 1 body is what the first release sent, byte for byte, and it is
// refused by its version, naming its game so that the sender can be told.
// Encode still writes the version 1 layout, for that answer.
func TestVersion1Refused(t *testing.T) {
	for _, v := range v1Vectors() {
		b, err := Encode(v.t, &v.m)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(b); got != v.hex {
			t.Errorf("Encode(%d, %+v)\n got %s\nwant %s", v.t, v.m, got, v.hex)
		}
		m, err := Decode(v.t, b)
		var ve *VersionError
		if !errors.As(err, &ve) || *ve != (VersionError{Type: v.t, Version: 1, Game: v.m.Game}) {
			t.Errorf("Decode(%d, %s) = %+v, %v; want a version 1 error naming the game", v.t, v.hex, m, err)
		}
		// The same body under the version 2 type of the same meaning: no
		// version first, so it is refused as malformed.
		if _, err := Decode(v.t+TypeInvite-TypeInviteV1, b); !errors.Is(err, community.ErrMalformed) {
			t.Errorf("type %d body as type %d: %v, want malformed", v.t, v.t+4, err)
		}
	}
}

// A body of the current types with another version is refused by that
// version, read before anything else: a later version may change the other
// fields' shapes and number and still be named.
func TestOtherVersionRefused(t *testing.T) {
	enc := func(h string) []byte { b, _ := hex.DecodeString(h); return b }
	for name, tc := range map[string]struct {
		b       []byte
		version uint64
	}{
		"version 3":                  {enc("820003" + "01c4100100000000000000000000000000000f"), 3},
		"version 1 in a new type":    {enc("820001" + "01c4100100000000000000000000000000000f"), 1},
		"version 0":                  {enc("8100" + "00"), 0},
		"version 3, other shapes":    {enc("830003" + "01c40101" + "02a0"), 3},
		"version 3, 20 entries":      {enc("de00140003" + strings.Repeat("0101", 19)), 3},
		"version 300 as uint16":      {enc("8200cd012c" + "01c4100100000000000000000000000000000f"), 300},
		"version 3 with no other":    {enc("810003"), 3},
		"version 3 with unknown key": {enc("8200033fc0"), 3},
	} {
		_, err := Decode(TypeInvite, tc.b)
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Version != tc.version || ve.Type != TypeInvite || ve.Game != (GameID{}) {
			t.Errorf("%s: %v, want version %d", name, err, tc.version)
		}
	}
}

// Every proper prefix of a valid body is refused as malformed, never
// half-read, nor mistaken for a body of another version.
func TestTruncated(t *testing.T) {
	for _, v := range append(goldenVectors(), v1Vectors()...) {
		b, _ := hex.DecodeString(v.hex)
		for n := range len(b) {
			if m, err := Decode(v.t, b[:n]); !errors.Is(err, community.ErrMalformed) {
				t.Errorf("type %d: %d of %d bytes: %+v, %v; want malformed", v.t, n, len(b), m, err)
			}
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	enc := func(h string) []byte { b, _ := hex.DecodeString(h); return b }
	const invite = "01c4100100000000000000000000000000000f"
	for name, tc := range map[string]struct {
		t community.Type
		b []byte
	}{
		"missing hash":        {TypeCommit, enc("820002" + invite)},
		"missing version":     {TypeInvite, enc("81" + invite)},
		"version not first":   {TypeInvite, enc("82" + invite + "0002")},
		"version twice":       {TypeInvite, enc("830002" + invite + "0002")},
		"version not a uint":  {TypeInvite, enc("8200a132" + invite)},
		"no entries":          {TypeInvite, enc("80")},
		"short game ID":       {TypeInvite, enc("820002" + "01c40f010000000000000000000000000000000000000f")},
		"duplicate key":       {TypeInvite, enc("830002" + invite + invite)},
		"trailing byte":       {TypeInvite, enc("820002" + invite + "00")},
		"not a map":           {TypeInvite, enc("920002")},
		"unknown type":        {9, enc("80")},
		"done is 2":           {TypeReveal, enc("850002" + "01c4100100000000000000000000000000000f030304c420fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e00602")},
		"too many fields":     {TypeInvite, enc("8a0002")},
		"empty":               {TypeInvite, nil},
		"version 1 truncated": {TypeInviteV1, enc("8101c41001")},
		"version 1 no game":   {TypeCommitV1, enc("8102c420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")},
	} {
		if m, err := Decode(tc.t, tc.b); err == nil || errors.As(err, new(*VersionError)) {
			t.Errorf("%s: %+v, %v; want malformed", name, m, err)
		}
	}
	// An unknown key is skipped: a later version may add fields.
	b := enc("830002" + invite + "3fa3616263")
	if m, err := Decode(TypeInvite, b); err != nil || m.Game != (GameID{0: 1, 15: 15}) {
		t.Errorf("unknown key: %+v, %v", m, err)
	}
}

// A declared length beyond the body is refused before the msgpack library
// sizes a buffer by it. Found by FuzzDecode: a str32 claiming 4 GiB made the
// library allocate it on every call. A length hidden in an extension's
// payload, which the library reads a map through, is refused too.
func TestDecodeHostileLengths(t *testing.T) {
	for name, b := range map[string][]byte{
		"str32 of 4 GiB":        {0x81, 0x01, 0xdb, 0xf7, 0xeb, 0xa5, 0x39, 0x30},
		"bin32 of 4 GiB":        {0x81, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff},
		"bin8 past end":         {0x81, 0x01, 0xc4, 0x10, 0x30},
		"map32 too long":        {0xdf, 0xff, 0xff, 0xff, 0xff},
		"array16 too long":      {0x81, 0x01, 0xdc, 0x00, 0x09, 0x01},
		"ext32 past end":        {0x81, 0x01, 0xc9, 0x00, 0x00, 0x10, 0x00, 0x01},
		"cut short":             {0x82, 0x01, 0x02},
		"never used 0xc1":       {0xc1},
		"nil":                   {0xc0},
		"map in an ext8":        {0xc7, 0x07, 0x01, 0x81, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff},
		"ext under unknown key": {0x82, 0x01, 0xc4, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 0x3f, 0xd4, 0x01, 0x00},
	} {
		for typ := TypeInviteV1; typ <= TypeReject; typ++ {
			if _, err := Decode(typ, b); !errors.Is(err, community.ErrMalformed) {
				t.Errorf("%s: type %d: %v, want a community.ErrMalformed", name, typ, err)
			}
		}
	}
	for name, b := range map[string][]byte{
		"str32 of 4 GiB": {0x83, 0x01, 0xdb, 0xf7, 0xeb, 0xa5, 0x39, 0x30},
		"map in an ext8": {0xc7, 0x07, 0x01, 0x81, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			_, _ = Decode(TypeCommit, b)
		}
		runtime.ReadMemStats(&after)
		if per := (after.TotalAlloc - before.TotalAlloc) / 100; per > 256 {
			t.Errorf("%s: %d bytes a call", name, per)
		}
	}
}

// Run it with: go test ./plugins/game -run='^$' -fuzz='^FuzzDecode$' -fuzztime=30s
func FuzzDecode(f *testing.F) {
	for _, v := range append(goldenVectors(), v1Vectors()...) {
		b, _ := hex.DecodeString(v.hex)
		f.Add(uint8(v.t), b)
	}
	f.Add(uint8(TypeInvite), []byte{0x82, 0x00, 0x03, 0x01, 0xc4, 0x01, 0x01}) // version 3
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		m, err := Decode(community.Type(typ), b)
		var ve *VersionError
		if errors.As(err, &ve) {
			// Refused by its version: a version 1 type, or any version but
			// ours on a current one.
			want := ve.Version == 1
			if versioned(community.Type(typ)) {
				want = ve.Version != Version && ve.Game == GameID{}
			}
			if !want || ve.Type != community.Type(typ) {
				t.Fatalf("type %d: %v", typ, err)
			}
			return
		}
		if err != nil {
			return
		}
		if !versioned(community.Type(typ)) {
			t.Fatalf("type %d decoded without a version error: %+v", typ, m)
		}
		if len(b) > MaxBody || len(m.Reason) > MaxReason {
			t.Fatalf("accepted %d bytes, reason of %d", len(b), len(m.Reason))
		}
		// What decodes re-encodes to a body that decodes to the same
		// message, and the canonical form is stable.
		enc, err := Encode(community.Type(typ), &m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := Decode(community.Type(typ), enc)
		if err != nil || m2 != m {
			t.Fatalf("re-decoded %+v, %v; want %+v", m2, err, m)
		}
		if again, _ := Encode(community.Type(typ), &m2); !bytes.Equal(again, enc) {
			t.Fatalf("encoding not stable: %x then %x", enc, again)
		}
	})
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		a, b Move
		want Result
	}{
		{Rock, Scissors, Win}, {Scissors, Paper, Win}, {Paper, Rock, Win},
		{Scissors, Rock, Loss}, {Paper, Scissors, Loss}, {Rock, Paper, Loss},
		{Rock, Rock, Draw}, {Paper, Paper, Draw}, {Scissors, Scissors, Draw},
	} {
		if got := outcome(tc.a, tc.b); got != tc.want {
			t.Errorf("%v vs %v: %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// The commitment is SHA-256 over the tag, the game ID, the player's peer ID,
// the move byte and the nonce (docs/protocol.md); another implementation
// must compute the same bytes. The expected hash was computed apart from
// this package. Every input changes it.
func TestCommitmentGolden(t *testing.T) {
	id, _, n := vectorInputs()
	player := proto.ID{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	got := Commitment(id, player, Paper, n)
	// sha256("walkie/game/commitment/v2" || 0100..000f || 0011..eeff || 02 || fffe..e0)
	const want = "a70132a327584fdc074a3659e77c00a9d808bbdc12020f1f8cf354255c7d5c75"
	if hex.EncodeToString(got[:]) != want {
		t.Errorf("Commitment = %x, want %s", got, want)
	}
	for name, other := range map[string][HashLen]byte{
		"game":   Commitment(GameID{2}, player, Paper, n),
		"player": Commitment(id, proto.ID{1}, Paper, n),
		"move":   Commitment(id, player, Rock, n),
		"nonce":  Commitment(id, player, Paper, [NonceLen]byte{1}),
	} {
		if other == got {
			t.Errorf("the commitment ignores the %s", name)
		}
	}
}

func TestParse(t *testing.T) {
	for s, want := range map[string]Move{"rock": Rock, "Paper": Paper, " scissors ": Scissors} {
		if m, err := ParseMove(s); err != nil || m != want || m.String() != want.String() {
			t.Errorf("ParseMove(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseMove("lizard"); err == nil {
		t.Error("ParseMove accepted lizard")
	}
	id := GameID{1, 2, 3}
	if got, err := ParseGameID(id.String()); err != nil || got != id {
		t.Errorf("ParseGameID(%s) = %v, %v", id, got, err)
	}
	for _, s := range []string{"", "xyz", id.String()[:30], id.String() + "00", "zz" + id.String()[2:]} {
		if _, err := ParseGameID(s); err == nil {
			t.Errorf("ParseGameID(%q) accepted", s)
		}
	}
}
