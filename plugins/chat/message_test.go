package chat

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/walkie-p2p/walkie/community"
)

// The wire form of a message is a contract between versions: these bytes
// must never change. The key is the one of the seed 00 01 .. 1f, the room
// is "chat"; Ed25519 signatures are deterministic, so the signature is too.
const (
	goldenKey    = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
	goldenSig    = "cc99657883f44147bf75664b03cd9b398263097e5090f5e70ecc08b0b2f96b55613f4c93d9f212390f5b09c24e23a7c22531e9635767546c9f75cef4c06bcb0e"
	goldenSigned = "77616c6b69652063686174206d65737361676520763200" + // "walkie chat message v2\x00"
		"c0d54b47323f51e3b429c8b6606985e8" + // the community ID of "chat"
		goldenKey +
		"000000000000012c" + // Lamport 300, big endian
		"68c3a96c6c6f" // "héllo"
	goldenBody = "95" + "02" + "c420" + goldenKey + "cd012c" + "a6" + "68c3a96c6c6f" + "c440" + goldenSig
	goldenID   = "b0f0f5ed-b5ba-80d5-b1d9-19a6c3840ff9" // the first 16 bytes of SHA-256(goldenSigned)
	// goldenAuthor is community.IDFromKey(goldenKey).
	goldenAuthor = "42da7a5a-270d-5436-847a-4573f139719f"
)

// goldenPriv is the key that signed the golden message.
func goldenPriv() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func unhexT(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMessageGolden(t *testing.T) {
	cid := community.IDFromName(DefaultName)
	m := signedIn(cid, goldenPriv(), 300, "héllo")
	if got := hex.EncodeToString(m.Key[:]); got != goldenKey {
		t.Fatalf("key %s, want %s", got, goldenKey)
	}
	if got := hex.EncodeToString(signedBytes(cid, m.Key, 300, "héllo")); got != goldenSigned {
		t.Errorf("signed bytes %s, want %s", got, goldenSigned)
	}
	if got := hex.EncodeToString(m.Sig[:]); got != goldenSig {
		t.Errorf("signature %s, want %s", got, goldenSig)
	}
	if m.ID.String() != goldenID || m.Author.String() != goldenAuthor {
		t.Errorf("ID %s author %s, want %s and %s", m.ID, m.Author, goldenID, goldenAuthor)
	}
	want := unhexT(t, goldenBody)
	if got := m.encode(); !bytes.Equal(got, want) {
		t.Errorf("encode = %x, want %x", got, want)
	}
	s, err := decodeSigned(want)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.open(cid); err != nil || got != m {
		t.Errorf("open = %+v, %v; want %+v", got, err, m)
	}
	if got, err := decodeStored(cid, want); err != nil || got != m {
		t.Errorf("decodeStored = %+v, %v; want %+v", got, err, m)
	}
}

// A body of version 1, as chat.db files of that version hold it.
const goldenV1 = "94" + "c410" + "00112233445546778899aabbccddeeff" + "c410" + "0f1e2d3c4b5a49688796a5b4c3d2e1f0" + "cd012c" + "a6" + "68c3a96c6c6f"

func TestMessageV1Golden(t *testing.T) {
	m := Message{ID: uuid.MustParse("00112233-4455-4677-8899-aabbccddeeff"), Author: uuid.MustParse("0f1e2d3c-4b5a-4968-8796-a5b4c3d2e1f0"), Lamport: 300, Text: "héllo"}
	want := unhexT(t, goldenV1)
	if got := m.encode(); !bytes.Equal(got, want) {
		t.Errorf("encode = %x, want %x", got, want)
	}
	if got, err := decodeStored(community.IDFromName(DefaultName), want); err != nil || got != m || got.Signed {
		t.Errorf("decodeStored = %+v, %v; want %+v, unsigned", got, err, m)
	}
	if _, err := decodeSigned(want); !errors.Is(err, community.ErrMalformed) {
		t.Errorf("a version 1 body as a version 2 message: %v, want malformed", err)
	}
}

func TestSyncRequestGolden(t *testing.T) {
	r := syncRequest{Lo: 5, Hi: 1 << 40, Salt: 7, Bits: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
	const want = "95" + "02" + "05" + "cf0000010000000000" + "07" + "c408" + "0102030405060708"
	if got := hex.EncodeToString(r.encode()); got != want {
		t.Errorf("encode = %s, want %s", got, want)
	}
	d, err := decodeSyncRequest(r.encode())
	if err != nil || d.Lo != r.Lo || d.Hi != r.Hi || d.Salt != r.Salt || !bytes.Equal(d.Bits, r.Bits) {
		t.Errorf("decode = %+v, %v", d, err)
	}
}

// No proper prefix of a body decodes: each is refused as malformed, none
// is read as a shorter message.
func TestTruncated(t *testing.T) {
	msg := unhexT(t, goldenBody)
	for n := range len(msg) {
		if _, err := decodeSigned(msg[:n]); !errors.Is(err, community.ErrMalformed) {
			t.Errorf("message cut to %d of %d bytes: %v, want malformed", n, len(msg), err)
		}
	}
	req := (&syncRequest{Lo: 5, Hi: 1 << 40, Salt: 7, Bits: []byte{1, 2, 3, 4, 5, 6, 7, 8}}).encode()
	for n := range len(req) {
		if _, err := decodeSyncRequest(req[:n]); !errors.Is(err, community.ErrMalformed) {
			t.Errorf("sync request cut to %d of %d bytes: %v, want malformed", n, len(req), err)
		}
	}
}

// A body of another version is refused by its number, whatever follows.
func TestOtherVersions(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		want uint64
	}{
		{"message v1 in an array of 5", append([]byte{0x95, 0x01}, unhexT(t, goldenBody)[2:]...), 1},
		{"message v3, one more field", append(append([]byte{0x96, 0x03}, unhexT(t, goldenBody)[2:]...), 0xc0), 3},
		{"message v3 alone", []byte{0x91, 0x03}, 3},
		{"message v2^40 in 8 bytes", []byte{0x91, 0xcf, 0, 0, 1, 0, 0, 0, 0, 0}, 1 << 40},
	} {
		_, err := decodeSigned(tc.body)
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Version != tc.want || ve.Type != typeMessage {
			t.Errorf("%s: %v, want a version %d error", tc.name, err, tc.want)
		}
	}
	_, err := decodeSyncRequest([]byte{0x95, 0x03, 1, 2, 3, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0})
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Version != 3 || ve.Type != typeSync {
		t.Errorf("sync request v3: %v, want a version 3 error", err)
	}
	for name, body := range map[string][]byte{
		"version 2 in an array of 4": {0x94, 0x02, 1, 2, 3},
		"empty array":                {0x90},
		"version as a string":        {0x95, 0xa1, '2'},
		"version negative":           {0x95, 0xff},
	} {
		if _, err := decodeSigned(body); !errors.Is(err, community.ErrMalformed) || errors.As(err, &ve) {
			t.Errorf("%s: %v, want malformed", name, err)
		}
	}
}

func TestDecodeSignedRejects(t *testing.T) {
	priv := goldenPriv()
	ok := signedBy(priv, 300, "héllo")
	long := signedBy(priv, MaxLamport, strings.Repeat("x", MaxText))
	if b := long.encode(); len(b) != maxMessageBody {
		t.Fatalf("a message with the longest text takes %d bytes, want maxMessageBody %d", len(b), maxMessageBody)
	}
	if _, err := decodeSigned(long.encode()); err != nil {
		t.Errorf("longest text: %v", err)
	}
	for name, m := range map[string]Message{
		"empty text":    signedBy(priv, 1, ""),
		"text too long": signedBy(priv, 1, strings.Repeat("x", MaxText+1)),
		"bad utf-8":     signedBy(priv, 1, "\xff"),
		"lamport 0":     signedBy(priv, 0, "x"),
		"lamport huge":  signedBy(priv, MaxLamport+1, "x"),
	} {
		if _, err := decodeSigned(m.encode()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	b := ok.encode()
	textAt := 1 + 1 + 34 + 3 // the text's prefix
	for name, body := range map[string][]byte{
		"empty":     nil,
		"truncated": b[:len(b)-1],
		"trailing":  append(bytes.Clone(b), 0),
		"short key": append([]byte{0x95, 0x02, 0xc4, 0x1f}, b[5:]...),
		"short sig": append(bytes.Clone(b[:len(b)-66]), append([]byte{0xc4, 0x3f}, b[len(b)-64:len(b)-1]...)...),
		"no sig":    append([]byte{0x94}, b[1:len(b)-66]...),
		// Lengths beyond the body: refused without trusting them.
		"text past the end":   append(bytes.Clone(b[:textAt]), 0xda, 0xff, 0xff, 'x'),
		"bin32 key":           {0x95, 0x02, 0xc6, 0xff, 0xff, 0xff, 0xff},
		"str32 text of 4 GiB": append(bytes.Clone(b[:textAt]), 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'),
		// Forms the decoder takes but chat never writes.
		"array16":            append([]byte{0xdc, 0, 5}, b[1:]...),
		"version in 2 bytes": append([]byte{0x95, 0xcc, 0x02}, b[2:]...),
		"lamport in 8 bytes": append(append(bytes.Clone(b[:36]), 0xcf, 0, 0, 0, 0, 0, 0, 0x01, 0x2c), b[39:]...),
		"text as bin":        append(append(bytes.Clone(b[:textAt]), 0xc4, 6), b[textAt+1:]...),
		"key as str":         append([]byte{0x95, 0x02, 0xd9, 0x20}, b[4:]...),
		"as a map":           mapForm(t, ok),
	} {
		if _, err := decodeSigned(body); !errors.Is(err, community.ErrMalformed) {
			t.Errorf("%s: %v, want a community.ErrMalformed", name, err)
		}
	}
	if err := checkText(strings.Repeat("é", MaxText/2+1)); !errors.Is(err, ErrBadText) {
		t.Errorf("checkText counts bytes, not runes: %v", err)
	}
}

// mapForm is m as msgpack/v5 writes a struct by default: a map by field name.
func mapForm(t *testing.T, m Message) []byte {
	b, err := msgpack.Marshal(&struct {
		Version  int
		Key, Sig []byte
		Lamport  uint64
		Text     string
	}{Version: 2, Key: m.Key[:], Sig: m.Sig[:], Lamport: m.Lamport, Text: m.Text})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A forged author and relabelled copies are refused by their signature,
// whatever else is right about them.
func TestSignatureBindsEverything(t *testing.T) {
	cid := community.IDFromName(DefaultName)
	x, y := testKey(1), testKey(2)
	real := signedBy(y, 10, "y's words")
	forgeries := map[string]Message{}
	// X signs, claiming Y's key.
	f := real
	f.Lamport, f.Text = 1, "y says what x wants"
	f.Sig = Signature(ed25519.Sign(x, signedBytes(cid, f.Key, f.Lamport, f.Text)))
	forgeries["signed by x under y's key"] = f
	// Y's key, a signature of nothing.
	f = real
	f.Sig[0] ^= 1
	forgeries["y's key, a bad signature"] = f
	// Y's real message with another Lamport time, or another text.
	f = real
	f.Lamport = 1
	forgeries["y's message at another time"] = f
	f = real
	f.Text = "y's wordz"
	forgeries["y's message with another text"] = f
	// Y's real message of another room.
	other := signedIn(community.IDFromName("other-room"), y, 10, "y's words")
	forgeries["y's message of another room"] = other
	for name, m := range forgeries {
		s, err := decodeSigned(m.encode())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, err := s.open(cid); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: opened as %+v, %v; want ErrBadSignature", name, got, err)
		}
	}
	s, _ := decodeSigned(real.encode())
	if got, err := s.open(cid); err != nil || got != real || got.Author != uuid.UUID(community.IDFromKey(y.Public().(ed25519.PublicKey))) {
		t.Errorf("the real message: %+v, %v", got, err)
	}
	if other.ID == real.ID {
		t.Error("the same message in two rooms has one ID")
	}
}

// A body that claims more than it holds is refused before anything is
// allocated for the claim: the refusal costs a few bytes, not the claim.
func TestDecodeMessageAllocs(t *testing.T) {
	b := unhexT(t, goldenBody)
	hostile := append(bytes.Clone(b[:39]), 0xdb, 0xff, 0xff, 0xff, 0xff)
	hostile = append(hostile, make([]byte, maxMessageBody-len(hostile))...)
	const runs = 100
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if _, err := decodeSigned(hostile); !errors.Is(err, community.ErrMalformed) {
			t.Fatalf("accepted: %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	per := (after.TotalAlloc - before.TotalAlloc) / runs
	t.Logf("a %d-byte body claiming a 4 GiB text: %d bytes a call", len(hostile), per)
	if per > 512 {
		t.Errorf("a %d-byte body claiming a 4 GiB text: %d bytes a call", len(hostile), per)
	}
}

// FuzzDecodeMessage: the decoder never panics; whatever it accepts
// re-encodes to the very same bytes (one encoding per message, so a
// history's bytes and dedup do not depend on who encoded it), and opens
// or is refused for its signature, never anything else.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(unhexT(f, goldenBody))
	f.Add(unhexT(f, goldenV1))
	f.Add(append([]byte{0x95, 0x03}, unhexT(f, goldenBody)[2:]...))
	f.Add([]byte{0x95, 0x02, 0xc4, 0x20})
	cid := community.IDFromName(DefaultName)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSigned(b)
		var ve *VersionError
		if errors.As(err, &ve) && ve.Version == Version {
			t.Fatalf("refused its own version: %v", err)
		}
		if err != nil {
			return
		}
		if checkText(s.Text) != nil || s.Lamport == 0 || s.Lamport > MaxLamport {
			t.Fatalf("accepted an invalid message %+v", s)
		}
		if got := s.encode(); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding %x gives %x", b, got)
		}
		m, err := s.open(cid)
		if err != nil && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("open: %v", err)
		}
		if err == nil && (m.ID != idOf(signedBytes(cid, s.Key, s.Lamport, s.Text)) || !bytes.Equal(m.encode(), b)) {
			t.Fatalf("opened %+v, which is not the body %x", m, b)
		}
	})
}

// FuzzDecodeStored: reading a stored record, of either version, never
// panics, and what it reads encodes to the record.
func FuzzDecodeStored(f *testing.F) {
	f.Add(unhexT(f, goldenBody))
	f.Add(unhexT(f, goldenV1))
	f.Add([]byte{0x94, 0xc4, 0x10})
	cid := community.IDFromName(DefaultName)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeStored(cid, b)
		if err != nil {
			return
		}
		if got := m.encode(); !bytes.Equal(got, b) || m.Signed != isSigned(b) {
			t.Fatalf("%x read as %+v, which encodes to %x", b, m, got)
		}
	})
}

func TestDecodeSyncRequestRejects(t *testing.T) {
	for name, body := range map[string][]byte{
		"filter past the end": {0x95, 2, 1, 2, 3, 0xc5, 0xff, 0xff, 0},
		"filter too small":    (&syncRequest{Lo: 1, Hi: 2, Bits: make([]byte, minFilterBytes-1)}).encode(),
		"filter too large":    (&syncRequest{Lo: 1, Hi: 2, Bits: make([]byte, maxFilterBytes+1)}).encode(),
		"hi below lo":         (&syncRequest{Lo: 3, Hi: 2, Bits: make([]byte, minFilterBytes)}).encode(),
		"salt over 32 bits":   {0x95, 2, 1, 2, 0xcf, 1, 0, 0, 0, 0, 0, 0, 0, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		"filter claims 4 GiB": {0x95, 2, 1, 2, 3, 0xc6, 0xff, 0xff, 0xff, 0xff, 0},
		"trailing byte":       append((&syncRequest{Lo: 1, Hi: 2, Bits: make([]byte, minFilterBytes)}).encode(), 0),
		"version 1's form":    {0x94, 1, 2, 3, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		// Forms msgpack allows but chat has never taken.
		"array16":         {0xdc, 0, 5, 2, 1, 2, 3, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		"signed integer":  {0x95, 2, 0xd0, 1, 2, 3, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		"nil lo":          {0x95, 2, 0xc0, 2, 3, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		"filter as str":   {0x95, 2, 1, 2, 3, 0xa8, 0, 0, 0, 0, 0, 0, 0, 0},
		"filter as bin32": {0x95, 2, 1, 2, 3, 0xc6, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		"nil":             {0xc0},
	} {
		if _, err := decodeSyncRequest(body); !errors.Is(err, community.ErrMalformed) {
			t.Errorf("%s: %v, want a community.ErrMalformed", name, err)
		}
	}
	// Integers of any unsigned width, and a bin16 filter, as always.
	wide := []byte{0x95, 0xcc, 2, 0xcc, 1, 0xcf, 0, 0, 0, 0, 0, 0, 0, 2, 0xce, 0, 0, 0, 3, 0xc5, 0, 8, 1, 0, 0, 0, 0, 0, 0, 8}
	if r, err := decodeSyncRequest(wide); err != nil || r.Lo != 1 || r.Hi != 2 || r.Salt != 3 || len(r.Bits) != 8 || r.Bits[0] != 1 || r.Bits[7] != 8 {
		t.Errorf("wide forms: %+v, %v", r, err)
	}
}

// FuzzDecodeSyncRequest: never panics, accepted filters are within bounds.
func FuzzDecodeSyncRequest(f *testing.F) {
	f.Add((&syncRequest{Lo: 1, Hi: 2, Bits: make([]byte, 8)}).encode())
	f.Add([]byte{0x94, 1, 2, 3, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeSyncRequest(b)
		if err != nil {
			return
		}
		if len(r.Bits) < minFilterBytes || len(r.Bits) > maxFilterBytes || r.Hi < r.Lo {
			t.Fatalf("accepted %+v", r)
		}
		r.has(uuid.New())
		if a := r.announced(); a < r.Lo {
			t.Fatalf("announced %d below lo %d", a, r.Lo)
		}
	})
}
