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

// Every byte of the MAC's input matters: a token for an address that
// differs in any one byte of the IP, the port or the bucket is another token.
func TestTokenInputs(t *testing.T) {
	tk := newTokens(30 * time.Second)
	base := netip.MustParseAddrPort("[2001:db8::7]:40001")
	ref := tk.mac(base, 5)
	seen := map[[tokenLen]byte]bool{ref: true}
	a16 := base.Addr().As16()
	for i := range a16 {
		b := a16
		b[i] ^= 0x80
		m := tk.mac(netip.AddrPortFrom(netip.AddrFrom16(b), base.Port()), 5)
		if seen[m] {
			t.Fatalf("IP byte %d does not change the token", i)
		}
		seen[m] = true
	}
	for _, m := range [][tokenLen]byte{tk.mac(netip.AddrPortFrom(base.Addr(), 40002), 5), tk.mac(base, 6), tk.mac(base, 5+1<<40)} {
		if seen[m] {
			t.Fatal("port or bucket does not change the token")
		}
		seen[m] = true
	}
	// An IPv4-mapped address is the IPv4 peer it maps: one token.
	v4, mapped := netip.MustParseAddrPort("203.0.113.7:1873"), netip.MustParseAddrPort("[::ffff:203.0.113.7]:1873")
	if tk.mac(v4, 1) != tk.mac(mapped, 1) {
		t.Fatal("an IPv4-mapped address gets another token than its IPv4 form")
	}
}

// validAgainst accepts this bucket's token without a second MAC, and the
// previous bucket's with one.
func TestTokenValidAgainst(t *testing.T) {
	tk := newTokens(30 * time.Second)
	a := netip.MustParseAddrPort("203.0.113.7:40001")
	t0 := time.Unix(1_000_000, 0)
	old := tk.issue(a, t0)
	t1 := t0.Add(30 * time.Second)
	cur := tk.issue(a, t1)
	if !tk.validAgainst(cur[:], &cur, a, t1) || !tk.validAgainst(old[:], &cur, a, t1) {
		t.Fatal("current or previous bucket's token refused")
	}
	t2 := t1.Add(30 * time.Second)
	cur2 := tk.issue(a, t2)
	if tk.validAgainst(old[:], &cur2, a, t2) {
		t.Fatal("a token two buckets old accepted")
	}
	if n := testing.AllocsPerRun(100, func() { tk.validAgainst(old[:], &cur, a, t1) }); n != 0 {
		t.Fatalf("validAgainst allocates %v times", n)
	}
}

func BenchmarkTokenMAC(b *testing.B) {
	tk := newTokens(30 * time.Second)
	a := netip.MustParseAddrPort("203.0.113.7:40001")
	b.ReportAllocs()
	for i := range b.N {
		tk.mac(a, int64(i))
	}
}
