package memnet

import (
	"net/netip"
	"time"
)

// permit is a filtering permission: the filtered part of a remote a
// mapping has sent to (IP with port 0, or IP:port) and when it last did.
type permit struct {
	remote netip.AddrPort
	last   time.Duration // since the network's epoch
}

// permits is a mapping's set of filtering permissions, laid out for what
// simulations make of it. Most mappings only ever send to one remote (every
// mapping of a symmetric NAT does), so the first permit lives inline and
// costs no allocation; a map, allocated on the second remote, holds the
// others. A permit is in one place only. Expired permits are dropped when
// a new remote replaces one inline, and by prune, which rebuilds the map
// when most of it has expired because Go maps never give memory back.
type permits struct {
	first   permit
	more    map[netip.AddrPort]time.Duration // nil while empty
	pruneAt int                              // len(more) triggering the next prune
	pruned  time.Duration                    // time of the last prune
}

// lookup returns the time of the last outbound datagram to remote (a
// filter key), if it is still recorded.
func (ps *permits) lookup(remote netip.AddrPort) (time.Duration, bool) {
	if ps.first.remote == remote && remote.IsValid() {
		return ps.first.last, true
	}
	last, ok := ps.more[remote]
	return last, ok
}

// allow records an outbound datagram to remote (a filter key) at now. It
// prunes the map when it has doubled since the last prune, or once per
// Timeout, so that a spray of probes to many ports is forgotten soon after
// it expires even if the mapping never sends to a new remote again.
func (ps *permits) allow(nat *NAT, remote netip.AddrPort, now time.Duration) {
	switch _, inMore := ps.more[remote]; {
	case ps.first.remote == remote:
		ps.first.last = now
	case inMore:
		ps.more[remote] = now
	case !ps.first.remote.IsValid() || nat.expired(ps.first.last, now):
		ps.first = permit{remote, now}
	default:
		if ps.more == nil {
			ps.more = map[netip.AddrPort]time.Duration{}
			ps.pruneAt = minSweep
			ps.pruned = now
		}
		ps.more[remote] = now
	}
	if ps.more != nil && (len(ps.more) >= ps.pruneAt || nat.expired(ps.pruned, now)) {
		ps.prune(nat, now)
	}
}

// prune drops the expired permits. When fewer than half of the map's are
// live it copies those into a new map so the old one's buckets are freed;
// otherwise it deletes in place, which leaves the map at most twice the
// size it needs.
func (ps *permits) prune(nat *NAT, now time.Duration) {
	ps.pruned = now
	if ps.first.remote.IsValid() && nat.expired(ps.first.last, now) {
		ps.first = permit{}
	}
	live := 0
	for _, last := range ps.more {
		if !nat.expired(last, now) {
			live++
		}
	}
	switch {
	case live == 0:
		ps.more = nil
	case live < len(ps.more)/2:
		fresh := make(map[netip.AddrPort]time.Duration, live)
		for k, last := range ps.more {
			if !nat.expired(last, now) {
				fresh[k] = last
			}
		}
		ps.more = fresh
	case live < len(ps.more):
		for k, last := range ps.more {
			if nat.expired(last, now) {
				delete(ps.more, k)
			}
		}
	}
	ps.pruneAt = max(2*live, minSweep)
}

// len returns the number of permits recorded, live or not.
func (ps *permits) len() int {
	n := len(ps.more)
	if ps.first.remote.IsValid() {
		n++
	}
	return n
}
