package core

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// pace is the walk's timing: when the next walk is due, and how many fast
// walks in a row found nobody new. The intervals are Config's.
type pace struct {
	fast, slow time.Duration // Config.WalkFast, Config.WalkInterval
	target     int           // Config.TargetPeers
	next       time.Time
	dry        int    // fast walks in a row that found nobody new
	addedAt    uint64 // table.added at the last walk
}

// interval is the time to the next walk, with peers verified peers: fast
// while the table is small, with ±10% jitter so that nodes started together
// do not walk in lockstep. A fast walk that found nobody new doubles the
// next one's wait, up to WalkInterval: a network of fewer than TargetPeers
// nodes has nobody new to find, and walking it every 500 ms cost a phone
// 500 packets a minute.
func (w *pace) interval(peers int) time.Duration {
	d := w.slow
	if peers < w.target {
		d = min(w.fast<<min(w.dry, 16), w.slow)
	}
	return d - d/10 + rand.N(d/5+1)
}

// walked records, at a walk, whether anybody new turned up since the last
// one (added: the table's count of verified peers and candidates added).
func (w *pace) walked(added uint64) {
	if added == w.addedAt {
		w.dry++
	} else {
		w.dry = 0
	}
	w.addedAt = added
}

// now makes the next walk due at once, at the fast pace: the network
// around us changed, or what we tell it did.
func (w *pace) now(now time.Time) { w.dry, w.next = 0, now }

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
		o.knocks.lost(q.addr, now)
	}
	o.knocks.tick(o.table, func(to netip.AddrPort) { o.sendIntroRequest(to, nil, false, now) }, now)
	for range failed {
		o.m.Puncture(false)
	}
	if o.table.len() == 0 {
		o.boots.contact(now)
	} else {
		o.boots.reset()
		if !now.Before(o.walks.next) {
			o.walk(now)
			o.walks.walked(o.table.added)
			o.walks.next = now.Add(o.walks.interval(o.table.len()))
		}
		o.keepAlive(now)
	}
	o.beacons.tick(now)
	o.seeds.tick(now)
	o.repair(now, false)
	probeNext := o.punch.tick(now)
	if o.auth.shakes != nil {
		o.auth.tick(now)
		if due := resendEvery / 4; o.auth.shakes.busy() && (probeNext == 0 || probeNext > due) {
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
		next = o.walks.interval(o.table.len())
	} else if d := o.walks.next.Sub(now); d < next {
		next = d
	}
	if probeNext > 0 && probeNext < next {
		next = probeNext
	}
	if o.repairs.on(now) {
		next = min(next, repairEvery)
	}
	return max(next, time.Millisecond)
}

// walk sends one introduction request: to an introduced candidate (half the
// time, while the table is small), else to a random verified peer.
func (o *Overlay) walk(now time.Time) {
	if o.table.len() < o.cfg.TargetPeers && o.table.candidates() > 0 && rand.IntN(2) == 0 {
		if c, ok := o.table.takeCandidate(); ok {
			o.sendIntroRequest(o.votes.of(c.wan.Addr()).pick(c.lan, c.wan), nil, false, now)
			return
		}
	}
	if p := walkTarget(o.table, &o.votes); p != nil {
		o.sendIntroRequest(p.addr, p.token, false, now)
	}
}

// walkTarget is the peer a walk asks: a random one (peerTable.walkTarget),
// but while the NAT type of one of our families is unknown, one that has
// not told us yet where it sees us in that family, if there is one. Walks
// back off in a network where nobody new turns up, and a node whose few
// walks all drew the same peer heard one observer and stayed "unknown": a
// public node with three peers for more than 10 s in 2 to 4% of
// TestConeMesh's starts, a dual-stack host's IPv6 side in the NAT lab.
// What it needs is a second voice. Peers in our own subnet never vote. A
// dual-stack node that knows its IPv6 peers only through an introducer
// that speaks both families (the others know none) walks to that one: it
// met its IPv4 peers first, and its random, backed-off walks went to
// IPv4-only peers while the IPv6 side stayed unknown for over 10 s.
func walkTarget(t *peerTable, fv *familyVotes) *peer {
	needed := func(q *peer) bool {
		a := q.addr.Addr()
		if v := fv.of(a); v.nat == NATUnknown && !v.observed(a) && !sameSubnet(a, v.lan.Addr()) {
			return true
		}
		return fv.v6 != nil && fv.v6.nat == NATUnknown && familyOf(a) == IPv4 && q.reach&proto.ReachIPv6 != 0
	}
	p := t.walkTarget()
	if p == nil || needed(p) {
		return p
	}
	n := 0
	for _, q := range t.order {
		if !q.quiet && needed(q) {
			if n++; rand.IntN(n) == 0 { // a uniform pick in one pass
				p = q
			}
		}
	}
	return p
}

// keepAlive sends an introduction request to every peer that would otherwise
// not hear from us within KeepAlive, counting the time to the next tick.
func (o *Overlay) keepAlive(now time.Time) {
	slack := o.cfg.KeepAlive / 4
	for _, p := range o.table.peers() {
		if o.live.due(p, slack, now) {
			o.sendIntroRequest(p.addr, p.token, true, now)
		}
	}
}

// sendIntroRequest sends an introduction request echoing tok (the token the
// receiver gave us, if any) and remembers it as outstanding. A request
// without a token is padded to MinRequestSize. A keep-alive asks for no
// introduction.
func (o *Overlay) sendIntroRequest(to netip.AddrPort, tok []byte, keepAlive bool, now time.Time) {
	o.ask(to, tok, keepAlive, 0, now)
}

// ask is sendIntroRequest with a limit (> 0: not sent if longer; 0: none;
// the credit of a seed-protocol address that has not proved it receives
// there, seed.go); it returns the bytes sent, 0 if none.
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
		KeepAlive: keepAlive, Symmetric: o.disc.natType(o.votes.first) == NATSymmetric, NAT: o.natHint(now), Quiet: o.cfg.Quiet, Reach: o.reach,
		WantMore: !keepAlive && (o.table.len() < o.cfg.TargetPeers || o.repairs.on(now)), Seed: o.seeds.on()}
	o.s.ask.Meet, o.meetAgain = o.meetAgain, nil
	if o.s.ask.NAT.Wants {
		o.s.ask.Ticket = o.punch.ticket(o.disc.votedHint(o.votes.first).Kind, o.disc.ticketIP(o.votes.first), o.votes.first.wan, now)
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
