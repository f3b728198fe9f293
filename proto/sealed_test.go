package proto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestSealedPrefixGolden(t *testing.T) {
	got := AppendSealedPrefix(nil, 0x01020304, 7)
	if want := "574b8101020304" + "0000000000000007"; hex.EncodeToString(got) != want {
		t.Fatalf("prefix %x, want %s", got, want)
	}
	if len(got) != SealedPrefixLen || !IsSealed(got) {
		t.Fatalf("prefix of %d bytes, sealed %v", len(got), IsSealed(got))
	}
	pkt := append(got, make([]byte, SealTagLen+MinHeaderLen)...)
	index, counter, ad, ct, err := ParseSealed(pkt)
	if err != nil || index != 0x01020304 || counter != 7 || !bytes.Equal(ad, got) || len(ct) != SealTagLen+MinHeaderLen {
		t.Fatalf("ParseSealed: %d %d %x %d %v", index, counter, ad, len(ct), err)
	}
	if MaxSealedInner != 1249 { // docs/protocol.md says so
		t.Fatalf("MaxSealedInner %d", MaxSealedInner)
	}
}

// Every prefix of a sealed datagram too short to hold a sealed header is
// refused as short, never read.
func TestSealedTruncation(t *testing.T) {
	pkt := append(AppendSealedPrefix(nil, 9, 9), make([]byte, SealTagLen+MinHeaderLen)...)
	for i := range len(pkt) {
		if _, _, _, _, err := ParseSealed(pkt[:i]); !errors.Is(err, ErrShort) {
			t.Errorf("prefix of %d bytes: %v, want ErrShort", i, err)
		}
	}
	for _, bad := range [][]byte{
		append([]byte{'X', 'K', Sealed}, pkt[3:]...),
		append([]byte{Magic0, Magic1, Version}, pkt[3:]...),
		append(bytes.Clone(pkt), make([]byte, MaxDatagram)...),
	} {
		if _, _, _, _, err := ParseSealed(bad); err == nil || errors.Is(err, ErrShort) {
			t.Errorf("% x...: %v", bad[:3], err)
		}
	}
}

// FuzzParseSealed: any input either fails or splits into a prefix and a
// ciphertext that make up the input, with the index and counter the prefix
// carries.
func FuzzParseSealed(f *testing.F) {
	f.Add(append(AppendSealedPrefix(nil, 0x01020304, 7), make([]byte, SealTagLen+MinHeaderLen)...))
	f.Add([]byte{Magic0, Magic1, Sealed})
	f.Fuzz(func(t *testing.T, b []byte) {
		index, counter, ad, ct, err := ParseSealed(b)
		if err != nil {
			return
		}
		if !IsSealed(b) || len(b) > MaxDatagram || !bytes.Equal(append(bytes.Clone(ad), ct...), b) {
			t.Fatalf("accepted % x", b)
		}
		if !bytes.Equal(AppendSealedPrefix(nil, index, counter), ad) {
			t.Fatalf("index %d and counter %d do not give the prefix % x", index, counter, ad)
		}
	})
}
