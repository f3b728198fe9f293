package core

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// Config configures an Overlay. Start from DefaultConfig (internet) or
// DefaultLocalConfig (loopback and tests), then set PeerID and Transport.
type Config struct {
	// Key is this node's Ed25519 identity (LoadOrCreateIdentity); the peer
	// ID derives from it. With a key the node proves it to its peers in a
	// handshake, seals what it sends them, and takes a key-derived peer ID
	// only from a peer that proved the key. Without one it runs as a node of
	// the previous release did (random PeerID, nothing proven, nothing
	// sealed): for tests of mixed networks. Default none.
	Key ed25519.PrivateKey
	// PeerID is this node's peer ID: derived from Key when Key is set (a
	// PeerID that differs is an error); required without a Key.
	PeerID proto.ID
	// Transport carries the node's datagrams. Required; the Overlay closes
	// it on Close.
	Transport Transport
	// Beacon, if set, is a second transport (a LAN multicast listener) whose
	// datagrams are handled like those of Transport. Default nil. Closed on
	// Close.
	Beacon Transport
	// BeaconAddr is where LAN discovery beacons are sent. Default
	// 239.255.18.73:1873 in DefaultConfig; the zero value disables beacons.
	BeaconAddr netip.AddrPort
	// Alt, if set, is a second socket on the node's own IP, at any port
	// (cmd/node opens one). While the node looks public (its votes say so,
	// or say nothing yet and its LAN address is a public one), its intro
	// responses name this port (body key 17), and an intro request that
	// arrives there is answered from there with the address it came from
	// (never more bytes than it had), so that a host whose only public
	// contact is this node can tell a symmetric NAT from a cone (RFC 5780's
	// behaviour discovery; discover.go). Nothing else is accepted there.
	// Default nil. Closed on Close.
	Alt Transport
	// BeaconInterval is how often a beacon goes out while the node knows
	// fewer than TargetPeers peers. Default 5s.
	BeaconInterval time.Duration
	// LAN is our address on our own network, told to peers so that peers
	// behind the same NAT can use it. Default: Transport.LocalAddr(). Its
	// family is the node's first: IPv4, or IPv6 on an IPv6-only node.
	LAN netip.AddrPort
	// LAN6 is the IPv6 address of a dual-stack node (LAN is its IPv4
	// one): the node then votes on its IPv6 WAN address and NAT apart from
	// its IPv4 ones, and /status shows both. Default none (an IPv4-only
	// node; ignored on an IPv6-only one).
	LAN6 netip.AddrPort
	// NAT64 is the prefix through which an IPv6-only node reaches IPv4
	// addresses (its network's NAT64: RFC 6052's 64:ff9b::/96, or a
	// network-specific one, as RFC 7050 discovers it); see
	// Overlay.SetNAT64, which changes it as the node moves. Only an
	// IPv6-only node (LAN an IPv6 address) uses it. Default none.
	NAT64 netip.Prefix
	// Quiet makes the node say in its requests that it pays for every
	// packet (MobileConfig sets it): its peers walk to it only when they
	// have nobody else to walk to; it introduces others only to a
	// requester that asks for more peers; and it answers a peer's
	// keep-alive only when it has not sent that peer anything for
	// quietAnswer (40 s), which still keeps it within the peer's
	// PeerTimeout. Default false.
	Quiet bool
	// Bootstrap lists the addresses to introduce ourselves to at start and
	// whenever the peer table is empty. Default none. See Overlay.SetBootstrap.
	Bootstrap []netip.AddrPort
	// Communities are the communities this node serves: announced (by ID)
	// in every introduction, each with its own queue and goroutine. The
	// Overlay starts them in Start and closes them in Close. Default none.
	Communities []community.Community
	// CommunityQueueLen bounds each community's inbound queue, in messages.
	// Default 256.
	CommunityQueueLen int
	// SendQueueLen bounds each community's outbound queue, in messages:
	// what Env.Send has queued and the worker has not written yet. A full
	// queue makes Send fail with community.ErrBusy. Default 256.
	SendQueueLen int
	// SendRate and SendByteRate bound what each community may send, in
	// datagrams and in bytes of body per second (bursts of twice that):
	// a community (a plugin, say) that floods a member is cut off at the
	// node, counted as send_rate_limited, and Send says ErrBusy. math.Inf(1)
	// lifts a limit. Defaults 500/s and 256 KiB/s: chat's sync answers and
	// the game stay far below.
	SendRate, SendByteRate float64

	// TargetPeers: below this many verified peers the node walks every
	// WalkFast, otherwise every WalkInterval. Default 8.
	TargetPeers int
	// MaxPeers bounds the verified peer table. Default 256.
	MaxPeers int
	// MaxCandidates bounds introduced-but-unverified peers. Default 64.
	MaxCandidates int
	// PrefixPeers caps the verified peers of one IPv4 /24 or IPv6 /48, so
	// that an attacker with many addresses in few networks cannot fill the
	// table (docs/security.md). Addresses of the LAN (private, loopback,
	// link-local) are not capped. Default 16; -1 for no cap (a lab that
	// puts every public address in one /24).
	PrefixPeers int
	// WalkFast is the walk interval while the table is small. Default 500ms.
	WalkFast time.Duration
	// WalkInterval is the walk interval once TargetPeers are known. Default 5s.
	WalkInterval time.Duration
	// KeepAlive: every verified peer hears from us at least this often, so
	// that NAT mappings (which die at about 30 s) stay open. Default 20s.
	KeepAlive time.Duration
	// PeerTimeout: a peer not heard from for this long is dropped. Default 60s.
	PeerTimeout time.Duration
	// RequestTimeout: an introduction request not answered within this is
	// forgotten, and a late answer is dropped as unsolicited. Default 5s.
	RequestTimeout time.Duration
	// InviteeTTL: a puncture is accepted from an invitee this long after the
	// introduction that named it. Default 30s.
	InviteeTTL time.Duration
	// BootstrapBackoffMin and BootstrapBackoffMax bound the retry interval
	// toward bootstrap addresses while the table is empty; it doubles from
	// min to max. Defaults 1s and 30s.
	BootstrapBackoffMin, BootstrapBackoffMax time.Duration
	// TokenBucket is the time bucket of return-routability tokens; a token
	// is valid for one to two buckets. Default 30s.
	TokenBucket time.Duration
	// VoteWindow is how many distinct recent observers vote on our WAN
	// address. Default 3.
	VoteWindow int
	// VoteHold is how long a new majority must last before it replaces a
	// WAN address we already have (the first one needs no wait). Liars who
	// are now and then two of the last three observers never last that
	// long; a real move does. Default 10s.
	VoteHold time.Duration
	// MinRequestSize pads introduction requests that carry no token to this
	// many bytes, so that the answer to an unverified requester, which may
	// never be larger than what it sent, still fits. Default 128 bytes.
	MinRequestSize int
	// QueueLen bounds the worker's inbound queue, in packets. Default 256:
	// the worker handles a packet in about 1 µs, and the buffer is allocated
	// up front for every node (100,000 nodes share one simulation). A
	// transport that reads in batches (UDP on Linux) hands the worker whole
	// batches, QueueLen packets' worth, besides that queue.
	QueueLen int
	// SourceRate and SourceBurst bound the packets per second accepted from
	// one source IP. Defaults 100/s and 200.
	SourceRate  float64
	SourceBurst int
	// PunctureRate bounds the puncture requests per second honoured for one
	// introducer (burst twice that). Default 10/s.
	PunctureRate float64

	// ListenProbe opens one more socket on the node's own address, for port
	// prediction from behind a symmetric NAT: the hard side of an attempt
	// opens up to ProbeSockets of them, and keeps the one that got through
	// for as long as that peer stays. Default nil: this node never opens
	// probe sockets (it still probes toward symmetric peers when its own
	// NAT is easy). cmd/node sets it.
	ListenProbe func() (Transport, error)
	// ProbeSockets is how many sockets the hard side opens when its NAT
	// picks random ports (a sequential NAT needs 32). Default 256.
	ProbeSockets int
	// ProbePackets caps the probes the easy side sends in one attempt.
	// Default 512.
	ProbePackets int
	// ProbeRate is the easy side's probes per second. Default 500/s.
	ProbeRate float64
	// ProbeTime ends an attempt that has not got through. Default 3s.
	ProbeTime time.Duration
	// MaxProbeRoutes bounds the probe sockets kept for peers reached
	// through them. Default 16.
	MaxProbeRoutes int
	// NoPortPrediction turns port prediction off on both sides. Default
	// false (on).
	NoPortPrediction bool
	// NoSeed turns off the seed protocol (seed.go): the 2016 app's bencoded
	// datagrams on our socket, which an IPv4 node otherwise speaks with the
	// app's nodes so that both walk one network. Default false (on).
	NoSeed bool

	// OnSendError, if set, is called (on the worker, at most once a second;
	// it must not block) when the kernel refuses a datagram: a phone that
	// lost its network sees that first. cmd/node checks its route then
	// rather than at its next one-second check. Default nil.
	OnSendError func()

	// Logger receives the overlay's logs. Default: discard.
	Logger *slog.Logger
	// Metrics receives counters and gauges. Default: a fresh *Stats.
	Metrics Metrics
}

// DefaultConfig returns the configuration for a node on the internet: the
// seed's 5 s walk once the table is healthy, 500 ms while it is not.
func DefaultConfig() Config {
	return Config{
		BeaconAddr:          netip.MustParseAddrPort("239.255.18.73:1873"),
		BeaconInterval:      5 * time.Second,
		TargetPeers:         8,
		MaxPeers:            256,
		MaxCandidates:       64,
		PrefixPeers:         16,
		WalkFast:            500 * time.Millisecond,
		WalkInterval:        5 * time.Second,
		KeepAlive:           20 * time.Second,
		PeerTimeout:         60 * time.Second,
		RequestTimeout:      5 * time.Second,
		InviteeTTL:          30 * time.Second,
		BootstrapBackoffMin: time.Second,
		BootstrapBackoffMax: 30 * time.Second,
		TokenBucket:         30 * time.Second,
		VoteWindow:          3,
		VoteHold:            10 * time.Second,
		MinRequestSize:      128,
		QueueLen:            256,
		CommunityQueueLen:   256,
		SendQueueLen:        256,
		SendRate:            500,
		SendByteRate:        256 << 10,
		SourceRate:          100,
		SourceBurst:         200,
		PunctureRate:        10,
		ProbeSockets:        256,
		ProbePackets:        512,
		ProbeRate:           500,
		ProbeTime:           3 * time.Second,
		MaxProbeRoutes:      16,
	}
}

// DefaultLocalConfig returns a configuration for loopback networks and tests:
// no LAN beacons, and quicker request timeouts and bootstrap retries, since
// round trips are microseconds.
func DefaultLocalConfig() Config {
	c := DefaultConfig()
	c.BeaconAddr = netip.AddrPort{}
	c.RequestTimeout = time.Second
	c.BootstrapBackoffMin = 250 * time.Millisecond
	c.BootstrapBackoffMax = 5 * time.Second
	return c
}

// withDefaults fills zero fields from DefaultConfig and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Key != nil {
		if len(c.Key) != ed25519.PrivateKeySize {
			return c, errors.New("walkie: Config.Key is not an Ed25519 private key")
		}
		id := IdentityFromKey(c.Key).ID
		if !c.PeerID.IsZero() && c.PeerID != id {
			return c, fmt.Errorf("walkie: Config.PeerID %v is not the ID of Config.Key (%v)", c.PeerID, id)
		}
		c.PeerID = id
	}
	if c.PeerID.IsZero() {
		return c, errors.New("walkie: Config.Key or Config.PeerID is required")
	}
	if c.Transport == nil {
		return c, errors.New("walkie: Config.Transport is required")
	}
	d := DefaultConfig()
	setDur := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	setInt := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	setDur(&c.BeaconInterval, d.BeaconInterval)
	setDur(&c.WalkFast, d.WalkFast)
	setDur(&c.WalkInterval, d.WalkInterval)
	setDur(&c.KeepAlive, d.KeepAlive)
	setDur(&c.PeerTimeout, d.PeerTimeout)
	setDur(&c.RequestTimeout, d.RequestTimeout)
	setDur(&c.InviteeTTL, d.InviteeTTL)
	setDur(&c.BootstrapBackoffMin, d.BootstrapBackoffMin)
	setDur(&c.BootstrapBackoffMax, d.BootstrapBackoffMax)
	setDur(&c.TokenBucket, d.TokenBucket)
	setDur(&c.VoteHold, d.VoteHold)
	setInt(&c.TargetPeers, d.TargetPeers)
	setInt(&c.MaxPeers, d.MaxPeers)
	setInt(&c.MaxCandidates, d.MaxCandidates)
	if c.PrefixPeers == 0 {
		c.PrefixPeers = d.PrefixPeers
	}
	setInt(&c.VoteWindow, d.VoteWindow)
	setInt(&c.MinRequestSize, d.MinRequestSize)
	setInt(&c.QueueLen, d.QueueLen)
	setInt(&c.CommunityQueueLen, d.CommunityQueueLen)
	setInt(&c.SendQueueLen, d.SendQueueLen)
	setInt(&c.SourceBurst, d.SourceBurst)
	setInt(&c.ProbeSockets, d.ProbeSockets)
	setInt(&c.ProbePackets, d.ProbePackets)
	setInt(&c.MaxProbeRoutes, d.MaxProbeRoutes)
	setDur(&c.ProbeTime, d.ProbeTime)
	if c.ProbeRate <= 0 {
		c.ProbeRate = d.ProbeRate
	}
	if c.SourceRate <= 0 {
		c.SourceRate = d.SourceRate
	}
	if c.SendRate <= 0 {
		c.SendRate = d.SendRate
	}
	if c.SendByteRate <= 0 {
		c.SendByteRate = d.SendByteRate
	}
	if c.PunctureRate <= 0 {
		c.PunctureRate = d.PunctureRate
	}
	if c.NAT64.IsValid() {
		if err := ValidNAT64(c.NAT64); err != nil {
			return c, fmt.Errorf("walkie: Config.NAT64 %v: %w", c.NAT64, err)
		}
	}
	if len(c.Communities) > proto.MaxCommunities {
		return c, fmt.Errorf("walkie: %d communities, at most %d", len(c.Communities), proto.MaxCommunities)
	}
	if c.MinRequestSize > proto.MaxDatagram {
		c.MinRequestSize = proto.MaxDatagram
	}
	if c.BootstrapBackoffMax < c.BootstrapBackoffMin {
		c.BootstrapBackoffMax = c.BootstrapBackoffMin
	}
	if !c.LAN.IsValid() {
		c.LAN = c.Transport.LocalAddr()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = NewStats()
	}
	return c, nil
}
