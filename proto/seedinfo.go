package proto

import "net/netip"

// SeedID is the peer ID of a node of the seed protocol (proto/seed): its 8
// lowercase hex digits, as the 4 bytes they spell. It is a claim, not a
// proof: a seed proves nothing about its ID.
type SeedID [4]byte

// SeedInfo names a node of the seed protocol, the 2016 app walkie descends
// from, which has no walkie ID: its seed ID and its addresses, IPv4 only
// (the seed speaks nothing else). An introducer uses it to put a walkie
// peer and a seed node in touch (docs/protocol.md, "Across the two
// worlds"): in an intro response (key 18) it names a seed node asked to
// puncture toward the requester; in a puncture request (key 19) the seed
// node to puncture toward.
type SeedInfo struct {
	ID  SeedID
	LAN netip.AddrPort // its own address on its network (internal_source); may be unknown
	WAN netip.AddrPort // where the introducer hears it: required
}

// On the wire a SeedInfo is a nested map with PeerInfo's key numbers: 1 id
// (bin of 4 bytes, required), 2 lan and 3 wan (IPv4 addresses; wan
// required).

// appendSeedInfo appends s as a map. An address that is not IPv4 with a
// port is ErrBadAddress, since the receiver would refuse it.
func appendSeedInfo(b []byte, s *SeedInfo) ([]byte, error) {
	if !seedAddr(s.WAN) || (s.LAN.IsValid() && !seedAddr(s.LAN)) {
		return b, ErrBadAddress
	}
	b = appendMapLen(b, 2+count(s.LAN.IsValid()))
	b = appendBin(appendUint(b, peerKeyID), s.ID[:])
	if s.LAN.IsValid() {
		b = appendAddr(appendUint(b, peerKeyLAN), s.LAN)
	}
	return appendAddr(appendUint(b, peerKeyWAN), s.WAN), nil
}

// seedAddr reports whether ap is an address a seed node can have: IPv4
// (an IPv4-mapped one is written as IPv4) with a port.
func seedAddr(ap netip.AddrPort) bool { return ap.Addr().Unmap().Is4() && ap.Port() != 0 }

// seedInfo reads a SeedInfo map.
func (r *reader) seedInfo() (SeedInfo, error) {
	var s SeedInfo
	present, err := r.fields(1<<peerKeyID|1<<peerKeyLAN|1<<peerKeyWAN, func(k uint64) (err error) {
		switch k {
		case peerKeyID:
			var p []byte
			if p, err = r.bin(len(s.ID)); err == ErrLimit || err == nil && len(p) != len(s.ID) {
				return ErrBadBody
			} else if err == nil {
				s.ID = SeedID(p)
			}
		case peerKeyLAN:
			s.LAN, err = r.addr()
		case peerKeyWAN:
			s.WAN, err = r.addr()
		}
		return err
	})
	if err != nil {
		return SeedInfo{}, err
	}
	if present&(1<<peerKeyID|1<<peerKeyWAN) != 1<<peerKeyID|1<<peerKeyWAN {
		return SeedInfo{}, ErrBadBody
	}
	if !seedAddr(s.WAN) || (s.LAN.IsValid() && !seedAddr(s.LAN)) {
		return SeedInfo{}, ErrBadAddress
	}
	return s, nil
}

// seedInfoInto reads a SeedInfo into *dst's storage (allocated if nil), so
// that a decoder in a loop allocates nothing.
func (r *reader) seedInfoInto(dst **SeedInfo) (*SeedInfo, error) {
	s, err := r.seedInfo()
	if err != nil {
		return nil, err
	}
	if *dst == nil {
		*dst = new(SeedInfo)
	}
	**dst = s
	return *dst, nil
}
