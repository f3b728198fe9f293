package seed

import "net/netip"

// maxQuad is the longest dotted quad, "255.255.255.255".
const maxQuad = 15

// parseQuad parses a dotted quad as the seed writes one (Java's
// getHostAddress): four decimal octets without leading zeros. Names, IPv6
// and other IPv4 spellings are not addresses here.
func parseQuad(s []byte) (netip.Addr, bool) {
	if len(s) > maxQuad {
		return netip.Addr{}, false
	}
	var a [4]byte
	i := 0
	for o := range a {
		if o > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		start, v := i, 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && i-start < 3 {
			v = v*10 + int(s[i]-'0')
			i++
		}
		if n := i - start; n == 0 || v > 255 || n > 1 && s[start] == '0' {
			return netip.Addr{}, false
		}
		a[o] = byte(v)
	}
	if i != len(s) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(a), true
}
