package core

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
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

// prober is port prediction: its own state, and a narrow view of the rest
// of the node: it reads the peer table (is the pair already talking?),
// issues tokens for its punctures and writes through the sender, which
// keeps the probe sockets that got through as routes. The worker owns it
// and calls plan, hit and tick; nothing in it calls back into the Overlay.
type prober struct {
	cfg    *Config
	ctx    context.Context // done: the node is closing, no attempt starts
	out    *sender
	tok    *tokens
	table  *peerTable
	listen func() (Transport, error) // opens a probe socket and starts reading it
	lan    *netip.AddrPort           // the worker's: our LAN address, which a move changes
	m      Metrics
	log    *slog.Logger

	att    *attempt
	starts *rate.Limiter
	failed map[proto.ID]failure // pairs that failed
	spent  map[netip.Addr]spend // probes sent to each IP this hour (ticket.go)
	mine   proto.Ticket         // our own ticket, while it is fresh
	pun    punctureMsg
	st     PortPredictionStatus // what /status shows, as the metrics count it
}

// failure is a pair's failed attempts: how many, and the next time it may
// be tried.
type failure struct {
	n     int
	retry time.Time
}

func newProber(ctx context.Context, cfg *Config, out *sender, tok *tokens, table *peerTable, lan *netip.AddrPort,
	listen func() (Transport, error), m Metrics, log *slog.Logger) *prober {
	return &prober{
		cfg: cfg, ctx: ctx, out: out, tok: tok, table: table, lan: lan, listen: listen, m: m, log: log,
		starts: rate.NewLimiter(rate.Every(probeStartEvery), probeStartBurst),
		failed: map[proto.ID]failure{},
		spent:  map[netip.Addr]spend{},
	}
}

// stats returns the attempts, successes and probes so far.
func (pr *prober) stats() PortPredictionStatus { return pr.st }

// plan plans an attempt toward a peer we were just introduced to, if one
// side is hard, the other easy, the peer vouched for its address with its
// ticket tk (ticket.go), and the caps allow. wan is where the introducer
// says the peer is (the caller has checked that it is not behind our own
// IP), theirs the NAT it announced, mine ours as we announce it now. The
// attempt starts probeDelay later, and only if the pair has not met by
// then. It reports whether it planned one (the worker must then wake up in
// time).
func (pr *prober) plan(id proto.ID, wan netip.AddrPort, theirs proto.NATHint, tk proto.Ticket, mine proto.NATHint, now time.Time) bool {
	if pr.cfg.NoPortPrediction || pr.att != nil || !routable(wan) || pr.ctx.Err() != nil {
		return false // off, busy or closing
	}
	if theirs.Wants && !vouched(&tk, id, wan, isHard(theirs), now) {
		pr.log.Debug("port prediction: no valid ticket for the target; not aiming at it", "peer", id, "addr", wan)
		return false // a lying introducer alone aims nothing
	}
	// theirs.Wants is the introducer's verdict on the pair (probePair),
	// which the other side heard too; mine.Wants is whether we are still
	// ready. An attempt that one side starts alone costs hundreds of
	// packets for nothing.
	if !mine.Wants || !theirs.Wants || isHard(mine) == isHard(theirs) {
		return false // one side is not ready, or no hard and easy pair
	}
	if pr.table.get(id) != nil || pr.out.routed(wan) {
		return false // we hear each other already
	}
	if f, ok := pr.failed[id]; ok && now.Before(f.retry) {
		return false
	}
	a := &attempt{peer: id, hard: isHard(mine), nonce: rand.Uint64(), start: now.Add(probeDelay)}
	if a.hard {
		a.to = wan
		a.max = pr.cfg.ProbeSockets
		if mine.Kind == proto.NATSequential {
			a.max = min(a.max, seqSockets)
		}
	} else {
		a.ip, a.hint = wan.Addr(), theirs
		a.max = pr.cfg.ProbePackets
		if theirs.Kind == proto.NATSequential {
			a.max = min(a.max, seqProbes)
		}
	}
	pr.att = a
	return true
}

// launch starts a planned attempt: unless the pair met meanwhile (a full
// cone lets the plain introduction through) or the start budget is spent,
// in which case it is dropped without a cost.
func (pr *prober) launch(now time.Time) {
	a := pr.att
	// Closing: the worker closes the probe sockets on its way out, and
	// Close waits for their readers; no new one may start.
	if pr.ctx.Err() != nil || pr.table.get(a.peer) != nil || !pr.starts.AllowN(now, 1) {
		pr.att = nil
		return
	}
	a.started, a.until, a.next = true, now.Add(pr.cfg.ProbeTime), now
	pr.st.Attempts++
	pr.m.Add(PortPredictionAttempts, 1)
	if !a.hard {
		pr.log.Debug("port prediction: probing", "peer", a.peer, "ip", a.ip, "nat", a.hint)
		pr.spray(now)
		return
	}
	pr.log.Debug("port prediction: opening probe sockets", "peer", a.peer, "to", a.to, "sockets", a.max)
	for range a.max {
		if !pr.afford(a.to.Addr(), now) {
			pr.log.Debug("port prediction: probe budget of the target IP spent", "ip", a.to.Addr())
			break
		}
		t, err := pr.listen()
		if err != nil {
			pr.log.Warn("port prediction: cannot open a probe socket", "err", err)
			break
		}
		a.socks = append(a.socks, t)
		if pr.out.sendVia(t, a.to, pr.pun.to(pr.tok, *pr.lan, a.to, a.nonce, now), PortProbesSent) {
			pr.st.Probes++
		}
	}
}

// spray sends the easy side's probes that are due: ProbeRate a second, in
// bursts every probeBurst.
func (pr *prober) spray(now time.Time) {
	a := pr.att
	if a == nil || !a.started || a.hard || now.Before(a.next) {
		return
	}
	n := max(1, int(pr.cfg.ProbeRate*probeBurst.Seconds()))
	for ; n > 0 && a.sent < a.max; n-- {
		a.sent++
		port, ok := probePort(a.hint, a.sent)
		if !ok {
			a.sent = a.max // past the top of the port range
			break
		}
		if !pr.afford(a.ip, now) {
			a.sent = a.max // the budget of the target IP is spent
			break
		}
		to := netip.AddrPortFrom(a.ip, port)
		if pr.out.send(to, pr.pun.to(pr.tok, *pr.lan, to, a.nonce, now), 0, 0, PortProbesSent) {
			pr.st.Probes++ // for /status; queued, where the counter counts what went
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

// hit looks at a core packet while an attempt is in flight. The hard side
// got through when the easy peer's packet arrives on one of its probe
// sockets: it keeps that socket for the peer and answers through it. The
// easy side got through when the hard peer's packet arrives from its IP at
// any port: that port is the hard peer's address for us from now on. Either
// way the packet is then handled as usual.
func (pr *prober) hit(p *packet, now time.Time) {
	a := pr.att
	if a == nil || !a.started || p.hdr.Sender != a.peer {
		return
	}
	if a.hard {
		i := slices.Index(a.socks, p.via)
		if p.from != a.to || i < 0 {
			return
		}
		a.socks = slices.Delete(a.socks, i, i+1)
		pr.out.adopt(a.to, p.via, now)
		pr.end(true, now)
		pr.out.send(p.from, pr.pun.to(pr.tok, *pr.lan, p.from, a.nonce, now), 0, 0, uncounted) // through the socket just kept
		return
	}
	if p.from.Addr() != a.ip {
		return
	}
	pr.end(true, now)
	pr.table.inviteeMoved(a.peer, p.from) // its puncture will come from here
	pr.out.send(p.from, pr.pun.to(pr.tok, *pr.lan, p.from, a.nonce, now), 0, 0, uncounted)
}

// end closes the attempt's sockets that were not kept, and remembers a
// failure.
func (pr *prober) end(ok bool, now time.Time) {
	a := pr.att
	if a == nil {
		return
	}
	pr.att = nil
	for _, t := range a.socks {
		t.Close()
	}
	if ok {
		pr.st.Successes++
		pr.m.Add(PortPredictionSuccesses, 1)
		pr.log.Debug("port prediction: got through", "peer", a.peer, "probes", a.sent, "sockets", len(a.socks)+1)
		delete(pr.failed, a.peer)
		return
	}
	pr.log.Debug("port prediction: failed", "peer", a.peer, "probes", a.sent, "sockets", len(a.socks))
	f, ok := pr.failed[a.peer]
	if !ok && len(pr.failed) >= maxProbeFailures {
		clear(pr.failed)
	}
	f.n++
	f.retry = now.Add(min(probeRetryMin<<min(f.n-1, 8), probeRetryMax))
	pr.failed[a.peer] = f
}

// tick sends due probes, ends an attempt whose time is up and closes the
// probe sockets of peers that are gone. It returns how soon it wants the
// next tick (0: no wish).
func (pr *prober) tick(now time.Time) time.Duration {
	pr.out.pruneRoutes(func(to netip.AddrPort, since time.Time) bool {
		return pr.table.at(to) != nil || now.Sub(since) <= pr.cfg.InviteeTTL
	})
	a := pr.att
	if a == nil {
		return 0
	}
	if !a.started {
		if now.Before(a.start) {
			return a.start.Sub(now)
		}
		if pr.launch(now); pr.att == nil {
			return 0
		}
	}
	if !now.Before(a.until) {
		pr.end(false, now)
		return 0
	}
	pr.spray(now)
	if !a.hard && a.sent < a.max {
		return max(a.next.Sub(now), time.Millisecond)
	}
	return a.until.Sub(now)
}

// close closes every probe socket, the attempt's and the routes', so that
// their readers end. The worker calls it on its way out.
func (pr *prober) close() {
	if a := pr.att; a != nil {
		for _, t := range a.socks {
			t.Close()
		}
		a.socks = nil
	}
	pr.out.closeRoutes()
}
