package core

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// tick is one step of the walk: expire what timed out, keep NAT mappings
// open, walk when it is time, and fall back to bootstrap when alone. It
// returns the time to the next tick: the next walk, but at most a quarter of
// KeepAlive, so that keep-alives go out in time whatever the walk interval.
func (o *Overlay) tick(now time.Time) time.Duration {
	for n, r := range o.asked {
		if now.Sub(r.sent) > o.cfg.RequestTimeout {
			delete(o.asked, n)
		}
	}
	gone, failed := o.table.expire(now, o.cfg.PeerTimeout)
	for _, q := range gone {
		o.log.Debug("peer timed out", "peer", q.id)
		o.lost(q.addr, now)
	}
	o.knockTick(now)
	for range failed {
		o.m.Puncture(false)
	}
	if o.table.len() == 0 {
		o.contactBootstrap(now)
	} else {
		o.backoff = o.cfg.BootstrapBackoffMin
		o.nextBoot = time.Time{}
		if !now.Before(o.nextWalk) {
			o.walk(now)
			o.walked()
			o.nextWalk = now.Add(o.walkInterval())
		}
		o.keepAlive(now)
	}
	o.beacon(now)
	o.seedTick(now)
	o.repair(now, false)
	probeNext := o.punch.tick(now)
	if o.shakes != nil {
		o.authTick(now)
		if due := resendEvery / 4; o.shakes.busy() && (probeNext == 0 || probeNext > due) {
			probeNext = due // resends are due within a second
		}
	}
	o.m.Peers(o.table.len(), o.table.candidates())
	for i, r := range o.comms.runners {
		o.m.Members(r.name, len(o.view.Load().members[i]))
	}
	if now.Sub(o.rateMark) >= time.Minute {
		sent := o.out.sent.Load()
		if !o.rateMark.IsZero() {
			// What a phone's user pays for, shown in /status.
			o.sentPerMin = uint64(float64(sent-o.rateSent) * float64(time.Minute) / float64(now.Sub(o.rateMark)))
		}
		o.rateMark, o.rateSent = now, sent
	}
	next := min(o.cfg.KeepAlive/4, wakeGap/2) // a longer gap means we slept (awake)
	if o.table.len() == 0 {
		next = o.walkInterval()
	} else if d := o.nextWalk.Sub(now); d < next {
		next = d
	}
	if probeNext > 0 && probeNext < next {
		next = probeNext
	}
	if o.repairing(now) {
		next = min(next, repairEvery)
	}
	return max(next, time.Millisecond)
}

// contactBootstrap sends an introduction request to every bootstrap address
// when the backoff allows, and doubles the backoff (up to its maximum).
func (o *Overlay) contactBootstrap(now time.Time) {
	if len(o.bootstrap) == 0 || now.Before(o.nextBoot) {
		return
	}
	if !o.nextBoot.IsZero() {
		o.log.Info("no peers yet; retrying bootstrap", "addrs", o.bootstrap, "next_retry", o.backoff)
	}
	for _, a := range o.bootstrap {
		o.sendIntroRequest(a, nil, false, now)
	}
	if !o.nextBoot.IsZero() {
		o.seedBootstrap(now) // unanswered in walkie: it may be a seed node
	}
	o.nextBoot = now.Add(o.backoff)
	o.backoff = min(2*o.backoff, o.cfg.BootstrapBackoffMax)
}

// walk sends one introduction request: to an introduced candidate (half the
// time, while the table is small), else to a random verified peer.
func (o *Overlay) walk(now time.Time) {
	if o.table.len() < o.cfg.TargetPeers && o.table.candidates() > 0 && rand.IntN(2) == 0 {
		if c, ok := o.table.takeCandidate(); ok {
			o.sendIntroRequest(o.voterFor(c.wan.Addr()).pick(c.lan, c.wan), nil, false, now)
			return
		}
	}
	if p := o.table.walkTarget(); p != nil {
		o.sendIntroRequest(p.addr, p.token, false, now)
	}
}

// keepAlive sends an introduction request to every peer that would otherwise
// not hear from us within KeepAlive, counting the time to the next tick.
func (o *Overlay) keepAlive(now time.Time) {
	slack := o.cfg.KeepAlive / 4
	for _, p := range o.table.peers() {
		if o.keepAliveDue(p, slack, now) {
			o.sendIntroRequest(p.addr, p.token, true, now)
		}
	}
}

// beacon announces us on the LAN while we know fewer than TargetPeers peers.
// It is padded like a tokenless request, so that the request it provokes is
// never larger than the beacon: spoofed beacons cannot amplify.
func (o *Overlay) beacon(now time.Time) {
	if !o.cfg.BeaconAddr.IsValid() || o.table.len() >= o.cfg.TargetPeers || now.Before(o.nextBeacon) {
		return
	}
	o.nextBeacon = now.Add(o.cfg.BeaconInterval)
	o.out.send(o.cfg.BeaconAddr, &proto.Beacon{LAN: o.lan, Communities: o.comms.ids}, o.cfg.MinRequestSize, 0, uncounted)
}

// sendIntroRequest sends an introduction request echoing tok (the token the
// receiver gave us, if any) and remembers it as outstanding. A request
// without a token is padded to MinRequestSize. A keep-alive asks for no
// introduction.
func (o *Overlay) sendIntroRequest(to netip.AddrPort, tok []byte, keepAlive bool, now time.Time) {
	o.ask(to, tok, keepAlive, 0, now)
}

// askLimited sends a tokenless introduction request to an address that
// has not proved it receives there, only if it is at most limit bytes (>
// 0: the credit of a seed-protocol address, seed.go), and returns its
// size, 0 if it did not go.
func (o *Overlay) askLimited(to netip.AddrPort, limit int, now time.Time) int {
	return o.ask(to, nil, false, limit, now)
}

// ask is sendIntroRequest with a limit (> 0: not sent if longer; 0: none);
// it returns the bytes sent, 0 if none.
func (o *Overlay) ask(to netip.AddrPort, tok []byte, keepAlive bool, limit int, now time.Time) int {
	if !to.IsValid() || len(o.asked) >= maxOutstanding {
		return 0
	}
	nonce := rand.Uint64()
	pad := 0
	if len(tok) == 0 {
		pad = o.cfg.MinRequestSize
	}
	o.s.ask = proto.IntroRequest{Nonce: nonce, LAN: o.lan, Token: tok, Communities: o.comms.ids,
		KeepAlive: keepAlive, Symmetric: o.natType() == NATSymmetric, NAT: o.natHint(now), Quiet: o.cfg.Quiet, Reach: o.reach,
		WantMore: !keepAlive && (o.table.len() < o.cfg.TargetPeers || o.repairing(now)), Seed: o.seedOn()}
	o.s.ask.Meet, o.meetAgain = o.meetAgain, nil
	if o.s.ask.NAT.Wants {
		o.s.ask.Ticket = o.punch.ticket(o.votedHint().Kind, o.ticketIP(), o.votes.wan, now)
		o.s.ask.NAT.Wants = !o.s.ask.Ticket.IsZero() // no key, no ticket: no attempt
	}
	if !o.out.send(to, &o.s.ask, pad, limit, IntroRequestsSent) {
		return 0
	}
	o.asked[nonce] = outstanding{to: to, sent: now, hadToken: len(tok) > 0, keepAlive: keepAlive}
	if p := o.table.at(to); p != nil {
		p.lastSent = now
	}
	return o.out.lastLen
}

// onBeacon answers a LAN discovery beacon with an introduction request, if we
// could use another peer. Beacons count only from our own LAN: a
// local-scope address, or one in our own subnet (some LANs use public
// addresses). The answer is no larger than the padded beacon.
func (o *Overlay) onBeacon(p *packet, now time.Time) {
	if !isLocalScope(p.from.Addr()) && !sameSubnet(p.from.Addr(), o.lan.Addr()) {
		o.m.Drop(DropUnverified)
		return
	}
	if o.table.at(p.from) != nil || o.table.len() >= o.cfg.TargetPeers {
		return
	}
	o.sendIntroRequest(p.from, nil, false, now)
}
