package core

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
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
}

// Overlay is one walkie node: it walks, punctures, votes and keeps the peer
// table. Create it with New, start it with Start, stop it with Close.
//
// Concurrency: one reader goroutine per transport and one worker goroutine.
// All protocol state is guarded by mu, which the worker holds while it
// handles a packet or a tick; Status and SetBootstrap take it briefly.
type Overlay struct {
	cfg   Config
	log   *slog.Logger
	m     Metrics
	pool  bufPool
	inbox chan *packet
	// batches carries whole ReadBatches of core packets from the main
	// socket's reader (handoff.go); free returns them. Nil when the
	// transport does not read in batches.
	batches, free chan *pktBatch

	runners []*runner            // the communities, in Config order
	ids     []proto.ID           // their IDs, as announced
	byCID   map[proto.ID]*runner // by community ID; read-only after New
	cwg     sync.WaitGroup       // community goroutines

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  sync.Once
	close  sync.Once

	mu         sync.Mutex
	table      *peerTable
	votes      *voter
	tok        *tokens
	out        map[uint64]outstanding
	bootstrap  []netip.AddrPort
	backoff    time.Duration
	nextBoot   time.Time
	nextBeacon time.Time
	nextWalk   time.Time
	started    time.Time
	firstPeer  time.Duration // 0 until the first verified peer
	sendBuf    []byte
	batch      outBatch // the worker's datagrams waiting for one BatchWriter call
	punch      prober   // port prediction toward and from symmetric NATs
	rearm      bool     // the worker must recompute its timer: an attempt started
	s          scratch
	sent       uint64    // datagrams sent since start
	rateMark   time.Time // start of the current minute of the sent-rate window
	rateSent   uint64    // sent at rateMark
	sentPerMin uint64    // datagrams sent in the last full minute
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
		cfg:       cfg,
		log:       cfg.Logger,
		m:         cfg.Metrics,
		inbox:     make(chan *packet, cfg.QueueLen),
		ctx:       ctx,
		cancel:    cancel,
		table:     newPeerTable(cfg.MaxPeers, cfg.MaxCandidates),
		votes:     newVoter(cfg.VoteWindow, cfg.LAN, cfg.VoteHold),
		tok:       newTokens(cfg.TokenBucket),
		out:       map[uint64]outstanding{},
		bootstrap: append([]netip.AddrPort(nil), cfg.Bootstrap...),
		backoff:   cfg.BootstrapBackoffMin,
		sendBuf:   make([]byte, 0, proto.MaxDatagram),
		batch:     newOutBatch(cfg.Transport),
		punch:     newProber(),
	}
	o.table.live = cfg.KeepAlive
	if _, ok := cfg.Transport.(BatchReader); ok {
		o.newHandoff() // before any goroutine reads o.batches
	}
	if o.runners, o.byCID, err = newRunners(o, cfg.Communities, cfg.CommunityQueueLen); err != nil {
		cancel()
		return nil, err
	}
	for _, r := range o.runners {
		o.ids = append(o.ids, r.id)
	}
	return o, nil
}

// Start launches the reader and worker goroutines and sends the first
// introduction request to every bootstrap address at once (the seed waited
// for its first 5 s tick). The communities start first, so that none misses
// a message. Calling Start twice is a no-op.
func (o *Overlay) Start() {
	o.start.Do(func() {
		o.mu.Lock()
		o.started = time.Now()
		o.mu.Unlock()
		o.startCommunities()
		o.wg.Add(2)
		go o.readMain()
		go o.run()
		if o.cfg.Beacon != nil {
			o.wg.Add(1)
			go o.read(o.cfg.Beacon)
		}
	})
}

// Close stops the overlay, closes its transports and waits for its
// goroutines to end; then it closes the communities, once no handler can run
// any more. It is safe to call more than once.
func (o *Overlay) Close() error {
	var err error
	o.close.Do(func() {
		o.cancel()
		o.mu.Lock()
		o.closeProbes() // their readers end; no new ones open once ctx is done
		o.mu.Unlock()
		err = o.cfg.Transport.Close()
		if o.cfg.Beacon != nil {
			if berr := o.cfg.Beacon.Close(); err == nil {
				err = berr
			}
		}
		o.wg.Wait()
		if cerr := o.closeCommunities(); err == nil {
			err = cerr
		}
	})
	return err
}

// ID returns the node's peer ID.
func (o *Overlay) ID() proto.ID { return o.cfg.PeerID }

// LAN returns the LAN address the node announces.
func (o *Overlay) LAN() netip.AddrPort { return o.cfg.LAN }

// SetBootstrap replaces the bootstrap addresses (for example after a DNS
// name resolved). If the node has no peers, it contacts them at once.
func (o *Overlay) SetBootstrap(addrs []netip.AddrPort) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bootstrap = append(o.bootstrap[:0:0], addrs...)
	if o.table.len() == 0 && !o.started.IsZero() {
		o.backoff = o.cfg.BootstrapBackoffMin
		o.nextBoot = time.Time{}
		o.contactBootstrap(time.Now())
	}
}

// run is the worker: it owns the protocol state and the walk timer.
func (o *Overlay) run() {
	defer o.wg.Done()
	o.mu.Lock()
	o.begin()
	next := o.tick(time.Now())
	o.end()
	o.mu.Unlock()
	timer := time.NewTimer(next)
	defer timer.Stop()
	for {
		select {
		case <-o.ctx.Done():
			return
		case p := <-o.inbox:
			if o.work(p, nil) { // a port prediction attempt paces its probes on the timer
				timer.Reset(time.Millisecond)
			}
		case b := <-o.batches:
			if o.work(nil, b) {
				timer.Reset(time.Millisecond)
			}
		case <-timer.C:
			o.mu.Lock()
			o.begin()
			next = o.tick(time.Now())
			o.end()
			o.reportMembers()
			o.mu.Unlock()
			timer.Reset(next)
		}
	}
}

// drain handles more packets that are already queued, one by one or in a
// reader's batch, about batchLen in all, so that their answers leave in one
// sendmmsg; it never waits for one. mu must be held.
func (o *Overlay) drain(now time.Time) {
	for n := 0; n < batchLen; {
		select {
		case p := <-o.inbox:
			o.handle(p, now)
			o.pool.put(p)
			n++
		case b := <-o.batches:
			n += len(b.ps)
			o.handleBatch(b, now)
		default:
			return
		}
	}
}

// work handles what woke the worker, a packet p or a reader's batch b, and
// whatever else is queued, sends the answers in one batch and releases mu.
// It reports whether the worker must recompute its timer (a port prediction
// attempt started).
func (o *Overlay) work(p *packet, b *pktBatch) bool {
	o.mu.Lock()
	o.begin()
	now := time.Now() // one clock per batch: what is queued arrived together
	if p != nil {
		o.handle(p, now)
		o.pool.put(p)
	} else {
		o.handleBatch(b, now)
	}
	o.drain(now)
	o.end()
	rearm := o.rearm
	o.rearm = false
	o.mu.Unlock()
	return rearm
}

// walkInterval is the time to the next walk: fast while the table is small,
// with ±10% jitter so that nodes started together do not walk in lockstep.
func (o *Overlay) walkInterval() time.Duration {
	d := o.cfg.WalkInterval
	if o.table.len() < o.cfg.TargetPeers {
		d = o.cfg.WalkFast
	}
	return d - d/10 + rand.N(d/5+1)
}

// send encodes and writes one message, padded to padTo bytes, and counts it
// in c once it has gone (see write). With limit > 0 a message longer than
// limit is not sent but dropped as an amplification. It reports whether the
// message went out (inside the worker's batch: was queued; flush logs a later
// failure).
func (o *Overlay) send(to netip.AddrPort, m proto.Message, padTo, limit int, c Counter) bool {
	pkt, err := proto.Encode(o.sendBuf[:0], proto.Header{
		Community: proto.CoreCommunity(),
		Sender:    o.cfg.PeerID,
		Dest:      to,
	}, m)
	if err != nil {
		o.log.Error("encoding failed", "type", m.Type(), "err", err)
		return false
	}
	pkt = proto.Pad(pkt, padTo)
	if limit > 0 && len(pkt) > limit {
		o.m.Drop(DropAmplification)
		return false
	}
	if err := o.write(pkt, to, c); err != nil {
		o.log.Debug("send failed", "to", to, "type", m.Type(), "err", err)
		return false
	}
	return true
}

// pick chooses how to reach a peer: its LAN address when it sits behind our
// own public IP (most NATs do not hairpin), else its WAN address.
func (o *Overlay) pick(lan, wan netip.AddrPort) netip.AddrPort {
	if !wan.IsValid() {
		return lan
	}
	if lan.IsValid() && o.votes.ip.IsValid() && wan.Addr() == o.votes.ip {
		return lan
	}
	return wan
}

// communityIDs lists the communities we announce: computed once in New,
// since they never change, and only read (encoders copy it onto the wire),
// so every request and response can share it without allocating.
func (o *Overlay) communityIDs() []proto.ID { return o.ids }

// Metrics returns the Metrics the overlay reports to (a *Stats unless
// Config.Metrics was set).
func (o *Overlay) Metrics() Metrics { return o.m }
