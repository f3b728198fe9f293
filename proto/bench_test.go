package proto

import (
	"testing"
)

func benchEncode(b *testing.B, m Message) {
	buf := make([]byte, 0, MaxDatagram)
	h := Header{Community: CoreCommunity(), Sender: goldenSender, Dest: goldenDest6}
	b.ReportAllocs()
	for b.Loop() {
		pkt, err := Encode(buf[:0], h, m)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(pkt)))
	}
}

func BenchmarkEncodeIntroRequest(b *testing.B)  { benchEncode(b, golden("intro-request").m) }
func BenchmarkEncodeIntroResponse(b *testing.B) { benchEncode(b, maxMessages()[1]) }
func BenchmarkEncodePuncture(b *testing.B)      { benchEncode(b, golden("puncture").m) }

// A message built per packet, as the core does, must not escape to the heap
// either.
func BenchmarkEncodeIntroRequestFresh(b *testing.B) {
	buf := make([]byte, 0, MaxDatagram)
	h := Header{Community: CoreCommunity(), Sender: goldenSender, Dest: goldenDest4}
	tok, ids := seq(0, MaxToken), maxIDs(2)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(buf[:0], h, &IntroRequest{Nonce: 1, LAN: goldenDest4, Token: tok, Communities: ids}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseHeader(b *testing.B) {
	pkt := mustHex(b, golden("intro-response").hex)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, _, err := ParseHeader(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecode[M any](b *testing.B, m Message, decode func([]byte) (M, error)) {
	body, err := m.AppendBody(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeIntroRequest(b *testing.B) {
	benchDecode(b, golden("intro-request").m, DecodeIntroRequest)
}

func BenchmarkDecodeIntroRequestNoToken(b *testing.B) {
	benchDecode(b, &IntroRequest{Nonce: 1, LAN: goldenDest4}, DecodeIntroRequest)
}

func BenchmarkDecodeIntroResponse(b *testing.B) {
	benchDecode(b, golden("intro-response").m, DecodeIntroResponse)
}

func BenchmarkDecodeIntroResponseMax(b *testing.B) {
	benchDecode(b, maxMessages()[1], DecodeIntroResponse)
}

func BenchmarkDecodePunctureRequest(b *testing.B) {
	benchDecode(b, golden("puncture-request").m, DecodePunctureRequest)
}

func BenchmarkDecodePuncture(b *testing.B) { benchDecode(b, golden("puncture").m, DecodePuncture) }
func BenchmarkDecodeBeacon(b *testing.B)   { benchDecode(b, golden("beacon").m, DecodeBeacon) }

// Rejecting hostile input is the drop path an attacker controls.
func BenchmarkDecodeHostile(b *testing.B) {
	body := hexBody(b, "81 63 dd ffffffff")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBeacon(body); err == nil {
			b.Fatal("decoded")
		}
	}
}

// golden returns the golden vector called name: by name, not position, so
// that adding a vector never changes what a benchmark measures.
func golden(name string) goldenVector {
	for _, v := range goldenVectors() {
		if v.name == name {
			return v
		}
	}
	panic("no golden vector " + name)
}
