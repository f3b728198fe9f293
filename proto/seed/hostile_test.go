package seed

import (
	"reflect"
	"strings"
	"testing"
)

// The golden datagrams as text, to edit into hostile ones.
var (
	reqText  = "d16:network_operator0:15:connection_typei1e11:destinationd7:address9:127.0.0.14:porti1873ee4:typei1e7:peer_id8:bbbbbbbbe"
	resText  = "d16:network_operator0:3:pexld7:address9:127.0.0.24:porti1873e7:peer_id8:bbbbbbbbed7:address9:127.0.0.34:porti1873e7:peer_id8:ccccccccee15:connection_typei1e11:destinationd7:address9:127.0.0.24:porti1873ee4:typei2e15:internal_sourced7:address9:127.0.0.14:porti1873ee7:peer_id8:aaaaaaaa7:inviteed7:address9:127.0.0.34:porti1873e7:peer_id8:ccccccccee"
	preqText = "d11:destinationd7:address9:127.0.0.34:porti1873ee13:puncture_peerd7:address9:127.0.0.24:porti1873e7:peer_id8:bbbbbbbbe6:sourced7:address9:127.0.0.14:porti1873ee4:typei3e7:peer_id8:aaaaaaaae"
	punText  = "d11:destinationd7:address9:127.0.0.24:porti1873ee6:sourced7:address9:127.0.0.34:porti1873ee4:typei4e7:peer_id8:cccccccce"
)

// edit replaces the one occurrence of old in s.
func edit(t testing.TB, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("%q occurs %d times", old, strings.Count(s, old))
	}
	return strings.Replace(s, old, new, 1)
}

// The golden texts are the golden datagrams.
func TestGoldenTexts(t *testing.T) {
	for i, s := range []string{reqText, resText, "", preqText, punText} {
		if v := goldenVectors()[i]; s != "" && s != string(mustHex(t, v.hex)) {
			t.Errorf("%s: text differs", v.name)
		}
	}
}

// Hostile and malformed datagrams: what walkie's decoder says, and what the
// seed's would do (the model in check.go, from the seed's source).
func TestHostile(t *testing.T) {
	long := strings.Repeat("x", MaxDatagram)
	for _, tc := range []struct {
		name    string
		in      string
		decode  error // Decode's error
		verdict error // Check's
	}{
		{"empty", "", ErrShort, ErrWouldDrop},
		{"d alone", "d", ErrShort, ErrWouldDrop},
		{"string past the end", "d5:ab", ErrShort, ErrWouldHang},
		{"string past the end at once", "d5:", ErrShort, ErrWouldHang},
		{"4 GB string", "d4294967295:" + long[:MaxDatagram-12], ErrLimit, ErrWouldKill},
		{"length wrapping to 0", "d4294967296:" + long[:10], ErrLimit, ErrWouldDrop},
		{"not a dict", "li1ee", ErrBadBencode, ErrWouldDrop},
		{"text", "hello", ErrBadBencode, ErrWouldDrop},
		{"first byte 0x80", "\x80" + reqText[1:], ErrBadBencode, ErrWouldKill},
		{"first byte 0xfe", "\xfe", ErrBadBencode, ErrWouldKill},
		{"first byte 0xff", "\xff" + reqText[1:], ErrBadBencode, ErrWouldDrop}, // read as -1: the end
		{"0x80 in a length", edit(t, reqText, "7:peer_id", "7\x80peer_id"), ErrBadBencode, ErrWouldKill},
		{"0x80 in an int", edit(t, reqText, "i1873e", "i18\x8073e"), ErrBadBencode, ErrWouldKill},
		{"0x80 for a value", edit(t, reqText, "4:typei1e", "4:type\x80"), ErrBadBencode, ErrWouldDrop},
		{"0xff for a key", edit(t, reqText, "4:type", "\xff:type"), ErrBadBencode, ErrWouldDrop},
		{"int key", "di1ei1ee", ErrBadBencode, ErrWouldDrop},
		{"deep nesting", "d1:x" + strings.Repeat("l", 900) + strings.Repeat("e", 900) + reqText[1:], ErrLimit, ErrOutOfProfile},
		{"deep nesting, unclosed", "d1:x" + strings.Repeat("l", MaxDatagram-4), ErrLimit, ErrOutOfProfile},
		{"trailing byte", reqText + "x", ErrBadBencode, ErrOutOfProfile},
		{"trailing dict", reqText + reqText, ErrBadBencode, ErrOutOfProfile},
		{"duplicate key", edit(t, reqText, "4:typei1e", "4:typei1e4:typei1e"), ErrBadBencode, ErrOutOfProfile},
		{"duplicate address key", edit(t, reqText, "4:porti1873e", "4:porti1873e4:porti1873e"), ErrBadBencode, ErrOutOfProfile},
		{"leading zero", edit(t, reqText, "i1873e", "i01873e"), ErrBadBencode, ErrOutOfProfile},
		{"minus zero", edit(t, reqText, "connection_typei1e", "connection_typei-0e"), ErrBadBencode, ErrOutOfProfile},
		{"length with a leading zero", edit(t, reqText, "7:peer_id", "07:peer_id"), ErrBadBencode, ErrOutOfProfile},
		{"int overflowing 64 bits", edit(t, reqText, "connection_typei1e", "connection_typei9223372036854775808e"), ErrLimit, ErrOutOfProfile},
		{"no type", edit(t, reqText, "4:typei1e", ""), ErrBadMessage, ErrWouldDrop},
		{"type 5", edit(t, reqText, "4:typei1e", "4:typei5e"), ErrUnknownType, ErrWouldDrop},
		{"type 0", edit(t, reqText, "4:typei1e", "4:typei0e"), ErrUnknownType, ErrWouldDrop},
		{"type 2^32+1", edit(t, reqText, "4:typei1e", "4:typei4294967297e"), ErrUnknownType, ErrOutOfProfile}, // the seed reads 1
		{"type as string", edit(t, reqText, "4:typei1e", "4:type1:1"), ErrBadMessage, ErrWouldKill},
		{"peer_id as int", edit(t, reqText, "7:peer_id8:bbbbbbbb", "7:peer_idi5e"), ErrBadMessage, ErrWouldKill},
		{"peer_id as list", edit(t, reqText, "7:peer_id8:bbbbbbbb", "7:peer_idle"), ErrBadMessage, ErrWouldKill},
		{"no peer_id", edit(t, reqText, "7:peer_id8:bbbbbbbb", ""), ErrBadMessage, ErrOutOfProfile},
		{"peer_id uppercase", edit(t, reqText, "8:bbbbbbbb", "8:BBBBBBBB"), ErrBadMessage, ErrOutOfProfile},
		{"peer_id of 9", edit(t, reqText, "8:bbbbbbbb", "9:bbbbbbbbb"), ErrBadMessage, ErrOutOfProfile},
		{"no destination", edit(t, reqText, "11:destinationd7:address9:127.0.0.14:porti1873ee", ""), ErrBadMessage, ErrWouldKill},
		{"destination as string", edit(t, reqText, "d7:address9:127.0.0.14:porti1873ee", "9:127.0.0.1"), ErrBadMessage, ErrWouldKill},
		{"destination without port", edit(t, reqText, "4:porti1873e", ""), ErrBadMessage, ErrWouldDrop},
		{"port as string", edit(t, reqText, "4:porti1873e", "4:port4:1873"), ErrBadMessage, ErrWouldKill},
		{"port 70000", edit(t, reqText, "i1873e", "i70000e"), ErrBadAddress, ErrWouldKill},
		{"port -1", edit(t, reqText, "i1873e", "i-1e"), ErrBadAddress, ErrWouldKill},
		{"port 0", edit(t, reqText, "i1873e", "i0e"), ErrBadAddress, ErrOutOfProfile},
		{"port 2^32+1873", edit(t, reqText, "i1873e", "i4294969169e"), ErrBadAddress, ErrOutOfProfile}, // the seed reads 1873
		{"address as int", edit(t, reqText, "9:127.0.0.1", "i1e"), ErrBadMessage, ErrWouldKill},
		{"address a name", edit(t, reqText, "9:127.0.0.1", "9:localhost"), ErrBadAddress, ErrOutOfProfile},
		{"address IPv6", edit(t, reqText, "9:127.0.0.1", "3:::1"), ErrBadAddress, ErrOutOfProfile},
		{"address with a leading zero", edit(t, reqText, "9:127.0.0.1", "11:127.000.0.1"), ErrBadAddress, ErrOutOfProfile},
		{"address over MaxString", edit(t, reqText, "9:127.0.0.1", "300:"+long[:300]), ErrLimit, ErrOutOfProfile},
		{"no connection_type", edit(t, reqText, "15:connection_typei1e", ""), ErrBadMessage, ErrWouldKill},
		{"connection_type as string", edit(t, reqText, "15:connection_typei1e", "15:connection_type1:1"), ErrBadMessage, ErrWouldKill},
		{"no network_operator", edit(t, reqText, "16:network_operator0:", ""), ErrBadMessage, ErrOutOfProfile},
		{"network_operator as int", edit(t, reqText, "16:network_operator0:", "16:network_operatori0e"), ErrBadMessage, ErrWouldKill},
		{"network_operator not UTF-8", edit(t, reqText, "16:network_operator0:", "16:network_operator2:\xc3\x28"), ErrBadMessage, ErrOutOfProfile},
		{"network_operator over MaxOperator", edit(t, reqText, "16:network_operator0:", "16:network_operator65:"+long[:65]), ErrLimit, ErrOutOfProfile},
		{"no pex", edit(t, resText, "3:pexld7:address9:127.0.0.24:porti1873e7:peer_id8:bbbbbbbbed7:address9:127.0.0.34:porti1873e7:peer_id8:ccccccccee", ""), ErrBadMessage, ErrWouldKill},
		{"pex as dict", edit(t, resText, "3:pexld7:address9:127.0.0.24:porti1873e7:peer_id8:bbbbbbbbed7:address9:127.0.0.34:porti1873e7:peer_id8:ccccccccee", "3:pexde"), ErrBadMessage, ErrWouldKill},
		{"pex entry an int", edit(t, resText, "3:pexl", "3:pexli1e"), ErrBadMessage, ErrWouldKill},
		{"pex entry without address", edit(t, resText, "ld7:address9:127.0.0.24:porti1873e", "ld4:porti1873e"), ErrBadMessage, ErrWouldDrop},
		{"pex over MaxPex", edit(t, resText, "3:pexl", "3:pexl"+strings.Repeat("d7:address7:1.2.3.44:porti1ee", MaxPex-1)), ErrLimit, ErrOutOfProfile},
		{"no internal_source", edit(t, resText, "15:internal_sourced7:address9:127.0.0.14:porti1873ee", ""), ErrBadMessage, ErrWouldKill},
		{"invitee as list", edit(t, resText, "7:inviteed7:address9:127.0.0.34:porti1873e7:peer_id8:cccccccce", "7:inviteele"), ErrBadMessage, ErrWouldKill},
		{"invitee peer_id as int", edit(t, resText, "7:inviteed7:address9:127.0.0.34:porti1873e7:peer_id8:cccccccce", "7:inviteed7:address9:127.0.0.34:porti1873e7:peer_idi1ee"), ErrBadMessage, ErrWouldKill},
		{"no puncture_peer", edit(t, preqText, "13:puncture_peerd7:address9:127.0.0.24:porti1873e7:peer_id8:bbbbbbbbe", ""), ErrBadMessage, ErrWouldKill},
		{"no source", edit(t, punText, "6:sourced7:address9:127.0.0.34:porti1873ee", ""), ErrBadMessage, ErrWouldKill},
		{"source as list", edit(t, punText, "6:sourced7:address9:127.0.0.34:porti1873ee", "6:sourcele"), ErrBadMessage, ErrWouldKill},
		{"over MaxDatagram", reqText[:len(reqText)-1] + "1:x" + "3000:" + long + long[:3000-MaxDatagram] + "e", ErrTooLarge, ErrWouldHang},
		{"over MaxDatagram, cut after the dict", reqText + long, ErrTooLarge, ErrOutOfProfile},
	} {
		b := []byte(tc.in)
		if m, err := Decode(b); err != tc.decode {
			t.Errorf("%s: Decode = %+v, %v; want %v", tc.name, m, err, tc.decode)
		}
		if err := Check(b); err != tc.verdict {
			t.Errorf("%s: Check = %v, want %v", tc.name, err, tc.verdict)
		}
	}
}

// Keys come in any order: the seed's encoder writes HashMap order, and a
// sorted (canonical bencode) dict means the same.
func TestAnyKeyOrder(t *testing.T) {
	sorted := "d15:connection_typei1e11:destinationd4:porti1873e7:address9:127.0.0.1e16:network_operator0:7:peer_id8:bbbbbbbb4:typei1ee"
	m, err := Decode([]byte(sorted))
	if want := goldenVectors()[0].m; err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("sorted keys: %+v, %v; want %+v", m, err, want)
	}
	if err := Check([]byte(sorted)); err != nil {
		t.Errorf("Check of sorted keys: %v", err)
	}
}

// Unknown keys are skipped, in the message dict and in address dicts, as
// the seed skips them; walkie never sends them.
func TestUnknownKeys(t *testing.T) {
	for _, extra := range []string{"1:xi1e", "1:x0:", "5:extrale", "5:extrad1:ali1eee", "3:pexle", "15:internal_sourced7:address7:1.2.3.44:porti1ee"} {
		for i, text := range []string{reqText, punText} {
			v := goldenVectors()[[]int{0, 4}[i]]
			b := []byte(edit(t, text, "4:type", extra+"4:type"))
			if m, err := Decode(b); err != nil || !reflect.DeepEqual(m, v.m) {
				t.Errorf("%s + %s: %+v, %v", v.name, extra, m, err)
			}
			if err := Check(b); err != ErrOutOfProfile {
				t.Errorf("%s + %s: Check = %v", v.name, extra, err)
			}
		}
	}
	b := []byte(edit(t, reqText, "4:porti1873e", "4:porti1873e7:peer_id8:dddddddd"))
	if m, err := Decode(b); err != nil || !reflect.DeepEqual(m, goldenVectors()[0].m) {
		t.Errorf("peer_id in destination: %+v, %v", m, err)
	}
}

// A known key of another type is read strictly, then ignored.
func TestOtherTypesKeys(t *testing.T) {
	if _, err := Decode([]byte(edit(t, reqText, "4:type", "3:pex1:x4:type"))); err != ErrBadMessage {
		t.Errorf("pex as a string in an intro request: %v", err)
	}
}
