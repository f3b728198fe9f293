package proto

import (
	"encoding/binary"
	"net/netip"
)

// In bodies an address is a msgpack bin of 6 bytes (IPv4, port) or 18 bytes
// (IPv6, port), port big endian. An invalid (unknown) address is omitted.
const (
	addr4Len = 4 + 2
	addr6Len = 16 + 2
)

// appendAddr appends ap as a bin. Like the header, it writes IPv4-mapped
// addresses as IPv4 and drops the zone, which is meaningless to the peer.
func appendAddr(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr().Unmap()
	if a.Is4() {
		b = append(b, mpBin8, addr4Len)
		a4 := a.As4()
		b = append(b, a4[:]...)
	} else {
		b = append(b, mpBin8, addr6Len)
		a16 := a.As16()
		b = append(b, a16[:]...)
	}
	return binary.BigEndian.AppendUint16(b, ap.Port())
}

// addr reads an address bin. Any other length is ErrBadAddress.
func (r *reader) addr() (netip.AddrPort, error) {
	p, err := r.bin(addr6Len)
	if err == ErrLimit {
		return netip.AddrPort{}, ErrBadAddress
	}
	if err != nil {
		return netip.AddrPort{}, err
	}
	var a netip.Addr
	switch len(p) {
	case addr4Len:
		a = netip.AddrFrom4([4]byte(p))
	case addr6Len:
		// Unmap so that re-encoding yields the same value.
		a = netip.AddrFrom16([16]byte(p)).Unmap()
	default:
		return netip.AddrPort{}, ErrBadAddress
	}
	return netip.AddrPortFrom(a, binary.BigEndian.Uint16(p[len(p)-2:])), nil
}

// id reads an ID: a bin of exactly 16 bytes.
func (r *reader) id() (ID, error) {
	p, err := r.bin(len(ID{}))
	if err == ErrLimit {
		return ID{}, ErrBadBody
	}
	if err != nil {
		return ID{}, err
	}
	if len(p) != len(ID{}) {
		return ID{}, ErrBadBody
	}
	return ID(p), nil
}

// token reads a token and copies it, since the input buffer is reused. An
// empty token decodes as nil.
func (r *reader) token(dst []byte) ([]byte, error) {
	p, err := r.bin(MaxToken)
	if err != nil || len(p) == 0 {
		return nil, err
	}
	return append(dst[:0], p...), nil
}

// index reads a session index: a uint32.
func (r *reader) index() (uint64, error) {
	v, err := r.uint()
	if err == nil && v > maxIndex {
		return 0, ErrLimit
	}
	return v, err
}

// idLen is the shortest encoding of an ID: bin8 code, length, 16 bytes.
const idLen = 2 + 16

// ids reads an array of at most MaxCommunities IDs into dst's storage. An
// empty array decodes as nil.
func (r *reader) ids(dst []ID) ([]ID, error) { return r.idsMax(dst, MaxCommunities) }

// idsMax is ids for an array of at most limit IDs.
func (r *reader) idsMax(dst []ID, limit int) ([]ID, error) {
	n, err := r.arrayLen(limit, idLen)
	if err != nil || n == 0 {
		return nil, err
	}
	ids := dst[:0]
	if cap(ids) < n {
		ids = make([]ID, 0, n) // n is bounded by limit
	}
	for range n {
		id, err := r.id()
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// appendIDs appends ids as an array of bins.
func appendIDs(b []byte, ids []ID) []byte {
	b = appendArrayLen(b, len(ids))
	for i := range ids {
		b = appendBin(b, ids[i][:])
	}
	return b
}
