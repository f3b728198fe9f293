package core

import (
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// beacons is LAN discovery (Config.BeaconAddr): our beacon's pace, and
// which beacons we answer. It owns its timer; it reads the peer table and
// our LAN address, and writes through the sender. The answer to a beacon,
// an introduction request, is the worker's.
type beacons struct {
	to     netip.AddrPort // Config.BeaconAddr; invalid: no beacons
	every  time.Duration  // Config.BeaconInterval
	pad    int            // Config.MinRequestSize
	target int            // Config.TargetPeers: beacons only while we know fewer
	next   time.Time
	ids    []proto.ID // our communities
	lan    *netip.AddrPort
	table  *peerTable
	out    *sender
	m      Metrics
}

// tick announces us on the LAN while we know fewer than TargetPeers peers.
// The beacon is padded like a tokenless request, so that the request it
// provokes is never larger than the beacon: spoofed beacons cannot amplify.
func (b *beacons) tick(now time.Time) {
	if !b.to.IsValid() || b.table.len() >= b.target || now.Before(b.next) {
		return
	}
	b.next = now.Add(b.every)
	b.out.send(b.to, &proto.Beacon{LAN: *b.lan, Communities: b.ids}, b.pad, 0, uncounted)
}

// heard reports whether the beacon p deserves an introduction request: we
// could use another peer. Beacons count only from our own LAN: a
// local-scope address, or one in our own subnet (some LANs use public
// addresses). The answer is no larger than the padded beacon.
func (b *beacons) heard(p *packet) bool {
	if !isLocalScope(p.from.Addr()) && !sameSubnet(p.from.Addr(), b.lan.Addr()) {
		b.m.Drop(DropUnverified)
		return false
	}
	return b.table.at(p.from) == nil && b.table.len() < b.target
}
