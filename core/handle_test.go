package core

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/walkie-p2p/walkie/proto"
)

// inject runs one datagram through admit and handle, as the reader and the
// worker would.
func inject(t *testing.T, o *Overlay, from netip.AddrPort, sender proto.ID, m proto.Message) {
	t.Helper()
	pkt, err := proto.Encode(nil, proto.Header{Community: proto.CoreCommunity(), Sender: sender, Dest: o.cfg.LAN}, m)
	if err != nil {
		t.Fatal(err)
	}
	buf := o.pool.get()
	n := copy(buf[:], pkt)
	lim := &sourceLimiter{rate: 1e9, burst: 1e9, m: map[netip.Addr]*rate.Limiter{}}
	if r, ok := o.admit(buf, n, from, o.cfg.Transport, lim); !ok {
		t.Fatalf("not admitted: %v", r)
	}
	p := <-o.inbox
	o.mu.Lock()
	o.handle(&p, time.Now())
	o.mu.Unlock()
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
