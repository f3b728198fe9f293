package core

import (
	"net/netip"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// One observer's two ports: the same mapping is cone (public if it is our
// own address), one IP and two ports symmetric, two IPs nothing; only the
// answer from the port we asked counts, and only while a test is out.
func TestDiscoveryVerdicts(t *testing.T) {
	ap := netip.MustParseAddrPort
	lan := ap("10.0.0.2:1873")
	obs, alt := ap("198.51.100.1:1873"), ap("198.51.100.1:40000")
	for _, tc := range []struct {
		name          string
		primary, seen netip.AddrPort
		from          netip.AddrPort
		want          NATType
		hint          proto.NATHint
	}{
		{"same mapping", ap("203.0.113.9:1873"), ap("203.0.113.9:1873"), alt, NATCone, proto.NATHint{Kind: proto.NATEasy}},
		{"our own address", lan, lan, alt, NATPublic, proto.NATHint{Kind: proto.NATEasy}},
		{"random ports", ap("203.0.113.9:31000"), ap("203.0.113.9:52000"), alt, NATSymmetric, proto.NATHint{Kind: proto.NATRandom}},
		{"next port", ap("203.0.113.9:31000"), ap("203.0.113.9:31002"), alt, NATSymmetric, proto.NATHint{Kind: proto.NATSequential, Port: 31002, Step: 2}},
		{"two IPs", ap("203.0.113.9:1873"), ap("203.0.113.10:1873"), alt, NATUnknown, proto.NATHint{}},
		{"from elsewhere", ap("203.0.113.9:1873"), ap("203.0.113.9:2000"), ap("198.51.100.2:40000"), NATUnknown, proto.NATHint{}},
	} {
		v := newVoter(3, lan, time.Second)
		var d discovery
		now := time.Unix(1000, 0)
		to, ok := d.offer(v, obs, tc.primary, alt.Port(), now)
		if !ok || to != alt {
			t.Fatalf("%s: offer = %v, %v; want %v", tc.name, to, ok, alt)
		}
		if _, again := d.offer(v, obs, tc.primary, alt.Port(), now.Add(time.Second)); again {
			t.Errorf("%s: a second test while one is out", tc.name)
		}
		d.answer(tc.from, tc.seen, lan)
		if d.nat != tc.want || d.hint != tc.hint {
			t.Errorf("%s: %v %+v; want %v %+v", tc.name, d.nat, d.hint, tc.want, tc.hint)
		}
		if tc.want != NATUnknown && d.ip != tc.seen.Addr() {
			t.Errorf("%s: ip %v, want %v", tc.name, d.ip, tc.seen.Addr())
		}
	}
}

// No test once the votes know, of an observer on our own LAN (it sees our
// LAN address), of one that names no second port, or more often than
// altRetry.
func TestDiscoveryOffer(t *testing.T) {
	ap := netip.MustParseAddrPort
	lan := ap("10.0.0.2:1873")
	now := time.Unix(1000, 0)
	v := newVoter(3, lan, time.Second)
	var d discovery
	if _, ok := d.offer(v, ap("10.0.0.9:1873"), lan, 40000, now); ok {
		t.Error("tested an observer on our LAN")
	}
	if _, ok := d.offer(v, ap("198.51.100.1:1873"), ap("203.0.113.9:1873"), 0, now); ok {
		t.Error("tested without a second port")
	}
	if _, ok := d.offer(v, ap("198.51.100.1:1873"), ap("203.0.113.9:1873"), 40000, now); !ok {
		t.Fatal("no test")
	}
	if _, ok := d.offer(v, ap("198.51.100.1:1873"), ap("203.0.113.9:1873"), 40000, now.Add(altRetry)); !ok {
		t.Error("no new test after altRetry without an answer")
	}
	v.add(ip4("198.51.100.1"), ap("203.0.113.9:1873"), now)
	v.add(ip4("198.51.100.2"), ap("203.0.113.9:1873"), now)
	if _, ok := d.offer(v, ap("198.51.100.1:1873"), ap("203.0.113.9:1873"), 40000, now.Add(2*altRetry)); ok || v.nat != NATCone {
		t.Errorf("tested though the votes say %v", v.nat)
	}
}

func ip4(s string) netip.Addr { return netip.MustParseAddr(s) }

// A node names its second port only while it looks public: its votes say
// so, or say nothing yet and its own address is a public one.
func TestAltPortOnlyWhenPublic(t *testing.T) {
	ap := netip.MustParseAddrPort
	alt := newSink("198.51.100.1:40000")
	for _, tc := range []struct {
		lan  string
		nat  NATType
		want uint16
	}{
		{"198.51.100.1:1873", NATUnknown, 40000},
		{"198.51.100.1:1873", NATPublic, 40000},
		{"10.0.0.2:1873", NATUnknown, 0},
		{"10.0.0.2:1873", NATCone, 0},
		{"198.51.100.1:1873", NATCone, 0}, // a public address behind a NAT all the same
	} {
		o := &Overlay{cfg: Config{Alt: alt}, lan: ap(tc.lan), votes: newVoter(3, ap(tc.lan), time.Second)}
		o.votes.nat = tc.nat
		if got := o.altPort(); got != tc.want {
			t.Errorf("lan %s, votes %v: alt port %d, want %d", tc.lan, tc.nat, got, tc.want)
		}
	}
	if got := (&Overlay{lan: ap("198.51.100.1:1873"), votes: newVoter(3, ap("198.51.100.1:1873"), time.Second)}).altPort(); got != 0 {
		t.Errorf("no second socket: alt port %d", got)
	}
}
