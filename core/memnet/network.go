package memnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// DefaultQueueLen is the per-conn receive queue length used when
// [Config.QueueLen] is zero.
const DefaultQueueLen = 256

// ErrAddrInUse is returned (wrapped) by [Host.Listen] when the port is taken.
var ErrAddrInUse = errors.New("memnet: address already in use")

// ErrInvalidAddr is returned (wrapped) by [Conn.WriteTo] for a destination
// that is not a valid unicast address with a non-zero port.
var ErrInvalidAddr = errors.New("memnet: invalid destination address")

// Config configures a [Network]. The zero value is a perfect network:
// no latency, no loss.
type Config struct {
	// Latency is the one-way delay of a datagram crossing the internet,
	// between any two endpoints (public hosts or NATs). Datagrams that stay
	// in a private realm (LAN or hairpin) take a tenth of it. Default 0:
	// the datagram is queued at the receiver before WriteTo returns.
	Latency time.Duration
	// Jitter adds a uniform random delay in [0, Jitter) to each datagram
	// (a tenth of it on a LAN). Jitter may reorder datagrams. Default 0.
	Jitter time.Duration
	// Loss is the probability, from 0 to 1, that a datagram is dropped.
	// It is applied once per datagram, on every path. Default 0.
	Loss float64
	// Seed seeds the generator used for loss, jitter and port allocation.
	// The same Seed and the same sequence of calls give the same outcome.
	Seed uint64
	// QueueLen is the receive queue of each conn, in datagrams. A datagram
	// arriving at a full queue is dropped. Memory for the queue grows with
	// the datagrams waiting in it, not with QueueLen. Default
	// [DefaultQueueLen].
	QueueLen int
}

// Stats counts datagrams. Every datagram accepted by [Conn.WriteTo] is
// counted in Sent and, at any time, in exactly one of the other fields:
// Sent == Delivered + Lost + QueueDrops + NATDrops + NoRoute + InFlight.
type Stats struct {
	Sent       uint64 // accepted by WriteTo
	Delivered  uint64 // put in the destination conn's receive queue
	Lost       uint64 // dropped by random loss (Config.Loss)
	QueueDrops uint64 // dropped because the destination queue was full
	NATDrops   uint64 // dropped by a NAT: filtered, no live mapping, no hairpin, ports exhausted
	NoRoute    uint64 // no conn at the destination, or still in flight when the Network closed
	InFlight   uint64 // scheduled for delivery, not yet arrived
}

// A Network is an in-memory internet of hosts and NAT routers. Its methods
// are safe for concurrent use. Create it with [New].
type Network struct {
	cfg   Config
	epoch time.Time // origin of the NAT tables' clock (see NAT.since)

	mu     sync.Mutex // guards everything below, and all hosts, NATs and conns
	closed bool
	rng    *rand.Rand
	inet   *realm              // the public realm
	nats   map[netip.Addr]*NAT // by public IP
	nat64s []*NAT              // the NATs that are NAT64s (NATConfig.NAT64)
	realms []*realm            // all realms, for Close
	stats  Stats               // InFlight is len(sched.q)
	sched  scheduler           // pending deliveries
}

// realm is an address space: the internet, or the inside of one NAT.
type realm struct {
	nat   *NAT // nil for the internet
	hosts map[netip.Addr]*Host
	conns map[netip.AddrPort]*Conn
	peak  int // largest len(conns) since conns was last rebuilt
}

func newRealm(nat *NAT) *realm {
	return &realm{nat: nat, hosts: map[netip.Addr]*Host{}, conns: map[netip.AddrPort]*Conn{}}
}

// bind adds c to r's conns. n.mu must be held.
func (r *realm) bind(c *Conn) {
	r.conns[c.addr] = c
	r.peak = max(r.peak, len(r.conns))
}

// unbind removes c from r's conns. Once a burst of conns (such as port
// prediction's probe sockets) is mostly closed, it copies the rest into a
// new map, since Go maps keep their largest size. n.mu must be held.
func (r *realm) unbind(c *Conn) {
	if r.conns[c.addr] != c {
		return
	}
	delete(r.conns, c.addr)
	if r.peak > minSweep && len(r.conns) <= r.peak/4 {
		conns := make(map[netip.AddrPort]*Conn, len(r.conns))
		for a, c := range r.conns {
			conns[a] = c
		}
		r.conns, r.peak = conns, len(conns)
	}
}

// New returns an empty network configured by cfg (see [Config] for defaults).
func New(cfg Config) *Network {
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = DefaultQueueLen
	}
	n := &Network{
		cfg:   cfg,
		epoch: time.Now(),
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		nats:  map[netip.Addr]*NAT{},
	}
	n.inet = newRealm(nil)
	n.realms = []*realm{n.inet}
	return n
}

// Host returns the public host with the given IP, creating it if needed.
// It panics if ip is invalid or is the public IP of a NAT.
func (n *Network) Host(ip netip.Addr) *Host {
	ip = ip.Unmap()
	n.mu.Lock()
	defer n.mu.Unlock()
	if !ip.IsValid() {
		panic("memnet: Host: invalid IP")
	}
	if _, ok := n.nats[ip]; ok {
		panic(fmt.Sprintf("memnet: Host: %v is the public IP of a NAT", ip))
	}
	return n.inet.host(n, ip)
}

// host returns the host ip of r, creating it. n.mu must be held.
func (r *realm) host(n *Network, ip netip.Addr) *Host {
	if h, ok := r.hosts[ip]; ok {
		return h
	}
	h := &Host{net: n, realm: r, ip: ip}
	r.hosts[ip] = h
	return h
}

// NAT creates a NAT router with the public IP cfg.PublicIP. A zero
// cfg.Timeout means 30s. It panics if the IP is invalid or already used by a
// public host or another NAT.
func (n *Network) NAT(cfg NATConfig) *NAT {
	cfg.PublicIP = cfg.PublicIP.Unmap()
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultNATTimeout
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ip := cfg.PublicIP
	if !ip.IsValid() {
		panic("memnet: NAT: invalid public IP")
	}
	if p := cfg.NAT64; p.IsValid() && (!p.Addr().Is6() || p.Bits() != 96) {
		panic(fmt.Sprintf("memnet: NAT: NAT64 prefix %v is not an IPv6 /96", p))
	}
	if _, ok := n.inet.hosts[ip]; ok {
		panic(fmt.Sprintf("memnet: NAT: %v is already a public host", ip))
	}
	if _, ok := n.nats[ip]; ok {
		panic(fmt.Sprintf("memnet: NAT: %v is already a NAT", ip))
	}
	nat := newNAT(n, cfg)
	n.nats[ip] = nat
	if cfg.NAT64.IsValid() {
		n.nat64s = append(n.nat64s, nat)
	}
	n.realms = append(n.realms, nat.realm)
	return nat
}

// Stats returns a snapshot of the network's counters.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.stats
	s.InFlight = uint64(n.sched.len())
	return s
}

// Close closes every conn (unblocking their readers), discards the
// datagrams in flight (counted as NoRoute) and stops the delivery timer.
// Listen fails on a closed network. Close is idempotent and returns nil.
func (n *Network) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	n.stats.NoRoute += uint64(n.sched.stop())
	for _, r := range n.realms {
		// closeLocked may replace r.conns with a smaller copy (see
		// unbind); ranging over the old map still visits each conn once.
		for _, c := range r.conns {
			c.closeLocked()
		}
	}
	return nil
}
