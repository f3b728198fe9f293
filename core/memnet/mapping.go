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
// whenever the table has doubled since the last one (amortised O(1)).
type natTable struct {
	byPort  map[uint16]*mapping
	byKey   map[mapKey]*mapping
	next    uint16 // next sequential port
	sweepAt int    // table size triggering the next sweep
}

// mapKey identifies a mapping: the internal endpoint and the part of the
// remote endpoint the Mapping behaviour depends on (zero, IP, or IP:port).
type mapKey struct {
	internal netip.AddrPort
	remote   netip.AddrPort
}

type mapping struct {
	key  mapKey
	port uint16    // public port
	last time.Time // last outbound datagram
	// permits maps the filtered part of each remote sent to (IP with port
	// 0, or IP:port) to the time of the last outbound datagram to it. Nil
	// under endpoint-independent filtering.
	permits map[netip.AddrPort]time.Time
	pruneAt int // len(permits) triggering the next prune
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
func (nat *NAT) expired(last, now time.Time) bool {
	return nat.cfg.Timeout > 0 && now.Sub(last) >= nat.cfg.Timeout
}

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
func (nat *NAT) outbound(src, dst netip.AddrPort, now time.Time) (netip.AddrPort, bool) {
	t := &nat.table
	key := mapKey{internal: src, remote: nat.mappingRemote(dst)}
	m := t.byKey[key]
	if m != nil && nat.expired(m.last, now) {
		t.remove(m)
		m = nil
	}
	if m == nil {
		if len(t.byPort) >= t.sweepAt {
			nat.sweep(now)
			t.sweepAt = max(2*len(t.byPort), minSweep)
		}
		port, ok := nat.allocPort(src.Port(), now)
		if !ok {
			return netip.AddrPort{}, false
		}
		m = &mapping{key: key, port: port}
		if nat.cfg.Filtering != EndpointIndependentFiltering {
			m.permits = map[netip.AddrPort]time.Time{}
			m.pruneAt = minSweep
		}
		t.byKey[key] = m
		t.byPort[port] = m
	}
	m.last = now
	if m.permits != nil {
		m.permits[nat.filterKey(dst)] = now
		if len(m.permits) >= m.pruneAt {
			for k, last := range m.permits {
				if nat.expired(last, now) {
					delete(m.permits, k)
				}
			}
			m.pruneAt = max(2*len(m.permits), minSweep)
		}
	}
	return netip.AddrPortFrom(nat.cfg.PublicIP, m.port), true
}

// inbound finds the internal endpoint for a datagram from the remote from
// to the public port, applying expiry and filtering. n.mu must be held.
func (nat *NAT) inbound(from netip.AddrPort, port uint16, now time.Time) (netip.AddrPort, bool) {
	t := &nat.table
	m := t.byPort[port]
	if m == nil {
		return netip.AddrPort{}, false
	}
	if nat.expired(m.last, now) {
		t.remove(m)
		return netip.AddrPort{}, false
	}
	if m.permits != nil {
		last, ok := m.permits[nat.filterKey(from)]
		if !ok || nat.expired(last, now) {
			return netip.AddrPort{}, false
		}
	}
	return m.key.internal, true
}

// sweep removes every expired mapping. n.mu must be held.
func (nat *NAT) sweep(now time.Time) {
	for _, m := range nat.table.byPort {
		if nat.expired(m.last, now) {
			nat.table.remove(m)
		}
	}
}

// free reports whether public port p can be given to a new mapping,
// removing an expired mapping holding it.
func (nat *NAT) free(p uint16, now time.Time) bool {
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
func (nat *NAT) allocPort(internal uint16, now time.Time) (uint16, bool) {
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
