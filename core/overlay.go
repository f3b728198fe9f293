package core

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// maxOutstanding bounds the introduction requests awaiting an answer.
const maxOutstanding = 1024

// outstanding is an introduction request awaiting its response.
type outstanding struct {
	to        netip.AddrPort
	sent      time.Time
	hadToken  bool
	keepAlive bool
	alt       bool // to an observer's second port: its answer only classifies our NAT (discover.go)
}

// Overlay is one walkie node: it walks, punctures, votes and keeps the peer
// table. Create it with New, start it with Start, stop it with Close.
//
// Concurrency: one worker goroutine owns every piece of protocol state (the
// fields below the line) and is the only writer to the sockets; nothing
// else touches them, so there is no lock. Readers (one per socket) hand it
// packets through bounded queues; communities hand it datagrams to send
// through a bounded queue each. What other goroutines read (Status,
// VerifiedPeers, a community's members, the WAN address) is an immutable
// view the worker publishes after every change (view.go), so none of them
// ever waits for the worker.
//
// Shape: Overlay is composition, the worker loop and the dispatch. Each
// component below owns its state and gets, in New, only what it needs of
// the others (docs/architecture.md, "Who owns what"); what needs several
// of them at once stays here, so that a packet's way reads in one
// direction (handle.go).
type Overlay struct {
	cfg   Config
	log   *slog.Logger
	m     Metrics
	pool  bufPool
	in    *inbound     // the readers
	comms *communities // the communities and their queues
	view  atomic.Pointer[view]
	wake  chan struct{}                     // a send queue or SetBootstrap has something for the worker
	move  atomic.Pointer[[2]netip.AddrPort] // the latest Moved (lan, lan6), until the worker takes it
	nat64 atomic.Pointer[netip.Prefix]      // the latest SetNAT64, until the worker takes it

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the worker and the readers
	start  sync.Once
	close  sync.Once

	// The worker's own.
	lan        netip.AddrPort // our LAN address: Config.LAN, until a move (Moved)
	lan6       netip.AddrPort // a dual-stack node's IPv6 one: Config.LAN6, until a move
	prefix64   netip.Prefix   // our network's NAT64 prefix: Config.NAT64, until SetNAT64
	reach      proto.Reach    // the IP families we can send to (family.go)
	table      *peerTable
	votes      familyVotes  // our WAN votes, per family (vote.go)
	disc       discovery    // the second port test, for a NAT the votes cannot classify
	alt        secondPort   // our own second port's answers to that test (Config.Alt)
	seeds      *seedService // the seed protocol's world (seed.go); off when Config.NoSeed
	tok        *tokens
	out        *sender
	punch      *prober
	auth       *auth                  // identity: who may be a peer, handshakes, sessions (auth.go)
	asked      map[uint64]outstanding // our introduction requests, by nonce
	boots      bootstraps             // the fallback of a node alone (bootstrap.go)
	beacons    beacons                // LAN discovery (beacon.go)
	live       keepAlives             // the keep-alive policy (quiet.go)
	walks      pace                   // when the next walk is due, and how fast they go (walker.go)
	started    time.Time
	firstPeer  time.Duration // 0 until the first verified peer
	rearm      bool          // the worker must recompute its timer: an attempt was planned
	s          scratch
	rateMark   time.Time  // start of the current minute of the sent-rate window
	rateSent   uint64     // sent at rateMark
	sentPerMin uint64     // datagrams sent in the last full minute
	published  *stamp     // what the current view was built from
	repairs    repairs    // the recovery from a move (move.go)
	lastRun    time.Time  // when the worker last ran; a long gap since: we slept
	meetAgain  []proto.ID // whom the next introduction request asks to meet again
	knocks     knocks     // the last addresses of lost peers (knock.go)
}

// New checks cfg, fills its defaults and returns an Overlay that is not yet
// running.
func New(cfg Config) (*Overlay, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &Overlay{
		cfg:      cfg,
		log:      cfg.Logger,
		m:        cfg.Metrics,
		wake:     make(chan struct{}, 1),
		ctx:      ctx,
		cancel:   cancel,
		table:    newPeerTable(cfg.MaxPeers, cfg.MaxCandidates, max(cfg.PrefixPeers, 0)),
		lan:      cfg.LAN,
		prefix64: cfg.NAT64,
		votes:    familyVotes{first: newVoter(cfg.VoteWindow, cfg.LAN, cfg.VoteHold)},
		tok:      newTokens(cfg.TokenBucket),
		out:      newSender(cfg.Transport, cfg.PeerID, cfg.Metrics, cfg.Logger),
		asked:    map[uint64]outstanding{},
	}
	o.table.live = cfg.KeepAlive
	o.boots = bootstraps{addrs: append([]netip.AddrPort(nil), cfg.Bootstrap...), min: cfg.BootstrapBackoffMin, max: cfg.BootstrapBackoffMax,
		backoff: cfg.BootstrapBackoffMin, log: o.log, ask: func(to netip.AddrPort, now time.Time) { o.sendIntroRequest(to, nil, false, now) }}
	o.live = keepAlives{quiet: cfg.Quiet, every: cfg.KeepAlive}
	o.walks = pace{fast: cfg.WalkFast, slow: cfg.WalkInterval, target: cfg.TargetPeers}
	o.alt = secondPort{t: cfg.Alt, out: o.out, m: o.m}
	if familyOf(cfg.LAN.Addr()) == IPv4 && familyOf(cfg.LAN6.Addr()) == IPv6 {
		o.lan6, o.votes.v6 = cfg.LAN6, newVoter(cfg.VoteWindow, cfg.LAN6, cfg.VoteHold)
	}
	o.seeds = &seedService{lan: &o.lan, table: o.table, out: o.out, m: o.m, log: o.log,
		wan:    func() netip.AddrPort { return o.votes.first.wan },
		walkie: func(to netip.AddrPort, limit int, now time.Time) int { return o.ask(to, nil, false, limit, now) }}
	if !cfg.NoSeed {
		o.seeds.t = newSeedTable(cfg.PeerID)
	}
	o.boots.seeds = o.seeds
	o.beacons = beacons{to: cfg.BeaconAddr, every: cfg.BeaconInterval, pad: cfg.MinRequestSize, target: cfg.TargetPeers,
		lan: &o.lan, table: o.table, out: o.out, m: o.m}
	o.out.onError = cfg.OnSendError
	if o.comms, err = newCommunities(&o.cfg, ctx, &o.pool, &o.view, o.signal); err != nil {
		cancel()
		return nil, err
	}
	o.beacons.ids = o.comms.ids
	o.auth = &auth{stale: map[netip.AddrPort]time.Time{}, table: o.table, out: o.out, tok: o.tok, m: o.m, log: o.log,
		quiet: cfg.Quiet, punctureRate: cfg.PunctureRate, rearm: &o.rearm, added: o.peerAdded, ask: o.sendIntroRequest}
	if cfg.Key != nil {
		if o.auth.shakes, err = newHandshakes(IdentityFromKey(cfg.Key)); err != nil {
			cancel()
			return nil, err
		}
	}
	o.in = newInbound(&o.cfg, ctx, &o.pool, o.comms, &o.wg)
	o.families()
	if o.auth.shakes != nil {
		o.in.sessions = &o.auth.shakes.index
	}
	// A probe socket gets a reader like any socket; the prober opens them
	// on the worker.
	listen := func() (Transport, error) {
		t, err := o.cfg.ListenProbe()
		if err == nil {
			o.in.start(t, false)
		}
		return t, err
	}
	o.punch = newProber(ctx, &o.cfg, o.out, o.tok, o.table, &o.lan, listen, o.m, o.log)
	o.publish() // readers always find a view
	return o, nil
}

// Start launches the reader and worker goroutines and sends the first
// introduction request to every bootstrap address at once (the seed waited
// for its first 5 s tick). The communities start first, so that none misses
// a message. Calling Start twice is a no-op.
func (o *Overlay) Start() {
	o.start.Do(func() {
		o.started = time.Now()
		o.comms.start(o.log)
		o.in.start(o.cfg.Transport, true)
		if o.cfg.Beacon != nil {
			o.in.start(o.cfg.Beacon, false)
		}
		if o.cfg.Alt != nil {
			o.in.start(o.cfg.Alt, false)
		}
		o.wg.Add(1)
		go o.run()
	})
}

// Close stops the overlay, closes its transports and waits for its
// goroutines to end; then it closes the communities, once no handler can run
// any more. It is safe to call more than once.
func (o *Overlay) Close() error {
	var err error
	o.close.Do(func() {
		o.cancel()
		// Closing the socket also ends a write the worker may be blocked
		// in; the worker closes the probe sockets on its way out.
		err = o.cfg.Transport.Close()
		for _, t := range []Transport{o.cfg.Beacon, o.cfg.Alt} {
			if t == nil {
				continue
			}
			if cerr := t.Close(); err == nil {
				err = cerr
			}
		}
		// Without a worker (Start never ran) nobody else closes probe
		// sockets a caller opened through the prober; marking Start as done
		// also keeps a late Start from running on closed transports.
		o.start.Do(o.punch.close)
		o.wg.Wait()
		if cerr := o.comms.close(); err == nil {
			err = cerr
		}
	})
	return err
}

// ID returns the node's peer ID.
func (o *Overlay) ID() proto.ID { return o.cfg.PeerID }

// LAN returns the LAN address the node announces: Config.LAN, or the one
// the latest Moved gave, once the worker took it.
func (o *Overlay) LAN() netip.AddrPort { return o.view.Load().lan }

// Metrics returns the Metrics the overlay reports to (a *Stats unless
// Config.Metrics was set).
func (o *Overlay) Metrics() Metrics { return o.m }

// SetBootstrap replaces the bootstrap addresses (for example after a DNS
// name resolved). If the node has no peers, it contacts them at once. It
// hands the list to the worker and returns without waiting for it.
func (o *Overlay) SetBootstrap(addrs []netip.AddrPort) {
	list := append([]netip.AddrPort(nil), addrs...)
	o.boots.pending.Store(&list)
	o.signal()
}

// signal wakes the worker, without waiting: one pending wake-up is enough.
func (o *Overlay) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// run is the worker: it owns the protocol state, the walk timer and the
// sockets' write side. On its way out it closes the probe sockets, so that
// their readers end.
func (o *Overlay) run() {
	defer o.wg.Done()
	defer o.punch.close()
	now := time.Now()
	o.out.begin(now)
	next := o.tick(now)
	o.finish()
	timer := time.NewTimer(next)
	defer timer.Stop()
	for {
		select {
		case <-o.ctx.Done():
			return
		case p := <-o.in.inbox:
			o.work(p, nil)
		case b := <-o.in.batches:
			o.work(nil, b)
		case <-o.wake:
			o.work(nil, nil)
		case <-timer.C:
			now := time.Now()
			o.awake(now)
			o.out.begin(now)
			next = o.tick(now)
			o.finish()
			timer.Reset(next)
			continue
		}
		if o.rearm { // a port prediction attempt paces its probes on the timer
			o.rearm = false
			timer.Reset(time.Millisecond)
		}
	}
}

// work handles what woke the worker (a packet p, a reader's batch b, or
// neither: a send queue or SetBootstrap), whatever else is queued, and the
// communities' queued datagrams, then publishes and sends it all in one
// batch.
func (o *Overlay) work(p *packet, b *pktBatch) {
	now := time.Now() // one clock per batch: what is queued arrived together
	o.awake(now)
	o.out.begin(now)
	if o.boots.take() && o.table.len() == 0 {
		o.boots.reset() // a SetBootstrap for a node alone: contact it at once
		o.boots.contact(now)
	}
	o.takeMove(now)
	o.takeNAT64(now)
	if p != nil {
		o.handle(p, now)
		o.pool.put(p)
	} else if b != nil {
		o.handleBatch(b, now)
	}
	o.drain(now)
	if o.comms.flush(o.table, o.out, batchLen) {
		o.signal() // more to send: after the packets that wait meanwhile
	}
	o.finish()
}

// drain handles more packets that are already queued, one by one or in a
// reader's batch, about batchLen in all, so that their answers leave in one
// sendmmsg; it never waits for one.
func (o *Overlay) drain(now time.Time) {
	for n := 0; n < batchLen; {
		select {
		case p := <-o.in.inbox:
			o.handle(p, now)
			o.pool.put(p)
			n++
		case b := <-o.in.batches:
			n += len(b.ps)
			o.handleBatch(b, now)
		default:
			return
		}
	}
}

// handleBatch handles a reader's batch and returns it to the reader.
func (o *Overlay) handleBatch(b *pktBatch, now time.Time) {
	for _, p := range b.ps {
		o.handle(p, now)
		o.pool.put(p)
	}
	o.in.recycle(b)
}

// finish ends a batch of the worker's: it retires the sessions of peers
// that left, publishes the view if anything in it changed, then sends the
// batch. In that order: whoever hears our answers and reacts finds itself
// in the view already.
func (o *Overlay) finish() {
	for _, q := range o.table.gone() {
		o.out.unseal(q.addr, q.sess)
		if o.auth.shakes != nil {
			o.auth.shakes.remove(q.sess, q.prev)
		}
	}
	o.publish()
	o.out.end()
}

// natHint is the NAT hint we announce now.
func (o *Overlay) natHint(now time.Time) proto.NATHint {
	return o.punch.hint(o.disc.votedHint(o.votes.first), o.disc.natType(o.votes.first), o.table.len(), now)
}
