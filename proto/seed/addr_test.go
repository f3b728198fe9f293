package seed

import (
	"net/netip"
	"testing"
)

func TestParseQuad(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "127.0.0.1", "255.255.255.255", "192.168.1.10", "10.0.0.255"} {
		a, ok := parseQuad([]byte(s))
		if !ok || !a.Is4() || a.String() != s {
			t.Errorf("parseQuad(%q) = %v, %v", s, a, ok)
		}
	}
	for _, s := range []string{"", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.04", "1.2.3.00", "1..3.4",
		".1.2.3", "1.2.3.4 ", "::1", "::ffff:1.2.3.4", "localhost", "1.2.3.-4", "1234.1.1.1", "1.2.3.1000", "1.2.3.4%eth0",
		"0x7f.0.0.1", "127.1", "2130706433"} {
		if a, ok := parseQuad([]byte(s)); ok {
			t.Errorf("parseQuad(%q) = %v", s, a)
		}
	}
}

// FuzzParseQuad: a dotted quad is exactly what netip prints for an IPv4
// address.
func FuzzParseQuad(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "255.255.255.255", "01.2.3.4", "1.2.3.4.5", "::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := parseQuad([]byte(s))
		n, err := netip.ParseAddr(s)
		canonical := err == nil && n.Is4() && n.String() == s
		if ok != canonical || ok && a != n {
			t.Fatalf("parseQuad(%q) = %v, %v; netip: %v, %v", s, a, ok, n, err)
		}
	})
}
