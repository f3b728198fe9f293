package core

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

var (
	lanAddr = netip.MustParseAddrPort("10.0.0.2:1873")
	wanX    = netip.MustParseAddrPort("203.0.113.7:40001")
	wanY    = netip.MustParseAddrPort("198.51.100.66:6666")
)

func obs(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestVoteOneLiarCannotFlip(t *testing.T) {
	v := newVoter(3, lanAddr, 0)
	now := time.Unix(0, 0)
	v.add(obs("198.51.100.1"), wanX, now)
	v.add(obs("198.51.100.2"), wanX, now)
	if v.wan != wanX || v.nat != NATCone {
		t.Fatalf("after two honest votes: wan %v nat %v, want %v cone", v.wan, v.nat, wanX)
	}
	// One liar, however often it repeats itself, has one vote.
	for range 100 {
		if v.add(obs("192.0.2.66"), wanY, now) {
			t.Fatal("a single liar changed the vote")
		}
	}
	if v.wan != wanX {
		t.Fatalf("wan %v after a liar, want %v", v.wan, wanX)
	}
}

func TestVoteOneObserverIsNotEnough(t *testing.T) {
	v := newVoter(3, lanAddr, 0)
	for range 10 {
		v.add(obs("198.51.100.1"), wanX, time.Unix(0, 0))
	}
	if v.wan.IsValid() || v.nat != NATUnknown {
		t.Fatalf("one observer decided: wan %v nat %v", v.wan, v.nat)
	}
}

func TestVoteIPv6Slash56IsOneObserver(t *testing.T) {
	v := newVoter(3, lanAddr, 0)
	now := time.Unix(0, 0)
	v.add(obs("2001:db8:aa:bb00::1"), wanY, now)
	v.add(obs("2001:db8:aa:bbff::2"), wanY, now) // same /56
	if v.wan.IsValid() {
		t.Fatalf("two addresses of one /56 decided the vote: %v", v.wan)
	}
	v.add(obs("2001:db8:aa:cc00::1"), wanY, now)
	if v.wan != wanY {
		t.Fatalf("two /56s agreeing: wan %v, want %v", v.wan, wanY)
	}
}

func TestVoteTwoHonestObserversCanMove(t *testing.T) {
	v := newVoter(3, lanAddr, 0)
	now := time.Unix(0, 0)
	v.add(obs("198.51.100.1"), wanX, now)
	v.add(obs("198.51.100.2"), wanX, now)
	// We moved: two fresh observers agree on Y.
	v.add(obs("198.51.100.3"), wanY, now)
	if v.wan != wanX {
		t.Fatalf("one new observer flipped the address to %v", v.wan)
	}
	if !v.add(obs("198.51.100.4"), wanY, now) || v.wan != wanY {
		t.Fatalf("two agreeing observers did not move the address: %v", v.wan)
	}
}

func TestVoteTieKeepsCurrent(t *testing.T) {
	v := newVoter(4, lanAddr, 0)
	now := time.Unix(0, 0)
	v.add(obs("198.51.100.1"), wanX, now)
	v.add(obs("198.51.100.2"), wanX, now)
	v.add(obs("198.51.100.3"), wanY, now)
	v.add(obs("198.51.100.4"), wanY, now)
	if v.wan != wanX {
		t.Fatalf("a 2:2 tie changed the address to %v", v.wan)
	}
}

func TestVoteSymmetric(t *testing.T) {
	v := newVoter(3, lanAddr, 0)
	now := time.Unix(0, 0)
	v.add(obs("198.51.100.1"), netip.MustParseAddrPort("203.0.113.7:1000"), now)
	v.add(obs("198.51.100.2"), netip.MustParseAddrPort("203.0.113.7:2000"), now)
	v.add(obs("198.51.100.3"), netip.MustParseAddrPort("203.0.113.7:3000"), now)
	if v.nat != NATSymmetric || v.wan.IsValid() || v.ip != obs("203.0.113.7") {
		t.Fatalf("nat %v wan %v ip %v, want symmetric, none, 203.0.113.7", v.nat, v.wan, v.ip)
	}
}

func TestVotePublic(t *testing.T) {
	pub := netip.MustParseAddrPort("198.51.100.9:1873")
	v := newVoter(3, pub, 0)
	now := time.Unix(0, 0)
	v.add(obs("203.0.113.1"), pub, now)
	v.add(obs("203.0.113.2"), pub, now)
	if v.nat != NATPublic || v.wan != pub {
		t.Fatalf("nat %v wan %v, want public %v", v.nat, v.wan, pub)
	}
}

func TestVoteIgnoresOwnPrivateSubnet(t *testing.T) {
	v := newVoter(3, lanAddr, 0)
	now := time.Unix(0, 0)
	v.add(obs("10.0.0.3"), lanAddr, now)
	v.add(obs("10.0.0.4"), lanAddr, now)
	if v.wan.IsValid() {
		t.Fatalf("observers in our own subnet voted: %v", v.wan)
	}
	// Observers in another private network are real observations.
	v.add(obs("192.168.1.1"), wanX, now)
	v.add(obs("192.168.2.1"), wanX, now)
	if v.wan != wanX {
		t.Fatalf("wan %v, want %v", v.wan, wanX)
	}
}

// A new majority replaces a WAN address we have only after it has lasted
// VoteHold: two liars who are briefly two of the last three observers never
// get there, a real move does.
func TestVoteHold(t *testing.T) {
	v := newVoter(3, lanAddr, 10*time.Second)
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	v.add(obs("198.51.100.1"), wanX, at(0))
	v.add(obs("198.51.100.2"), wanX, at(0))
	if v.wan != wanX {
		t.Fatalf("first address %v, want %v at once", v.wan, wanX)
	}
	// Liars in one /24 speak, two honest observers answer in between: for
	// a minute the liars are a majority now and then, never for 10 s.
	for i := range 60 {
		s := float64(i)
		v.add(obs("192.0.2.66"), wanY, at(s))
		v.add(obs("192.0.2.67"), wanY, at(s+0.2))
		v.add(obs("198.51.100.1"), wanX, at(s+0.4))
		v.add(obs("198.51.100.2"), wanX, at(s+0.6))
		if v.wan != wanX {
			t.Fatalf("liars flipped the WAN to %v at %.1f s", v.wan, s+0.6)
		}
	}
	// A real move: every observer now sees Y.
	for i := range 12 {
		v.add(obs("198.51.100.1"), wanY, at(100+float64(i)))
		v.add(obs("198.51.100.2"), wanY, at(100+float64(i)))
		if i < 10 && v.wan != wanX {
			t.Fatalf("moved to %v after %d s, want after 10 s", v.wan, i)
		}
	}
	if v.wan != wanY {
		t.Fatalf("after a 12 s move: wan %v, want %v", v.wan, wanY)
	}
}

// The hint tells peers how our NAT moves its ports: easy for public and
// cone, sequential when the observers saw ports close together (with their
// common step), random otherwise.
func TestVoteHint(t *testing.T) {
	at := func(ports ...uint16) proto.NATHint {
		v := newVoter(3, lanAddr, 0)
		for i, p := range ports {
			v.add(obs(fmt.Sprintf("198.51.100.%d", i+1)), netip.AddrPortFrom(obs("203.0.113.7"), p), time.Unix(int64(i), 0))
		}
		return v.hint()
	}
	for _, tc := range []struct {
		name  string
		ports []uint16
		want  proto.NATHint
	}{
		{"unknown", []uint16{40001}, proto.NATHint{}},
		{"cone", []uint16{40001, 40001, 40001}, proto.NATHint{Kind: proto.NATEasy}},
		{"sequential", []uint16{40001, 40002, 40005}, proto.NATHint{Kind: proto.NATSequential, Port: 40005, Step: 1}},
		{"sequential step 2", []uint16{40010, 40002, 40004}, proto.NATHint{Kind: proto.NATSequential, Port: 40010, Step: 2}},
		{"step too large", []uint16{40000, 40032, 40064}, proto.NATHint{Kind: proto.NATRandom}},
		{"random", []uint16{40001, 1999, 61234}, proto.NATHint{Kind: proto.NATRandom}},
		{"span too wide", []uint16{10000, 10001, 10000 + seqSpan + 1}, proto.NATHint{Kind: proto.NATRandom}},
	} {
		if got := at(tc.ports...); got != tc.want {
			t.Errorf("%s %v: hint %+v, want %+v", tc.name, tc.ports, got, tc.want)
		}
	}
	pub := newVoter(3, lanAddr, 0)
	pub.add(obs("198.51.100.1"), lanAddr, time.Unix(0, 0))
	pub.add(obs("198.51.100.2"), lanAddr, time.Unix(1, 0))
	if h := pub.hint(); h.Kind != proto.NATEasy {
		t.Errorf("public: hint %+v, want easy", h)
	}
}
