package core

import (
	"net/netip"
	"testing"
	"time"
)

// Two observers of one IPv4 /24 are two voices (observers are keyed by
// /32). Reporting our real IP with two other ports, they make a node behind
// a cone NAT classify itself as symmetric, with no stable WAN address, and
// one honest vote after them does not undo it. This asserts today's
// behaviour, documented in docs/security.md; keying IPv4 observers by /24
// would make it fail.
func TestVoteSlash24PairForcesSymmetric(t *testing.T) {
	v := newVoter(3, lanAddr, 0)
	now := time.Unix(0, 0)
	v.add(obs("198.51.100.1"), wanX, now)
	v.add(obs("198.51.100.2"), wanX, now)
	v.add(obs("198.51.100.3"), wanX, now)
	if v.nat != NATCone || v.wan != wanX {
		t.Fatalf("honest votes: nat %v wan %v, want cone %v", v.nat, v.wan, wanX)
	}
	v.add(obs("192.0.2.66"), netip.AddrPortFrom(wanX.Addr(), 1111), now)
	v.add(obs("192.0.2.67"), netip.AddrPortFrom(wanX.Addr(), 2222), now)
	if v.nat != NATSymmetric || v.wan.IsValid() {
		t.Fatalf("two liars of one /24: nat %v wan %v; they no longer force symmetric: update docs/security.md", v.nat, v.wan)
	}
	v.add(obs("198.51.100.1"), wanX, now) // one honest vote: window is liar, liar, honest
	if v.nat != NATSymmetric {
		t.Fatalf("one honest vote undid it: nat %v", v.nat)
	}
	v.add(obs("198.51.100.2"), wanX, now) // a second one in a row does
	if v.nat != NATCone || v.wan != wanX {
		t.Fatalf("two honest votes in a row: nat %v wan %v, want cone %v", v.nat, v.wan, wanX)
	}
}
