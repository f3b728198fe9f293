package core

import (
	"net/netip"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	tk := newTokens(30 * time.Second)
	a := netip.MustParseAddrPort("203.0.113.7:40001")
	b := netip.MustParseAddrPort("203.0.113.7:40002")
	t0 := time.Unix(1_000_000, 0)
	arr := tk.issue(a, t0)
	tok := arr[:]
	if !tk.valid(tok, a, t0) {
		t.Fatal("fresh token invalid")
	}
	if !tk.valid(tok, a, t0.Add(30*time.Second)) {
		t.Fatal("token invalid in the next bucket")
	}
	if tk.valid(tok, a, t0.Add(61*time.Second)) {
		t.Fatal("token valid after two buckets")
	}
	if tk.valid(tok, b, t0) {
		t.Fatal("token valid for another port")
	}
	if tk.valid(tok[:8], a, t0) || tk.valid(nil, a, t0) {
		t.Fatal("short token valid")
	}
	other := newTokens(30 * time.Second)
	if other.valid(tok, a, t0) {
		t.Fatal("token valid under another key")
	}
	bad := append([]byte(nil), tok...)
	bad[0] ^= 1
	if tk.valid(bad, a, t0) {
		t.Fatal("altered token valid")
	}
}
