package seed

import (
	"runtime"
	"strings"
	"testing"
)

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

// hostileClaims are datagrams of up to 2 KB whose lengths and counts claim
// far more than they hold.
func hostileClaims() []string {
	pad := strings.Repeat("x", MaxDatagram-12)
	return []string{
		"d4294967295:" + pad,                   // a 4 GB key
		"d1:x4294967295:" + pad[3:],            // a 4 GB value
		"d1:x99999999999999999999:" + pad[13:], // longer than any int
		"d7:peer_id2147483647:" + pad[9:],      // a 2 GB peer_id
		"d16:network_operator4294967295:",      // a 4 GB operator
		"d3:pexl" + strings.Repeat("d", MaxDatagram-7),
		"d1:x" + strings.Repeat("l", MaxDatagram-4),
		"d1:xi" + strings.Repeat("9", MaxDatagram-6) + "e",
		"d5:ab",
	}
}

// Refusing a hostile datagram allocates nothing at all: no length read off
// the wire is ever an allocation's size.
func TestHostileNoAllocs(t *testing.T) {
	for _, s := range hostileClaims() {
		b := []byte(s)
		if _, err := Decode(b); err == nil {
			t.Fatalf("%.40q decoded", s)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = Decode(b) }); n != 0 {
			t.Errorf("Decode(%.40q): %v allocations", s, n)
		}
	}
}

// Nor does Check, the model of the seed, allocate what they claim: it
// allocates for what it reads, never for what a length says.
func TestCheckHostileAllocs(t *testing.T) {
	for _, s := range hostileClaims() {
		b := []byte(s)
		if Check(b) == nil {
			t.Fatalf("%.40q passed", s)
		}
		if n := allocBytes(func() { _ = Check(b) }); n > 64<<10 {
			t.Errorf("Check(%.40q): %d bytes", s, n)
		}
	}
}

// Decoding a golden datagram allocates the message and little else.
func TestDecodeAllocs(t *testing.T) {
	for _, v := range goldenVectors() {
		b := mustHex(t, v.hex)
		if n := allocBytes(func() { _, _ = Decode(b) }); n > 512 {
			t.Errorf("%s: Decode allocates %d bytes", v.name, n)
		}
	}
}

// Appending to a buffer with room allocates nothing.
func TestAppendNoAllocs(t *testing.T) {
	buf := make([]byte, 0, MaxDatagram)
	for _, v := range goldenVectors() {
		if n := testing.AllocsPerRun(100, func() { _, _ = Append(buf, v.m) }); n != 0 {
			t.Errorf("%s: Append: %v allocations", v.name, n)
		}
	}
}
