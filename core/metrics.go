package core

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// Counter names one of the core's monotonic counters.
type Counter uint8

// The core counters. Their Prometheus names (Counter.Name) are a contract.
const (
	IntroRequestsSent Counter = iota
	IntroRequestsReceived
	IntroResponsesSent
	IntroResponsesReceived
	PunctureRequestsSent
	PunctureRequestsReceived
	PuncturesSent
	PuncturesReceived
	WANAddressChanges
	// Port prediction (docs/nat-traversal.md): attempts started, attempts
	// that reached the peer, and the probe datagrams they cost.
	PortPredictionAttempts
	PortPredictionSuccesses
	PortProbesSent
	// Handshakes (docs/protocol.md): started by us as the initiator, and
	// completed on our side (either role): a peer proved its key.
	HandshakesStarted
	HandshakesCompleted
	// The seed protocol (seed.go): datagrams of the 2016 app's protocol
	// taken (decoded, rate limited like any) and sent.
	SeedMessagesReceived
	SeedMessagesSent
	numCounters
)

// Name is the counter's Prometheus series name.
func (c Counter) Name() string {
	switch c {
	case IntroRequestsSent:
		return "walkie_introduction_requests_sent_total"
	case IntroRequestsReceived:
		return "walkie_introduction_requests_received_total"
	case IntroResponsesSent:
		return "walkie_introduction_responses_sent_total"
	case IntroResponsesReceived:
		return "walkie_introduction_responses_received_total"
	case PunctureRequestsSent:
		return "walkie_puncture_requests_sent_total"
	case PunctureRequestsReceived:
		return "walkie_puncture_requests_received_total"
	case PuncturesSent:
		return "walkie_punctures_sent_total"
	case PuncturesReceived:
		return "walkie_punctures_received_total"
	case WANAddressChanges:
		return "walkie_wan_address_changes_total"
	case PortPredictionAttempts:
		return "walkie_port_prediction_attempts_total"
	case PortPredictionSuccesses:
		return "walkie_port_prediction_successes_total"
	case PortProbesSent:
		return "walkie_port_probes_sent_total"
	case HandshakesStarted:
		return "walkie_handshakes_started_total"
	case HandshakesCompleted:
		return "walkie_handshakes_completed_total"
	case SeedMessagesReceived:
		return "walkie_seed_messages_received_total"
	case SeedMessagesSent:
		return "walkie_seed_messages_sent_total"
	}
	return "walkie_unknown_total"
}

// Counters lists every Counter, for exporters that pre-initialise series.
func Counters() []Counter {
	cs := make([]Counter, numCounters)
	for i := range cs {
		cs[i] = Counter(i)
	}
	return cs
}

// DropReason says why a packet was dropped: a received one, or (send_busy) one
// a community asked to send. The set is fixed, so a
// metrics label built from it stays bounded.
type DropReason uint8

// The drop reasons.
const (
	DropShort              DropReason = iota // shorter than a header
	DropBadMagic                             // not a walkie packet
	DropBadVersion                           // a protocol version we do not speak
	DropBadAddress                           // header or body address malformed
	DropTooLarge                             // over proto.MaxDatagram
	DropBadBody                              // msgpack body malformed
	DropLimit                                // a count or length over its maximum
	DropQueueFull                            // the worker's queue was full
	DropRateLimited                          // the source exceeded its packet rate
	DropUnknownCommunity                     // no community with that ID here
	DropUnknownType                          // a type the community does not define
	DropUnsolicited                          // a response to no outstanding request
	DropUnexpectedPuncture                   // a puncture from nobody we were introduced to
	DropUnverified                           // needs a verified sender, came from an unverified one
	DropAmplification                        // an answer would exceed what an unverified sender sent
	DropSelf                                 // our own packet (multicast loopback)
	DropSendBusy                             // outbound: a community's send queue was full (Env.Send said ErrBusy)
	DropSendRateLimited                      // outbound: a community sent over its rate (Env.Send said ErrBusy)
	DropNoSession                            // sealed for a session we do not have (unknown index)
	DropBadSeal                              // sealed, but did not open (tampered, wrong key), or opened to another sender
	DropReplay                               // sealed, opened, but its counter was seen before (or is too old)
	DropHandshake                            // a handshake message that did not fit a handshake, or did not prove the claimed key
	DropUnauthenticated                      // claims a key-derived ID without having proved the key, or needs an authenticated member
	DropNoRoute                              // outbound: to an IP family the node has no route to (an IPv6-only node without NAT64, say)
	DropSeedMalformed                        // a seed protocol datagram (first byte 'd') that did not decode, or a seed message we cannot use
	numDropReasons
)

// String is the reason's metrics label.
func (r DropReason) String() string {
	switch r {
	case DropShort:
		return "short"
	case DropBadMagic:
		return "bad_magic"
	case DropBadVersion:
		return "bad_version"
	case DropBadAddress:
		return "bad_address"
	case DropTooLarge:
		return "too_large"
	case DropBadBody:
		return "bad_body"
	case DropLimit:
		return "limit"
	case DropQueueFull:
		return "queue_full"
	case DropRateLimited:
		return "rate_limited"
	case DropUnknownCommunity:
		return "unknown_community"
	case DropUnknownType:
		return "unknown_type"
	case DropUnsolicited:
		return "unsolicited"
	case DropUnexpectedPuncture:
		return "unexpected_puncture"
	case DropUnverified:
		return "unverified"
	case DropAmplification:
		return "amplification"
	case DropSelf:
		return "self"
	case DropSendBusy:
		return "send_busy"
	case DropSendRateLimited:
		return "send_rate_limited"
	case DropNoSession:
		return "no_session"
	case DropBadSeal:
		return "bad_seal"
	case DropReplay:
		return "replay"
	case DropHandshake:
		return "handshake"
	case DropUnauthenticated:
		return "unauthenticated"
	case DropNoRoute:
		return "no_route"
	case DropSeedMalformed:
		return "seed_malformed"
	}
	return "unknown"
}

// DropReasons lists every DropReason, for exporters that pre-initialise labels.
func DropReasons() []DropReason {
	rs := make([]DropReason, numDropReasons)
	for i := range rs {
		rs[i] = DropReason(i)
	}
	return rs
}

// Metrics receives what the overlay counts. Implementations must be safe for
// concurrent use and cheap: Add and Drop sit on the packet path.
// core/prommetrics implements it for Prometheus; Stats in memory.
type Metrics interface {
	Add(c Counter, n uint64)
	Drop(r DropReason)
	// Peers reports the peer table's size: verified peers and unverified
	// candidates.
	Peers(verified, candidates int)
	// WAN reports a new WAN address (invalid when unknown) and NAT type of
	// one IP family: each family has its own vote.
	WAN(f Family, addr netip.AddrPort, nat NATType)
	// FirstPeer reports the time from start to the first verified peer.
	FirstPeer(d time.Duration)
	// IntroRTT reports one introduction request/response round trip.
	IntroRTT(d time.Duration)
	// Puncture reports how an introduction to an invitee ended: success
	// when the invitee became a verified peer within InviteeTTL, failure
	// when the TTL ran out first.
	Puncture(success bool)
	// CommunityMessage counts one message of a community (by name, a
	// bounded set: the communities this node runs) received or sent.
	CommunityMessage(community string, typ uint8, d Direction)
	// Members reports how many verified peers announce a community.
	Members(community string, n int)
}

// Direction says whether a community message came in or went out.
type Direction uint8

// The directions, as metrics labels "in" and "out".
const (
	Inbound Direction = iota
	Outbound
)

// String is the direction's metrics label.
func (d Direction) String() string {
	if d == Outbound {
		return "out"
	}
	return "in"
}

// Stats is a Metrics that keeps everything in memory with atomics. It is the
// default when Config.Metrics is nil, and what tests read.
type Stats struct {
	counters  [numCounters]atomic.Uint64
	drops     [numDropReasons]atomic.Uint64
	punctures [2]atomic.Uint64 // failed, succeeded
}

// NewStats returns zeroed Stats.
func NewStats() *Stats { return &Stats{} }

// Add implements Metrics.
func (s *Stats) Add(c Counter, n uint64) {
	if c < numCounters {
		s.counters[c].Add(n)
	}
}

// Drop implements Metrics.
func (s *Stats) Drop(r DropReason) {
	if r < numDropReasons {
		s.drops[r].Add(1)
	}
}

// Peers implements Metrics; Stats does not keep gauges (Overlay.Status has them).
func (s *Stats) Peers(int, int) {}

// WAN implements Metrics.
func (s *Stats) WAN(Family, netip.AddrPort, NATType) {}

// FirstPeer implements Metrics.
func (s *Stats) FirstPeer(time.Duration) {}

// IntroRTT implements Metrics.
func (s *Stats) IntroRTT(time.Duration) {}

// Puncture implements Metrics.
func (s *Stats) Puncture(success bool) {
	if success {
		s.punctures[1].Add(1)
	} else {
		s.punctures[0].Add(1)
	}
}

// CommunityMessage implements Metrics; Stats does not keep per-community counts.
func (s *Stats) CommunityMessage(string, uint8, Direction) {}

// Members implements Metrics.
func (s *Stats) Members(string, int) {}

// Punctures returns how many introductions to invitees succeeded and failed.
func (s *Stats) Punctures() (succeeded, failed uint64) {
	return s.punctures[1].Load(), s.punctures[0].Load()
}

// Count returns a counter's value.
func (s *Stats) Count(c Counter) uint64 {
	if c < numCounters {
		return s.counters[c].Load()
	}
	return 0
}

// Dropped returns how many packets were dropped for reason r.
func (s *Stats) Dropped(r DropReason) uint64 {
	if r < numDropReasons {
		return s.drops[r].Load()
	}
	return 0
}

// NopMetrics discards everything; it is the baseline for metrics benchmarks.
type NopMetrics struct{}

// Add implements Metrics.
func (NopMetrics) Add(Counter, uint64) {}

// Drop implements Metrics.
func (NopMetrics) Drop(DropReason) {}

// Peers implements Metrics.
func (NopMetrics) Peers(int, int) {}

// WAN implements Metrics.
func (NopMetrics) WAN(Family, netip.AddrPort, NATType) {}

// FirstPeer implements Metrics.
func (NopMetrics) FirstPeer(time.Duration) {}

// IntroRTT implements Metrics.
func (NopMetrics) IntroRTT(time.Duration) {}

// Puncture implements Metrics.
func (NopMetrics) Puncture(bool) {}

// CommunityMessage implements Metrics.
func (NopMetrics) CommunityMessage(string, uint8, Direction) {}

// Members implements Metrics.
func (NopMetrics) Members(string, int) {}

// Family is an IP family. A node votes on its WAN address and NAT type in
// each family it has an address in: IPv6 observers see another address, and
// another NAT (usually none), than IPv4 ones.
type Family uint8

// The families.
const (
	IPv4 Family = iota
	IPv6
)

// String is the family's metrics label.
func (f Family) String() string {
	if f == IPv6 {
		return "ipv6"
	}
	return "ipv4"
}

// familyOf returns a's family.
func familyOf(a netip.Addr) Family {
	if a.Unmap().Is6() {
		return IPv6
	}
	return IPv4
}
