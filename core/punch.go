package core

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"golang.org/x/time/rate"

	"github.com/walkie-p2p/walkie/proto"
)

// Port prediction: getting a symmetric ("hard") NAT and an easy one (cone)
// to meet, where a plain puncture fails because the hard side's next public
// port is unknown. The hard side opens many sockets and sends one probe from
// each to the easy side's address: each opens a mapping in the hard NAT that
// admits the easy side. The easy side sprays probes at the hard side's IP,
// at predicted ports (sequential NAT) or random ones (random NAT, the
// birthday paradox). A probe that lands on an open mapping gets through;
// the hard side then keeps that socket for that peer. docs/nat-traversal.md
// has the design, the figures and where it fails.

const (
	// probeStartEvery and probeStartBurst bound attempts (one in flight at
	// a time besides): two at once, then one per 15 s, four a minute.
	probeStartEvery = 15 * time.Second
	probeStartBurst = 2
	// probeRetryMin and probeRetryMax: a pair that failed waits this long
	// before its next attempt, doubling per failure. Short at first: one
	// attempt in eight misses by bad luck alone.
	probeRetryMin = time.Minute
	probeRetryMax = 30 * time.Minute
	// maxProbeFailures bounds the memory of failed pairs.
	maxProbeFailures = 256
	// seqSockets, seqStride and seqProbes shape an attempt with a
	// sequential NAT: the hard side's 32 sockets take about 32 consecutive
	// ports above the highest one its votes saw; the easy side probes every
	// 16th port above it, 64 probes, so that every run of 16 ports within
	// 1,024 of the hint is hit whatever other flows took meanwhile.
	seqSockets = 32
	seqStride  = 16
	seqProbes  = 64
	// probeBurst is how often the easy side sends its paced probes.
	probeBurst = 20 * time.Millisecond
	// lowPort is the lowest port a NAT hands out to a mapping.
	lowPort = 1024
	// natFresh: an introducer passes on a peer's readiness for an attempt
	// (NATHint.Wants) only this long after the peer said so; the requester's
	// own is always fresh. A busy partner that still looks ready costs its
	// partner a lone spray or a socket burst.
	natFresh = 2 * time.Second
	// probeDelay: an attempt starts this long after the introduction, and
	// not at all if the pair met meanwhile. Votes cannot tell a full cone
	// from a port-restricted one, and with a full cone (or a lucky race)
	// the plain puncture gets through within a round trip; probing at once
	// spent hundreds of packets on such pairs in make sim.
	probeDelay = 500 * time.Millisecond
)

// attempt is one port prediction attempt in flight.
type attempt struct {
	peer    proto.ID
	hard    bool           // we are the symmetric side
	to      netip.AddrPort // hard: the easy peer's address, where every probe socket sends
	ip      netip.Addr     // easy: the hard peer's public IP
	hint    proto.NATHint  // easy: the hard peer's NAT
	nonce   uint64
	start   time.Time   // planned start: probeDelay after the introduction
	started bool        // launched: probes went out
	socks   []Transport // hard: the probe sockets, until one is adopted or the attempt ends
	sent    int         // easy: probes sent so far
	max     int         // easy: probes to send; hard: sockets to open
	next    time.Time   // easy: when the next burst goes out
	until   time.Time
}

// prober is the port prediction state; the worker owns it, under mu.
type prober struct {
	att    *attempt
	starts *rate.Limiter
	failed map[proto.ID]failure      // pairs that failed
	routes map[netip.AddrPort]*route // peers reached through a probe socket
	// What /status shows, as the metrics count it.
	attempts, successes, probes uint64
}

// failure is a pair's failed attempts: how many, and the next time it may
// be tried.
type failure struct {
	n     int
	retry time.Time
}

// route is a probe socket kept for the one peer it reached.
type route struct {
	t     Transport
	added time.Time
}

func newProber() prober {
	return prober{
		starts: rate.NewLimiter(rate.Every(probeStartEvery), probeStartBurst),
		failed: map[proto.ID]failure{},
		routes: map[netip.AddrPort]*route{},
	}
}

// probeFor plans an attempt toward a peer we were just introduced to, if
// one side is hard, the other easy, and the caps allow. theirs is the NAT
// the peer announced; lan and wan are where the introducer says it is. The
// attempt starts probeDelay later, and only if the pair has not met by then.
func (o *Overlay) probeFor(id proto.ID, lan, wan netip.AddrPort, theirs proto.NATHint, now time.Time) {
	pr := &o.punch
	if o.cfg.NoPortPrediction || pr.att != nil || !routable(wan) || o.pick(lan, wan) != wan || o.ctx.Err() != nil {
		return // off, busy, or the peer is behind our own IP: no NAT between us
	}
	// theirs.Wants is the introducer's verdict on the pair (probePair),
	// which the other side heard too; mine.Wants is whether we are still
	// ready. An attempt that one side starts alone costs hundreds of
	// packets for nothing.
	mine := o.natHint()
	if !mine.Wants || !theirs.Wants || isHard(mine) == isHard(theirs) {
		return // one side is not ready, or no hard and easy pair
	}
	if o.table.byID[id] != nil || pr.routes[wan] != nil {
		return // we hear each other already
	}
	if f, ok := pr.failed[id]; ok && now.Before(f.retry) {
		return
	}
	a := &attempt{peer: id, hard: isHard(mine), nonce: rand.Uint64(), start: now.Add(probeDelay)}
	if a.hard {
		a.to = wan
		a.max = o.cfg.ProbeSockets
		if mine.Kind == proto.NATSequential {
			a.max = min(a.max, seqSockets)
		}
	} else {
		a.ip, a.hint = wan.Addr(), theirs
		a.max = o.cfg.ProbePackets
		if theirs.Kind == proto.NATSequential {
			a.max = min(a.max, seqProbes)
		}
	}
	pr.att = a
	o.rearm = true
}

// launch starts a planned attempt: unless the pair met meanwhile (a full
// cone lets the plain introduction through) or the start budget is spent,
// in which case it is dropped without a cost.
func (o *Overlay) launch(now time.Time) {
	pr := &o.punch
	a := pr.att
	// Closed: Close has closed the probe sockets under mu, and waits for
	// their readers; no new one may start.
	if o.ctx.Err() != nil || o.table.byID[a.peer] != nil || !pr.starts.AllowN(now, 1) {
		pr.att = nil
		return
	}
	a.started, a.until, a.next = true, now.Add(o.cfg.ProbeTime), now
	pr.attempts++
	o.m.Add(PortPredictionAttempts, 1)
	if !a.hard {
		o.log.Debug("port prediction: probing", "peer", a.peer, "ip", a.ip, "nat", a.hint)
		o.sprayProbes(now)
		return
	}
	o.log.Debug("port prediction: opening probe sockets", "peer", a.peer, "to", a.to, "sockets", a.max)
	for range a.max {
		t, err := o.cfg.ListenProbe()
		if err != nil {
			o.log.Warn("port prediction: cannot open a probe socket", "err", err)
			break
		}
		a.socks = append(a.socks, t)
		o.wg.Add(1)
		go o.read(t)
		if o.sendVia(t, a.to, o.puncture(a.to, a.nonce, now)) {
			o.punch.probes++
		}
	}
}

// sprayProbes sends the easy side's probes that are due: ProbeRate a
// second, in bursts every probeBurst.
func (o *Overlay) sprayProbes(now time.Time) {
	a := o.punch.att
	if a == nil || !a.started || a.hard || now.Before(a.next) {
		return
	}
	n := max(1, int(o.cfg.ProbeRate*probeBurst.Seconds()))
	for ; n > 0 && a.sent < a.max; n-- {
		a.sent++
		port, ok := probePort(a.hint, a.sent)
		if !ok {
			a.sent = a.max // past the top of the port range
			break
		}
		to := netip.AddrPortFrom(a.ip, port)
		if o.send(to, o.puncture(to, a.nonce, now), 0, 0, PortProbesSent) {
			o.punch.probes++ // for /status; queued, where the counter counts what went
		}
	}
	a.next = now.Add(probeBurst)
}

// probePort is the port of the easy side's i-th probe (from 1): the
// sequential sweep above the hint, or a random port.
func probePort(h proto.NATHint, i int) (uint16, bool) {
	if h.Kind != proto.NATSequential {
		return uint16(lowPort + rand.IntN(65536-lowPort)), true
	}
	p := int(h.Port) + int(h.Step)*seqStride*i
	return uint16(p), p <= 65535
}

// probeHit looks at a packet while an attempt is in flight. The hard side
// got through when the easy peer's packet arrives on one of its probe
// sockets: it keeps that socket for the peer and answers through it. The
// easy side got through when the hard peer's packet arrives from its IP at
// any port: that port is the hard peer's address for us from now on. Either
// way the packet is then handled as usual.
func (o *Overlay) probeHit(p *packet, now time.Time) {
	a := o.punch.att
	if a == nil || !a.started || p.hdr.Sender != a.peer {
		return
	}
	if a.hard {
		if p.from != a.to {
			return
		}
		for i, t := range a.socks {
			if t != p.via {
				continue
			}
			a.socks = append(a.socks[:i], a.socks[i+1:]...)
			if old := o.punch.routes[a.to]; old != nil {
				old.t.Close()
			}
			o.punch.routes[a.to] = &route{t: t, added: now}
			o.endAttempt(true, now)
			o.send(p.from, o.puncture(p.from, a.nonce, now), 0, 0, uncounted) // through the socket just kept
			return
		}
		return
	}
	if p.from.Addr() != a.ip {
		return
	}
	o.endAttempt(true, now)
	if inv, ok := o.table.invitees[a.peer]; ok {
		inv.wan = p.from // its puncture will come from here
	}
	o.send(p.from, o.puncture(p.from, a.nonce, now), 0, 0, uncounted)
}

// endAttempt closes the attempt's sockets that were not kept, and
// remembers a failure.
func (o *Overlay) endAttempt(ok bool, now time.Time) {
	pr := &o.punch
	a := pr.att
	if a == nil {
		return
	}
	pr.att = nil
	for _, t := range a.socks {
		t.Close()
	}
	if ok {
		pr.successes++
		o.m.Add(PortPredictionSuccesses, 1)
		o.log.Debug("port prediction: got through", "peer", a.peer, "probes", a.sent, "sockets", len(a.socks)+1)
		delete(pr.failed, a.peer)
		return
	}
	o.log.Debug("port prediction: failed", "peer", a.peer, "probes", a.sent, "sockets", len(a.socks))
	f, ok := pr.failed[a.peer]
	if !ok && len(pr.failed) >= maxProbeFailures {
		clear(pr.failed)
	}
	f.n++
	f.retry = now.Add(min(probeRetryMin<<min(f.n-1, 8), probeRetryMax))
	pr.failed[a.peer] = f
}

// probeTick sends due probes, ends an attempt whose time is up and closes
// the probe sockets of peers that are gone. It returns how soon it wants
// the next tick (0: no wish).
func (o *Overlay) probeTick(now time.Time) time.Duration {
	pr := &o.punch
	for addr, r := range pr.routes {
		if o.table.byAddr[addr] == nil && now.Sub(r.added) > o.cfg.InviteeTTL {
			r.t.Close()
			delete(pr.routes, addr)
		}
	}
	a := pr.att
	if a == nil {
		return 0
	}
	if !a.started {
		if now.Before(a.start) {
			return a.start.Sub(now)
		}
		if o.launch(now); pr.att == nil {
			return 0
		}
	}
	if !now.Before(a.until) {
		o.endAttempt(false, now)
		return 0
	}
	o.sprayProbes(now)
	if !a.hard && a.sent < a.max {
		return max(a.next.Sub(now), time.Millisecond)
	}
	return a.until.Sub(now)
}

// routeTo is the probe socket kept for to, or nil for the node's own.
func (o *Overlay) routeTo(to netip.AddrPort) Transport {
	if r := o.punch.routes[to]; r != nil {
		return r.t
	}
	return nil
}

// closeProbes closes every probe socket, so that their readers end.
func (o *Overlay) closeProbes() {
	if a := o.punch.att; a != nil {
		for _, t := range a.socks {
			t.Close()
		}
		a.socks = nil
	}
	for addr, r := range o.punch.routes {
		r.t.Close()
		delete(o.punch.routes, addr)
	}
}

// sendVia encodes a probe m and writes it from t (a probe socket) to to.
func (o *Overlay) sendVia(t Transport, to netip.AddrPort, m proto.Message) bool {
	pkt, err := proto.Encode(o.sendBuf[:0], proto.Header{Community: proto.CoreCommunity(), Sender: o.cfg.PeerID, Dest: to}, m)
	if err != nil {
		return false
	}
	if err := o.writeVia(t, pkt, to, PortProbesSent); err != nil {
		o.log.Debug("probe send failed", "to", to, "err", err)
		return false
	}
	return true
}
