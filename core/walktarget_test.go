package core

import (
	"net/netip"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// While our NAT type is unknown, a walk asks a peer that has not reported
// our address yet: a public node with three peers whose walks kept drawing
// the one peer that had answered stayed "unknown" for over 10 s in 2 to 4%
// of TestConeMesh's starts. Once the type is known, every peer is drawn.
// The same holds per family (TestWalkSeeksASecondIPv6Observer).
func TestWalkSeeksASecondObserver(t *testing.T) {
	now := time.Now()
	tab := newPeerTable(16, 16, 0)
	var peers []*peer
	for i := range 3 {
		p, _ := tab.upsert(proto.ID{byte(i + 1)}, netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}), 1873), now, 10)
		peers = append(peers, p)
	}
	lan := netip.MustParseAddrPort("198.51.100.1:1873")
	v := newVoter(5, lan, time.Second)
	v.add(peers[0].addr.Addr(), lan, now) // one observer: the type is unknown
	if v.nat != NATUnknown {
		t.Fatalf("nat %v after one observer", v.nat)
	}
	drawn := map[*peer]int{}
	for range 300 {
		drawn[walkTarget(tab, &familyVotes{first: v})]++
	}
	if drawn[peers[0]] != 0 || drawn[peers[1]] == 0 || drawn[peers[2]] == 0 {
		t.Errorf("with one observer, walks drew the observer %d times, the others %d and %d; want 0 and both others",
			drawn[peers[0]], drawn[peers[1]], drawn[peers[2]])
	}

	v.add(peers[1].addr.Addr(), lan, now)
	if v.nat == NATUnknown {
		t.Fatal("two agreeing observers left the type unknown")
	}
	clear(drawn)
	for range 300 {
		drawn[walkTarget(tab, &familyVotes{first: v})]++
	}
	for i, p := range peers {
		if drawn[p] == 0 {
			t.Errorf("with the type known, peer %d was never drawn in 300 walks", i)
		}
	}
}

// A dual-stack node whose IPv4 type is known and whose IPv6 type is not
// walks to IPv6 peers that have not reported its IPv6 address: the NAT
// lab's dual-stack host behind a home router once kept nat6 unknown past
// 10 s.
func TestWalkSeeksASecondIPv6Observer(t *testing.T) {
	now := time.Now()
	tab := newPeerTable(16, 16, 0)
	add := func(id byte, addr string) *peer {
		p, _ := tab.upsert(proto.ID{id}, netip.MustParseAddrPort(addr), now, 10)
		return p
	}
	a4, b4 := add(1, "203.0.113.1:1873"), add(2, "198.51.100.7:1873")
	a6, b6, c6 := add(3, "[2001:db8:1::2]:1873"), add(4, "[2001:db8:2::2]:1873"), add(5, "[2001:db8:3::2]:1873")
	lan := netip.MustParseAddrPort("10.5.0.2:1873")
	lan6 := netip.MustParseAddrPort("[2001:db8:2004::2]:1873")
	fv := &familyVotes{first: newVoter(5, lan, time.Second), v6: newVoter(5, lan6, time.Second)}
	wan := netip.MustParseAddrPort("203.0.113.14:1873")
	fv.first.add(a4.addr.Addr(), wan, now)
	fv.first.add(b4.addr.Addr(), wan, now)
	fv.v6.add(a6.addr.Addr(), lan6, now)
	if fv.first.nat == NATUnknown || fv.v6.nat != NATUnknown {
		t.Fatalf("nat %v and nat6 %v, want IPv4's known and IPv6's not", fv.first.nat, fv.v6.nat)
	}
	drawn := map[*peer]int{}
	for range 300 {
		drawn[walkTarget(tab, fv)]++
	}
	if drawn[a4]+drawn[b4]+drawn[a6] != 0 || drawn[b6] == 0 || drawn[c6] == 0 {
		t.Errorf("drawn: IPv4 peers %d and %d, the IPv6 observer %d, the other IPv6 peers %d and %d; want only the last two",
			drawn[a4], drawn[b4], drawn[a6], drawn[b6], drawn[c6])
	}
}

// A dual-stack node that met only IPv4 peers walks, while its IPv6 type is
// unknown, to the one that speaks IPv6 too: only it can introduce IPv6
// peers (the NAT lab's home host once met none within 10 s).
func TestWalkSeeksAnIPv6Introducer(t *testing.T) {
	now := time.Now()
	tab := newPeerTable(16, 16, 0)
	var four []*peer
	for i := range 3 {
		p, _ := tab.upsert(proto.ID{byte(i + 1)}, netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}), 1873), now, 10)
		p.reach = proto.ReachIPv4
		four = append(four, p)
	}
	four[0].reach = proto.ReachIPv4 | proto.ReachIPv6 // the dual-stack bootstrap
	lan := netip.MustParseAddrPort("10.5.0.2:1873")
	fv := &familyVotes{first: newVoter(5, lan, time.Second), v6: newVoter(5, netip.MustParseAddrPort("[2001:db8:2004::2]:1873"), time.Second)}
	wan := netip.MustParseAddrPort("203.0.113.14:1873")
	for _, p := range four[:2] {
		fv.first.add(p.addr.Addr(), wan, now)
	}
	drawn := map[*peer]int{}
	for range 300 {
		drawn[walkTarget(tab, fv)]++
	}
	if drawn[four[0]] != 300 {
		t.Errorf("the dual-stack introducer drawn %d of 300 times, the IPv4-only peers %d and %d; want it every time",
			drawn[four[0]], drawn[four[1]], drawn[four[2]])
	}
}
