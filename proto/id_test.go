package proto

import (
	"crypto/sha1"
	"testing"
)

// uuid5 is RFC 9562 UUIDv5, written out so that the test checks the
// hard-coded IDs independently of any UUID library.
func uuid5(ns ID, name string) ID {
	s := sha1.Sum(append(ns[:], name...))
	var id ID
	copy(id[:], s[:])
	id[6] = id[6]&0x0f | 0x50 // version 5
	id[8] = id[8]&0x3f | 0x80 // RFC variant
	return id
}

func TestDerivedIDs(t *testing.T) {
	// RFC 9562's URL namespace, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
	urlNS := ID{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	if got, want := Namespace(), uuid5(urlNS, "https://walkie.dev/ns"); got != want {
		t.Errorf("Namespace() = %v, want %v", got, want)
	}
	if got, want := CoreCommunity(), uuid5(Namespace(), "walkie/core"); got != want {
		t.Errorf("CoreCommunity() = %v, want %v", got, want)
	}
	if got, want := CoreCommunity().String(), "0cf79f5a-54b6-5aea-93ce-9a029e3b5872"; got != want {
		t.Errorf("CoreCommunity().String() = %s, want %s", got, want)
	}
}

func TestIDString(t *testing.T) {
	for _, tc := range []struct {
		id   ID
		want string
	}{
		{ID{}, "00000000-0000-0000-0000-000000000000"},
		{idOf(0xf0), "f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff"},
		{Namespace(), "3310f224-6b2c-5ba4-a13d-d6c2f65e89c4"},
	} {
		if got := tc.id.String(); got != tc.want {
			t.Errorf("String() = %s, want %s", got, tc.want)
		}
	}
}

func TestIDIsZero(t *testing.T) {
	if !(ID{}).IsZero() {
		t.Error("zero ID: IsZero false")
	}
	if (ID{15: 1}).IsZero() || CoreCommunity().IsZero() {
		t.Error("non-zero ID: IsZero true")
	}
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[Type]string{
		TypeIntroRequest:    "intro-request",
		TypeIntroResponse:   "intro-response",
		TypePunctureRequest: "puncture-request",
		TypePuncture:        "puncture",
		TypeBeacon:          "beacon",
		0x00:                "0x00",
		0x7f:                "0x7f",
		0xff:                "0xff",
	} {
		if got := typ.String(); got != want {
			t.Errorf("Type(%d).String() = %s, want %s", uint8(typ), got, want)
		}
	}
}
