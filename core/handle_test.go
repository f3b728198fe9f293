package core

import (
	"net/netip"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// inject runs one datagram through admit and handle, as the reader and the
// worker would.
func inject(t *testing.T, o *Overlay, from netip.AddrPort, sender proto.ID, m proto.Message) {
	t.Helper()
	injectAt(t, o, from, sender, m, time.Now())
}

// injectAt is inject with the worker's clock at now.
func injectAt(t *testing.T, o *Overlay, from netip.AddrPort, sender proto.ID, m proto.Message, now time.Time) {
	t.Helper()
	pkt, err := proto.Encode(nil, proto.Header{Community: proto.CoreCommunity(), Sender: sender, Dest: o.cfg.LAN}, m)
	if err != nil {
		t.Fatal(err)
	}
	p := o.pool.get()
	n := copy(p.buf[:], pkt)
	lim := newSourceLimiter(1e9, 1e9)
	if r, ok := o.in.admit(p, n, from, o.cfg.Transport, lim); !ok {
		t.Fatalf("not admitted: %v", r)
	}
	p = <-o.in.inbox
	o.handle(p, now)
}

// A verified introducer cannot aim our punctures at a broadcast, multicast
// or unspecified address, or at port 0.
func TestPunctureRequestTargetMustBeRoutable(t *testing.T) {
	stats := NewStats()
	o, sink := benchOverlay(t, stats, 1) // peer {2,0,0} at 203.0.0.0:1873
	b := o.table.order[0]
	for i, target := range []string{"255.255.255.255:1873", "224.0.0.1:1873", "0.0.0.0:1873", "198.51.100.5:0", "[ff02::1]:1873"} {
		inject(t, o, b.addr, b.id, &proto.PunctureRequest{Nonce: uint64(i), Target: proto.PeerInfo{
			ID: proto.ID{7, byte(i)}, WAN: netip.MustParseAddrPort(target)}})
	}
	if w := sink.writes.Load(); w != 0 {
		t.Fatalf("%d punctures sent toward unroutable targets", w)
	}
	if d := stats.Dropped(DropBadAddress); d != 5 {
		t.Fatalf("dropped as bad_address: %d, want 5", d)
	}
	inject(t, o, b.addr, b.id, &proto.PunctureRequest{Nonce: 9, Target: proto.PeerInfo{
		ID: proto.ID{8}, WAN: netip.MustParseAddrPort("198.51.100.5:40000")}})
	if w := sink.writes.Load(); w != 1 || stats.Count(PuncturesSent) != 1 {
		t.Fatalf("a routable target got %d punctures, want 1", w)
	}
}

// A token-only answer (to our request without a token) lists no
// communities; it must not wipe the ones the peer announced before.
func TestTokenOnlyAnswerKeepsCommunities(t *testing.T) {
	o, _ := benchOverlay(t, NewStats(), 1)
	b := o.table.order[0]
	x := proto.ID{0xc0, 0xde}
	b.communities = []proto.ID{x}
	o.asked[77] = outstanding{to: b.addr, sent: time.Now()}
	inject(t, o, b.addr, b.id, &proto.IntroResponse{Nonce: 77, Token: make([]byte, tokenLen)})
	if len(b.communities) != 1 || b.communities[0] != x {
		t.Fatalf("communities after a token-only answer: %v, want [%v]", b.communities, x)
	}
	// Nor an answer with a token only to a request with a token (ours was
	// too old): it looks the same.
	o.asked[78] = outstanding{to: b.addr, sent: time.Now(), hadToken: true}
	inject(t, o, b.addr, b.id, &proto.IntroResponse{Nonce: 78, Token: make([]byte, tokenLen)})
	if len(b.communities) != 1 || b.communities[0] != x {
		t.Fatalf("communities after a token-only answer to a token: %v, want [%v]", b.communities, x)
	}
	// A full answer replaces them.
	y := proto.ID{0xbe, 0xef}
	o.asked[79] = outstanding{to: b.addr, sent: time.Now(), hadToken: true}
	inject(t, o, b.addr, b.id, &proto.IntroResponse{Nonce: 79, Token: make([]byte, tokenLen), Communities: []proto.ID{y}})
	if len(b.communities) != 1 || b.communities[0] != y {
		t.Fatalf("communities after a full answer: %v, want [%v]", b.communities, y)
	}
}
