package chat

import (
	"bytes"
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
// must never change.
var golden = []struct {
	m   Message
	hex string
}{
	{Message{ID: uuid.MustParse("00112233-4455-4677-8899-aabbccddeeff"), Author: uuid.MustParse("0f1e2d3c-4b5a-4968-8796-a5b4c3d2e1f0"), Lamport: 300, Text: "héllo"},
		"94" + "c410" + "00112233445546778899aabbccddeeff" + "c410" + "0f1e2d3c4b5a49688796a5b4c3d2e1f0" + "cd012c" + "a6" + "68c3a96c6c6f"},
}

func TestMessageGolden(t *testing.T) {
	for _, g := range golden {
		want, _ := hex.DecodeString(g.hex)
		if got := g.m.encode(); !bytes.Equal(got, want) {
			t.Errorf("encode = %x, want %x", got, want)
		}
		m, err := decodeMessage(want)
		if err != nil || m != g.m {
			t.Errorf("decode = %+v, %v; want %+v", m, err, g.m)
		}
	}
}

func TestSyncRequestGolden(t *testing.T) {
	r := syncRequest{Lo: 5, Hi: 1 << 40, Salt: 7, Bits: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
	const want = "94" + "05" + "cf0000010000000000" + "07" + "c408" + "0102030405060708"
	if got := hex.EncodeToString(r.encode()); got != want {
		t.Errorf("encode = %s, want %s", got, want)
	}
	d, err := decodeSyncRequest(r.encode())
	if err != nil || d.Lo != r.Lo || d.Hi != r.Hi || d.Salt != r.Salt || !bytes.Equal(d.Bits, r.Bits) {
		t.Errorf("decode = %+v, %v", d, err)
	}
}

func TestDecodeMessageRejects(t *testing.T) {
	ok := golden[0].m
	long := ok
	long.Text = strings.Repeat("x", MaxText)
	if b := long.encode(); len(b) > maxMessageBody {
		t.Fatalf("a message with the longest text takes %d bytes, over maxMessageBody %d", len(b), maxMessageBody)
	}
	if _, err := decodeMessage(long.encode()); err != nil {
		t.Errorf("longest text: %v", err)
	}
	for name, m := range map[string]Message{
		"empty text":    {ID: ok.ID, Author: ok.Author, Lamport: 1},
		"text too long": {ID: ok.ID, Author: ok.Author, Lamport: 1, Text: strings.Repeat("x", MaxText+1)},
		"bad utf-8":     {ID: ok.ID, Author: ok.Author, Lamport: 1, Text: "\xff"},
		"lamport 0":     {ID: ok.ID, Author: ok.Author, Lamport: 0, Text: "x"},
		"lamport huge":  {ID: ok.ID, Author: ok.Author, Lamport: MaxLamport + 1, Text: "x"},
	} {
		if _, err := decodeMessage(m.encode()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	b := ok.encode()
	for name, body := range map[string][]byte{
		"empty":     nil,
		"truncated": b[:len(b)-1],
		"trailing":  append(append([]byte(nil), b...), 0),
		"3 fields":  append([]byte{0x93}, b[1:]...),
		"short id":  append([]byte{0x94, 0xc4, 0x0f}, b[3+1:]...),
		// Lengths beyond the body: rejected without trusting them.
		"text past the end":   append(append([]byte(nil), b[:len(b)-7]...), 0xda, 0xff, 0xff, 'x'),
		"bin32 id":            {0x94, 0xc6, 0xff, 0xff, 0xff, 0xff},
		"str32 text of 4 GiB": append(append([]byte(nil), b[:len(b)-7]...), 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'),
		// Forms the decoder takes but chat never writes.
		"array16":            append([]byte{0xdc, 0, 4}, b[1:]...),
		"lamport in 8 bytes": append(append(append([]byte(nil), b[:1+2*18]...), 0xcf, 0, 0, 0, 0, 0, 0, 0x01, 0x2c), b[1+2*18+3:]...),
		"text as bin":        append(append(append([]byte(nil), b[:len(b)-7]...), 0xc4, 6), b[len(b)-6:]...),
		"as a map":           mapForm(t, ok),
	} {
		if _, err := decodeMessage(body); !errors.Is(err, community.ErrMalformed) {
			t.Errorf("%s: %v, want a community.ErrMalformed", name, err)
		}
	}
	if err := checkText(strings.Repeat("é", MaxText/2+1)); !errors.Is(err, ErrBadText) {
		t.Errorf("checkText counts bytes, not runes: %v", err)
	}
}

// mapForm is m as msgpack/v5 writes a struct by default: a map by field name.
func mapForm(t *testing.T, m Message) []byte {
	b, err := msgpack.Marshal(&messageBody{ID: m.ID[:], Author: m.Author[:], Lamport: m.Lamport, Text: m.Text})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A body that claims more than it holds is refused before anything is
// allocated for the claim: the refusal costs a few bytes, not the claim.
func TestDecodeMessageAllocs(t *testing.T) {
	b := golden[0].m.encode()
	hostile := append(append([]byte(nil), b[:len(b)-7]...), 0xdb, 0xff, 0xff, 0xff, 0xff)
	hostile = append(hostile, make([]byte, maxMessageBody-len(hostile))...)
	const runs = 100
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if _, err := decodeMessage(hostile); !errors.Is(err, community.ErrMalformed) {
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

// FuzzDecodeMessage: the decoder never panics, and whatever it accepts
// re-encodes to the very same bytes (one encoding per message, so a
// history's bytes and dedup do not depend on who encoded it).
func FuzzDecodeMessage(f *testing.F) {
	for _, g := range golden {
		b, _ := hex.DecodeString(g.hex)
		f.Add(b)
	}
	f.Add([]byte{0x94, 0xc4, 0x10})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		if checkText(m.Text) != nil || m.Lamport == 0 || m.Lamport > MaxLamport {
			t.Fatalf("accepted an invalid message %+v", m)
		}
		if got := m.encode(); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding %x gives %x", b, got)
		}
	})
}

func TestDecodeSyncRequestRejects(t *testing.T) {
	for name, body := range map[string][]byte{
		"filter past the end": {0x94, 1, 2, 3, 0xc5, 0xff, 0xff, 0},
		"filter too small":    (&syncRequest{Lo: 1, Hi: 2, Bits: make([]byte, minFilterBytes-1)}).encode(),
		"filter too large":    (&syncRequest{Lo: 1, Hi: 2, Bits: make([]byte, maxFilterBytes+1)}).encode(),
		"hi below lo":         (&syncRequest{Lo: 3, Hi: 2, Bits: make([]byte, minFilterBytes)}).encode(),
		"salt over 32 bits":   {0x94, 1, 2, 0xcf, 1, 0, 0, 0, 0, 0, 0, 0, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		"filter claims 4 GiB": {0x94, 1, 2, 3, 0xc6, 0xff, 0xff, 0xff, 0xff, 0},
		"trailing byte":       append((&syncRequest{Lo: 1, Hi: 2, Bits: make([]byte, minFilterBytes)}).encode(), 0),
		// Forms msgpack allows but chat has never taken.
		"array16":         {0xdc, 0, 4, 1, 2, 3, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		"signed integer":  {0x94, 0xd0, 1, 2, 3, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		"nil lo":          {0x94, 0xc0, 2, 3, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		"filter as str":   {0x94, 1, 2, 3, 0xa8, 0, 0, 0, 0, 0, 0, 0, 0},
		"filter as bin32": {0x94, 1, 2, 3, 0xc6, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0},
		"nil":             {0xc0},
	} {
		if _, err := decodeSyncRequest(body); !errors.Is(err, community.ErrMalformed) {
			t.Errorf("%s: %v, want a community.ErrMalformed", name, err)
		}
	}
	// Integers of any unsigned width, and a bin16 filter, as always.
	wide := []byte{0x94, 0xcc, 1, 0xcf, 0, 0, 0, 0, 0, 0, 0, 2, 0xce, 0, 0, 0, 3, 0xc5, 0, 8, 1, 0, 0, 0, 0, 0, 0, 8}
	if r, err := decodeSyncRequest(wide); err != nil || r.Lo != 1 || r.Hi != 2 || r.Salt != 3 || len(r.Bits) != 8 || r.Bits[0] != 1 || r.Bits[7] != 8 {
		t.Errorf("wide forms: %+v, %v", r, err)
	}
}

// FuzzDecodeSyncRequest: never panics, accepted filters are within bounds.
func FuzzDecodeSyncRequest(f *testing.F) {
	f.Add((&syncRequest{Lo: 1, Hi: 2, Bits: make([]byte, 8)}).encode())
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
