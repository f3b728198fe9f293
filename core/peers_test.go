package core

import (
	"net/netip"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// nextInvitee goes round-robin over every peer, but never pairs a peer
// behind a symmetric NAT with one that is not public.
func TestNextInviteeSkipsUnpunchablePairs(t *testing.T) {
	tab := newPeerTable(16, 16)
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
	seen := map[proto.ID]int{}
	for range 12 {
		if q := tab.nextInvitee(sym); q != nil {
			seen[q.id]++
		}
	}
	if seen[pub.id] == 0 || len(seen) != 1 {
		t.Errorf("invitees named to a symmetric peer: %v, want only the public one", seen)
	}
	clear(seen)
	for range 12 {
		seen[tab.nextInvitee(cone).id]++
	}
	if seen[sym.id] != 0 || seen[cone2.id] == 0 || seen[pub.id] == 0 {
		t.Errorf("invitees named to a cone peer: %v, want the other cone and the public one, never the symmetric", seen)
	}
	clear(seen)
	for range 12 {
		seen[tab.nextInvitee(pub).id]++
	}
	if len(seen) != 3 {
		t.Errorf("invitees named to a public peer: %v, want all three others", seen)
	}
}
