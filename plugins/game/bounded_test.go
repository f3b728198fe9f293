package game

import (
	"encoding/hex"
	"runtime"
	"testing"
)

// Every golden body passes the length check; a declared length beyond the
// body fails it before the msgpack library sizes a buffer by it. Found by
// FuzzDecode: a str32 claiming 4 GiB made the library allocate 1 MiB per
// call, and the fuzzing worker drowned in garbage.
func TestCheckLengths(t *testing.T) {
	for _, v := range goldenVectors() {
		b, _ := hex.DecodeString(v.hex)
		if err := checkLengths(b); err != nil {
			t.Errorf("type %d: %v", v.t, err)
		}
	}
	for name, b := range map[string][]byte{
		"str32 of 4 GiB":   {0x81, 0x01, 0xdb, 0xf7, 0xeb, 0xa5, 0x39, 0x30},
		"bin32 of 4 GiB":   {0x81, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff},
		"bin8 past end":    {0x81, 0x01, 0xc4, 0x10, 0x30},
		"map32 too long":   {0xdf, 0xff, 0xff, 0xff, 0xff},
		"array16 too long": {0x81, 0x01, 0xdc, 0x00, 0x09, 0x01},
		"ext32 past end":   {0x81, 0x01, 0xc9, 0x00, 0x00, 0x10, 0x00, 0x01},
		"cut short":        {0x82, 0x01, 0x02},
		"never used 0xc1":  {0xc1},
	} {
		if err := checkLengths(b); err == nil {
			t.Errorf("%s: %x passed", name, b)
		}
		if _, err := Decode(TypeCommit, b); err == nil {
			t.Errorf("%s: %x decoded", name, b)
		}
	}
	hostile := []byte{0x83, 0x01, 0xdb, 0xf7, 0xeb, 0xa5, 0x39, 0x30}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		Decode(TypeCommit, hostile)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 100; per > 4096 {
		t.Errorf("decoding a 4 GiB claim allocates %d bytes a call", per)
	}
}
