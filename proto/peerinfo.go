package proto

import "net/netip"

// PeerInfo names a peer by ID and its two addresses.
type PeerInfo struct {
	ID  ID
	LAN netip.AddrPort // address on its own network (may be invalid/zero = unknown)
	WAN netip.AddrPort // address as the introducer sees it (may be invalid/zero = unknown)
}

// PeerInfo is a nested map with its own keys. The ID is required and not
// zero; the addresses are omitted when unknown.
const (
	peerKeyID  = 1 // bin 16
	peerKeyLAN = 2 // address
	peerKeyWAN = 3 // address
)

// peerInfoMinLen is the shortest encoding of a PeerInfo: map header, key, ID.
const peerInfoMinLen = 1 + 1 + idLen

// appendPeerInfo appends p as a map; a zero ID is ErrBadBody, since the
// receiver would reject it.
func appendPeerInfo(b []byte, p *PeerInfo) ([]byte, error) {
	if p.ID.IsZero() {
		return b, ErrBadBody
	}
	b = appendMapLen(b, 1+count(p.LAN.IsValid(), p.WAN.IsValid()))
	b = appendBin(appendUint(b, peerKeyID), p.ID[:])
	if p.LAN.IsValid() {
		b = appendAddr(appendUint(b, peerKeyLAN), p.LAN)
	}
	if p.WAN.IsValid() {
		b = appendAddr(appendUint(b, peerKeyWAN), p.WAN)
	}
	return b, nil
}

// peerInfo reads a PeerInfo map.
func (r *reader) peerInfo() (PeerInfo, error) {
	var p PeerInfo
	present, err := r.fields(1<<peerKeyID|1<<peerKeyLAN|1<<peerKeyWAN, func(k uint64) (err error) {
		switch k {
		case peerKeyID:
			p.ID, err = r.id()
		case peerKeyLAN:
			p.LAN, err = r.addr()
		case peerKeyWAN:
			p.WAN, err = r.addr()
		}
		return err
	})
	if err != nil {
		return PeerInfo{}, err
	}
	if present&(1<<peerKeyID) == 0 || p.ID.IsZero() {
		return PeerInfo{}, ErrBadBody
	}
	return p, nil
}

// peers reads an array of at most MaxIntroPeers PeerInfos. An empty array
// decodes as nil.
func (r *reader) peers(dst []PeerInfo, limit int) ([]PeerInfo, error) {
	n, err := r.arrayLen(limit, peerInfoMinLen)
	if err != nil || n == 0 {
		return nil, err
	}
	ps := dst[:0]
	if cap(ps) < n {
		ps = make([]PeerInfo, 0, n) // n is bounded by limit
	}
	for range n {
		p, err := r.peerInfo()
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// count returns how many of the conditions hold: the number of optional
// fields present, for a map header.
func count(conds ...bool) int {
	n := 0
	for _, c := range conds {
		if c {
			n++
		}
	}
	return n
}
