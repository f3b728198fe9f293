package core

import (
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// A phone moves: from WiFi to cellular, through a NAT rebinding, out of a
// doze. Its old mappings are gone, its WAN address is wrong, and its peers'
// NATs filter its new address. The node recovers at once instead of
// waiting for timers (58 to 106 s before): it restarts its votes, and for
// repairTime it contacts every peer it has not heard from since the move,
// every repairEvery. The first round asks for introductions (its peers'
// introducers then ask those behind cone NATs to puncture toward the new
// address), the next ones are keep-alives, which get through as soon as a
// puncture opened the way. Its authenticated peers follow it as soon as it
// speaks sealed from the new address (roam).
const (
	repairTime  = 10 * time.Second
	repairEvery = 500 * time.Millisecond
	// wakeGap: a worker that did not tick for this long was asleep (a
	// phone in doze, SIGSTOP): what it knew may be stale, as after a move.
	wakeGap = 30 * time.Second
	// voteRepairEvery bounds the repairs that disagreeing observers start:
	// two liars could otherwise make a node re-contact its peers at will.
	voteRepairEvery = time.Minute
)

// Moved tells the node that its network changed: lan and lan6 are its LAN
// addresses now, as Config.LAN and Config.LAN6 were at the start (the
// first family's: IPv4, or IPv6 on an IPv6-only network; and a dual-stack
// network's IPv6 one, or none), so that a phone going from IPv4 WiFi to an
// IPv6-only carrier says so. A zero lan means that only the route or the
// NAT changed: the addresses stay. It returns at once; the worker
// recovers. The host app calls it from a cheap local check (cmd/node asks
// the kernel for the route to an address every second, which sends no
// packet and needs no netlink).
func (o *Overlay) Moved(lan, lan6 netip.AddrPort) {
	o.move.Store(&[2]netip.AddrPort{lan, lan6})
	o.signal()
}

// awake notices, before the worker handles anything at now, that it did
// not run for wakeGap (it ticks at least every wakeGap/2): the phone
// dozed, or the process was stopped. Its peers may have given up on it
// meanwhile, and what waited in the socket buffer is old news: every peer
// is in doubt until it answers a request sent from now on (Status shows
// when we really last heard it), and the node recovers as from a move.
func (o *Overlay) awake(now time.Time) {
	gap := now.Sub(o.lastRun)
	slept := !o.lastRun.IsZero() && gap > wakeGap
	o.lastRun = now
	if !slept {
		return
	}
	o.log.Info("woke up; asking every peer again", "slept", gap.Round(time.Second))
	for _, p := range o.table.peers() {
		p.doubt = true
	}
	o.table.grace = now.Add(repairTime)
	o.moved(netip.AddrPort{}, netip.AddrPort{}, now)
}

// takeMove applies a Moved that is waiting.
func (o *Overlay) takeMove(now time.Time) {
	if m := o.move.Swap(nil); m != nil {
		o.moved(m[0], m[1], now)
	}
}

// moved starts the recovery from a move (lan invalid: the addresses
// stayed); each family's vote starts again.
func (o *Overlay) moved(lan, lan6 netip.AddrPort, now time.Time) {
	if lan.IsValid() {
		o.lan, o.lan6 = lan, netip.AddrPort{}
		if familyOf(lan.Addr()) == IPv4 && familyOf(lan6.Addr()) == IPv6 {
			o.lan6 = lan6 // a dual-stack network
		}
	}
	o.families()
	o.log.Info("network changed; contacting every peer again", "lan", o.lan, "lan6", o.lan6)
	o.votes, o.votes6 = newVoter(o.cfg.VoteWindow, o.lan, o.cfg.VoteHold), nil
	o.disc = discovery{}
	o.m.WAN(familyOf(o.lan.Addr()), netip.AddrPort{}, NATUnknown)
	if o.lan6.IsValid() {
		o.votes6 = newVoter(o.cfg.VoteWindow, o.lan6, o.cfg.VoteHold)
		o.m.WAN(IPv6, netip.AddrPort{}, NATUnknown)
	}
	clear(o.asked) // answers to the old address will not come
	o.punch.end(false, now)
	o.backoff, o.nextBoot = o.cfg.BootstrapBackoffMin, time.Time{}
	o.dry, o.nextWalk = 0, now // walk fast again: the network around us changed
	o.contactBootstrap(now)    // and the cached peers, which are bootstrap addresses too
	o.repair(now, true)
}

// repair contacts, now, every peer not heard from since the repair began
// (first: asking for introductions), and keeps doing so every repairEvery
// for repairTime.
func (o *Overlay) repair(now time.Time, first bool) {
	if first {
		o.repairFrom, o.repairUntil = now, now.Add(repairTime)
		o.nextRepair = now
		o.rearm = true // the next round is due in repairEvery: the timer must know
	}
	if now.After(o.repairUntil) || now.Before(o.nextRepair) {
		return
	}
	o.nextRepair = now.Add(repairEvery)
	var lost []proto.ID
	for _, p := range o.table.peers() {
		if !o.heardSinceRepair(p) && len(lost) < proto.MaxMeet {
			lost = append(lost, p.id)
		}
	}
	if len(lost) == 0 {
		return
	}
	// Whoever hears us asks the missing peers (their NATs filter our new
	// address) to puncture toward us: in the first round everyone is
	// asked, then up to two that answered, public ones first (they know
	// the most peers), others in turn.
	asked := 0
	for _, public := range []bool{true, false} {
		for _, p := range o.table.peers() {
			if first || asked >= 2 || !o.heardSinceRepair(p) || (p.lan == p.addr) != public || !p.lastSent.Before(now.Add(-repairEvery)) {
				continue
			}
			o.meetAgain = lost
			o.sendIntroRequest(p.addr, p.token, false, now)
			asked++
		}
	}
	for _, p := range o.table.peers() {
		if !o.heardSinceRepair(p) {
			if first {
				o.meetAgain = lost
			}
			o.sendIntroRequest(p.addr, p.token, !first, now)
		}
	}
}

// repairing reports whether a repair is under way.
func (o *Overlay) repairing(now time.Time) bool { return !now.After(o.repairUntil) }

// heardSinceRepair reports whether p spoke since the latest repair began:
// a peer that did not is to be met again.
func (o *Overlay) heardSinceRepair(p *peer) bool { return !p.lastHeard.Before(o.repairFrom) }
