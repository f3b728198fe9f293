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
		drawn[walkTarget(tab, v)]++
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
		drawn[walkTarget(tab, v)]++
	}
	for i, p := range peers {
		if drawn[p] == 0 {
			t.Errorf("with the type known, peer %d was never drawn in 300 walks", i)
		}
	}
}
