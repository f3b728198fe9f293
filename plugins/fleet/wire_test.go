package fleet

import (
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
)

// vector is a part as it is on the wire, and what it means.
type vector struct {
	p   Part
	hex string
}

// goldenVectors are parts of version 1 as they are on the wire. They must
// never change: a change breaks every reporter already deployed.
// docs/metrics.md shows the first byte by byte.
func goldenVectors() []vector {
	return []vector{
		{Part{Seq: 7, Index: 0, Count: 1, Interval: time.Minute, Series: []Series{
			{Family: 0, Value: 42},
			{Family: 14, Labels: []string{"queue_full"}, Value: 3},
			{Family: 15, Labels: []string{"verified"}, Value: 8},
			{Family: 16, Labels: []string{"203.0.113.7:1873", "cone"}, Value: 1},
			{Family: 17, Value: 0.25},
		}}, "96" + "01" + "07" + "00" + "01" + "3c" + "95" +
			"9300902a" +
			"930e91aa71756575655f66756c6c03" +
			"930f91a87665726966696564" + "08" +
			"931092b03230332e302e3131332e373a31383733a4636f6e65" + "01" +
			"931190cb3fd0000000000000"},
		{Part{Seq: 70000, Index: 1, Count: 2, Interval: 5 * time.Minute, Series: []Series{
			{Family: 17, Value: math.Float64frombits(0x7ff8000000000001)}, // NaN: no first peer yet
			{Family: 18, Labels: []string{"chat"}, Value: -3},
			{Family: 19, Labels: []string{"success"}, Value: 1e15},
		}}, "96" + "01" + "ce00011170" + "01" + "02" + "cd012c" + "93" +
			"931190cb7ff8000000000001" +
			"931291a463686174fd" +
			"931391a773756363657373cf00038d7ea4c68000"},
		{Part{Seq: 0, Index: 0, Count: 1, Interval: time.Second}, "96010000010190"},
	}
}

// samePart compares parts, NaN values by their bits.
func samePart(a, b Part) bool {
	if a.Seq != b.Seq || a.Index != b.Index || a.Count != b.Count || a.Interval != b.Interval || len(a.Series) != len(b.Series) {
		return false
	}
	for i, s := range a.Series {
		t := b.Series[i]
		if s.Family != t.Family || strings.Join(s.Labels, "\x00") != strings.Join(t.Labels, "\x00") || len(s.Labels) != len(t.Labels) ||
			(s.Value != t.Value && math.Float64bits(s.Value) != math.Float64bits(t.Value)) {
			return false
		}
	}
	return true
}

func TestGolden(t *testing.T) {
	for _, v := range goldenVectors() {
		b := AppendPart(nil, &v.p)
		if got := hex.EncodeToString(b); got != v.hex {
			t.Errorf("AppendPart(%+v)\n got %s\nwant %s", v.p, got, v.hex)
		}
		want, _ := hex.DecodeString(v.hex)
		p, err := Decode(want)
		if err != nil || !samePart(p, v.p) {
			t.Errorf("Decode(%s) = %+v, %v; want %+v", v.hex, p, err, v.p)
		}
	}
}

// Every proper prefix of a valid part is refused as malformed, never
// half-read.
func TestTruncated(t *testing.T) {
	for _, v := range goldenVectors() {
		b, _ := hex.DecodeString(v.hex)
		for n := range len(b) {
			if p, err := Decode(b[:n]); !errors.Is(err, community.ErrMalformed) {
				t.Errorf("%d of %d bytes of %s: %+v, %v; want malformed", n, len(b), v.hex, p, err)
			}
		}
	}
}

// Bodies that break a rule of the format are refused, each for its rule.
func TestDecodeRefuses(t *testing.T) {
	long := strings.Repeat("a", MaxLabelLen+1)
	enc := func(h string) []byte { b, _ := hex.DecodeString(h); return b }
	part := func(hdr string, series ...string) []byte {
		s := "9" + string("0123456789abcdef"[len(series)])
		return enc(hdr + s + strings.Join(series, ""))
	}
	good := "96" + "01" + "07" + "00" + "01" + "3c"
	for name, b := range map[string][]byte{
		"no parts":          part("960107" + "00" + "00" + "3c"),
		"nine parts":        part("960107" + "00" + "09" + "3c"),
		"part past the end": part("960107" + "02" + "02" + "3c"),
		"interval 0":        part("960107" + "00" + "01" + "00"),
		"interval 3601 s":   part("960107" + "00" + "01" + "cd0e11"),
		"seq over 32 bits":  part("9601" + "cf0000000100000000" + "00" + "01" + "3c"),
		"family 1024":       part(good, "93cd0400"+"90"+"01"),
		"family -1":         part(good, "93ff"+"90"+"01"),
		"five labels":       part(good, "930e95a0a0a0a0a001"),
		"label 65 bytes":    part(good, "930e91d941"+hex.EncodeToString([]byte(long))+"01"),
		"label not UTF-8":   part(good, "930e91a2c328"+"01"),
		"value a string":    part(good, "930e90a131"),
		"series of two":     part(good, "920e90"),
		"five entries":      enc("950107000101" + "90"),
		"a map":             enc("81a756657273696f6e01"),
		"trailing byte":     append(part(good), 0x00),
		"not msgpack":       enc("c1"),
		"empty":             nil,
	} {
		if p, err := Decode(b); !errors.Is(err, community.ErrMalformed) {
			t.Errorf("%s (%x): %+v, %v; want malformed", name, b, p, err)
		}
	}
	// Another version is told apart, whatever the rest holds.
	for name, c := range map[string]struct {
		b []byte
		v uint64
	}{
		"version 2":              {enc("960207000101" + "3c" + "90"), 2},
		"version 2, other shape": {enc("9302a0c0"), 2},
		"version 0":              {enc("9100"), 0},
		"version 300":            {enc("92cd012c90"), 300},
	} {
		_, err := Decode(c.b)
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Version != c.v {
			t.Errorf("%s: %v, want version %d", name, err, c.v)
		}
	}
}

// A report splits into parts within MaxBody that decode back to every
// series, in order; what does not fit in MaxParts, and series out of the
// format's bounds, are omitted and counted.
func TestEncodeReportSplits(t *testing.T) {
	var series []Series
	for i := range 200 {
		series = append(series, Series{Family: 18, Labels: []string{strings.Repeat("c", 20) + string(rune('a'+i%26))}, Value: float64(i)})
	}
	parts, omitted := EncodeReport(9, time.Minute, series)
	if omitted != 0 || len(parts) < 2 || len(parts) > MaxParts {
		t.Fatalf("%d parts, %d omitted; want 2 to %d parts, none omitted", len(parts), omitted, MaxParts)
	}
	var got []Series
	for i, b := range parts {
		if len(b) > MaxBody {
			t.Errorf("part %d: %d bytes, above %d", i, len(b), MaxBody)
		}
		p, err := Decode(b)
		if err != nil || p.Index != i || p.Count != len(parts) || p.Seq != 9 || p.Interval != time.Minute {
			t.Fatalf("part %d: %+v, %v", i, p, err)
		}
		got = append(got, p.Series...)
	}
	if !samePart(Part{Series: got}, Part{Series: series}) {
		t.Error("the parts do not hold the series given, in order")
	}

	// 1,000 series of 64-byte labels do not fit in 8 parts.
	series = series[:0]
	for i := range 1000 {
		series = append(series, Series{Family: 18, Labels: []string{strings.Repeat("x", MaxLabelLen)}, Value: float64(i)})
	}
	series = append(series, Series{Family: 18, Labels: []string{strings.Repeat("x", MaxLabelLen+1)}})
	parts, omitted = EncodeReport(1, time.Minute, series)
	kept := 0
	for _, b := range parts {
		p, err := Decode(b)
		if err != nil || len(b) > MaxBody {
			t.Fatalf("%d bytes: %v", len(b), err)
		}
		kept += len(p.Series)
	}
	if len(parts) != MaxParts || kept+omitted != len(series) || kept < 100 {
		t.Errorf("%d parts, %d series kept, %d omitted of %d", len(parts), kept, omitted, len(series))
	}
}

// FuzzDecode: Decode never panics, and a part it accepts encodes to a part
// that decodes to the same meaning.
func FuzzDecode(f *testing.F) {
	for _, v := range goldenVectors() {
		b, _ := hex.DecodeString(v.hex)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			if !errors.Is(err, community.ErrMalformed) && !errors.As(err, new(*VersionError)) {
				t.Fatalf("error %v is neither malformed nor a version", err)
			}
			return
		}
		again, err := Decode(AppendPart(nil, &p))
		if err != nil || !samePart(again, p) {
			t.Fatalf("%x decoded to %+v, which encodes to %+v, %v", b, p, again, err)
		}
	})
}
