package core

import (
	"net/netip"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// nextInvitee goes round-robin over every peer, but never pairs two peers
// behind symmetric NATs.
func TestNextInviteeSkipsUnpunchablePairs(t *testing.T) {
	tab := newPeerTable(16, 16, 0)
	now := time.Now()
	add := func(id byte, lan, addr string, symmetric bool) *peer {
		p, _ := tab.upsert(proto.ID{id}, netip.MustParseAddrPort(addr), now, 10)
		p.lan, p.symmetric = netip.MustParseAddrPort(lan), symmetric
		return p
	}
	sym := add(1, "10.0.0.2:1873", "203.0.113.1:40000", true)
	cone := add(2, "10.0.0.2:1873", "203.0.113.2:1873", false)
	cone2 := add(3, "10.0.0.3:1873", "203.0.113.3:1873", false)
	pub := add(4, "198.51.100.4:1873", "198.51.100.4:1873", false)
	sym2 := add(5, "10.0.0.9:1873", "203.0.113.5:40000", true)
	seen := map[proto.ID]int{}
	for range 16 {
		seen[tab.nextInvitee(sym).id]++
	}
	if seen[sym2.id] != 0 || seen[cone.id] == 0 || seen[cone2.id] == 0 || seen[pub.id] == 0 {
		t.Errorf("invitees named to a symmetric peer: %v, want every other peer but the symmetric one", seen)
	}
	clear(seen)
	for range 16 {
		seen[tab.nextInvitee(cone).id]++
	}
	if len(seen) != 4 {
		t.Errorf("invitees named to a cone peer: %v, want all four others", seen)
	}
}
