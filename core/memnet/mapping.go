package memnet

import (
	"net/netip"
	"time"
)

// Public ports a NAT allocates sequentially or randomly.
const (
	natFirstPort = 1024
	natLastPort  = 65535
	natPorts     = natLastPort - natFirstPort + 1
)

// natTable is a NAT's set of mappings. Expired mappings are removed lazily:
// when looked up, when their port is wanted, by Mappings, and by a sweep
// whenever the table has doubled since the last one (amortised O(1)) or a
// Timeout has passed since it (so a burst of mappings, such as a symmetric
// NAT's during port prediction, is forgotten once it expires). Times are
// durations since the network's epoch: 8 bytes, a time.Time's 24.
type natTable struct {
	byPort  map[uint16]*mapping
	byKey   map[mapKey]*mapping
	next    uint16        // next sequential port
	sweepAt int           // table size triggering the next sweep
	swept   time.Duration // time of the last sweep
	peak    int           // largest size since the maps were last rebuilt
}

// mapKey identifies a mapping: the internal endpoint and the part of the
// remote endpoint the Mapping behaviour depends on (zero, IP, or IP:port).
type mapKey struct {
	internal netip.AddrPort
	remote   netip.AddrPort
}

type mapping struct {
	key  mapKey
	port uint16        // public port
	last time.Duration // last outbound datagram, since the network's epoch
	// permits holds a permission per remote sent to. Unused under
	// endpoint-independent filtering.
	permits permits
}

const minSweep = 64

func (t *natTable) init() {
	t.byPort = map[uint16]*mapping{}
	t.byKey = map[mapKey]*mapping{}
	t.next = natFirstPort
	t.sweepAt = minSweep
}

func (t *natTable) remove(m *mapping) {
	delete(t.byPort, m.port)
	delete(t.byKey, m.key)
}

// expired reports whether state last refreshed at last has timed out.
func (nat *NAT) expired(last, now time.Duration) bool {
	return nat.cfg.Timeout > 0 && now-last >= nat.cfg.Timeout
}

// since converts a time to the NAT table's clock. Both have the same
// monotonic (or, in a synctest bubble, fake) clock, so differences are
// exact and expiry is decided as it would be with time.Time.
func (nat *NAT) since(t time.Time) time.Duration { return t.Sub(nat.net.epoch) }

// mappingRemote is the part of remote the mapping behaviour depends on.
func (nat *NAT) mappingRemote(remote netip.AddrPort) netip.AddrPort {
	switch nat.cfg.Mapping {
	case AddressDependent:
		return netip.AddrPortFrom(remote.Addr(), 0)
	case AddressAndPortDependent:
		return remote
	}
	return netip.AddrPort{}
}

// filterKey is the part of remote the filtering behaviour depends on.
func (nat *NAT) filterKey(remote netip.AddrPort) netip.AddrPort {
	if nat.cfg.Filtering == AddressDependentFiltering {
		return netip.AddrPortFrom(remote.Addr(), 0)
	}
	return remote
}

// outbound translates a datagram from the internal endpoint src to the
// remote dst, creating or refreshing the mapping and dst's filtering
// permission. It fails only when no public port is free. n.mu must be held.
func (nat *NAT) outbound(src, dst netip.AddrPort, at time.Time) (netip.AddrPort, bool) {
	t := &nat.table
	now := nat.since(at)
	if nat.expired(t.swept, now) {
		nat.sweep(now)
	}
	key := mapKey{internal: src, remote: nat.mappingRemote(dst)}
	m := t.byKey[key]
	if m != nil && nat.expired(m.last, now) {
		t.remove(m)
		m = nil
	}
	if m == nil {
		if len(t.byPort) >= t.sweepAt {
			nat.sweep(now)
		}
		port, ok := nat.allocPort(src.Port(), now)
		if !ok {
			return netip.AddrPort{}, false
		}
		m = &mapping{key: key, port: port}
		t.byKey[key] = m
		t.byPort[port] = m
		t.peak = max(t.peak, len(t.byPort))
	}
	m.last = now
	if nat.cfg.Filtering != EndpointIndependentFiltering {
		m.permits.allow(nat, nat.filterKey(dst), now)
	}
	return netip.AddrPortFrom(nat.cfg.PublicIP, m.port), true
}

// inbound finds the internal endpoint for a datagram from the remote from
// to the public port, applying expiry and filtering. n.mu must be held.
func (nat *NAT) inbound(from netip.AddrPort, port uint16, at time.Time) (netip.AddrPort, bool) {
	t := &nat.table
	now := nat.since(at)
	m := t.byPort[port]
	if m == nil {
		return netip.AddrPort{}, false
	}
	if nat.expired(m.last, now) {
		t.remove(m)
		return netip.AddrPort{}, false
	}
	if nat.cfg.Filtering != EndpointIndependentFiltering {
		last, ok := m.permits.lookup(nat.filterKey(from))
		if !ok || nat.expired(last, now) {
			return netip.AddrPort{}, false
		}
	}
	return m.key.internal, true
}

// sweep removes every expired mapping and prunes the live ones' permits.
// When the table has shrunk to a quarter of its peak it copies it into new
// maps, since Go maps keep their largest size. n.mu must be held.
func (nat *NAT) sweep(now time.Duration) {
	t := &nat.table
	for _, m := range t.byPort {
		if nat.expired(m.last, now) {
			t.remove(m)
		} else if nat.cfg.Filtering != EndpointIndependentFiltering {
			m.permits.prune(nat, now)
		}
	}
	if len(t.byPort) <= t.peak/4 && t.peak > minSweep {
		byPort := make(map[uint16]*mapping, len(t.byPort))
		byKey := make(map[mapKey]*mapping, len(t.byPort))
		for p, m := range t.byPort {
			byPort[p] = m
			byKey[m.key] = m
		}
		t.byPort, t.byKey = byPort, byKey
		t.peak = len(t.byPort)
	}
	t.swept = now
	t.sweepAt = max(2*len(t.byPort), minSweep)
}

// free reports whether public port p can be given to a new mapping,
// removing an expired mapping holding it.
func (nat *NAT) free(p uint16, now time.Duration) bool {
	m := nat.table.byPort[p]
	if m == nil {
		return true
	}
	if nat.expired(m.last, now) {
		nat.table.remove(m)
		return true
	}
	return false
}

// allocPort chooses the public port for a new mapping of an internal
// socket bound to port internal. n.mu must be held.
func (nat *NAT) allocPort(internal uint16, now time.Duration) (uint16, bool) {
	switch nat.cfg.PortAlloc {
	case PortPreserve:
		if internal != 0 && nat.free(internal, now) {
			return internal, true
		}
	case PortRandom:
		for range 32 {
			p := uint16(natFirstPort + nat.net.rng.IntN(natPorts))
			if nat.free(p, now) {
				return p, true
			}
		}
	}
	t := &nat.table
	for range natPorts {
		p := t.next
		if t.next == natLastPort {
			t.next = natFirstPort
		} else {
			t.next++
		}
		if nat.free(p, now) {
			return p, true
		}
	}
	return 0, false
}
