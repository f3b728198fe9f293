package proto

import (
	"encoding/binary"
	"net/netip"
)

// Header is the fixed routing header in front of every datagram. Its layout
// is drawn in the package comment.
type Header struct {
	Type      Type
	Community ID
	Sender    ID             // sender's peer ID
	Dest      netip.AddrPort // the receiver's address as the sender sees it (IPv4 or IPv6, no zone)
}

// Offsets of the header fields.
const (
	offVersion   = 2
	offType      = 3
	offCommunity = 4
	offSender    = 20
	offFamily    = 36
	offAddr      = 37
)

// Address families in the header.
const (
	family4 = 4
	family6 = 6
)

// Len returns the encoded length of h: [MinHeaderLen] for an IPv4 (or
// IPv4-mapped, or invalid) destination, [MaxHeaderLen] for IPv6.
func (h *Header) Len() int {
	if a := h.Dest.Addr().Unmap(); a.Is6() {
		return MaxHeaderLen
	}
	return MinHeaderLen
}

// AppendTo appends the encoded header to b. An IPv4-mapped IPv6 destination
// is written as IPv4 and a zone is dropped, since neither means anything to
// the receiver; an invalid destination is written as 0.0.0.0:0 ([Encode]
// refuses it).
func (h *Header) AppendTo(b []byte) []byte {
	b = append(b, Magic0, Magic1, Version, byte(h.Type))
	b = append(b, h.Community[:]...)
	b = append(b, h.Sender[:]...)
	a := h.Dest.Addr().Unmap()
	if a.Is6() {
		b = append(b, family6)
		a16 := a.As16()
		b = append(b, a16[:]...)
	} else {
		b = append(b, family4)
		var a4 [4]byte
		if a.Is4() {
			a4 = a.As4()
		}
		b = append(b, a4[:]...)
	}
	return binary.BigEndian.AppendUint16(b, h.Dest.Port())
}

// ParseHeader parses the header at the start of a datagram and returns it
// with the body that follows. body aliases b. The checks run in wire order,
// so stray traffic is reported as bad magic rather than as short. A zero
// sender ID is ErrBadBody: it names no peer, and the encoder refuses to put
// it in a PeerInfo, so it must not reach the peer table.
func ParseHeader(b []byte) (h Header, body []byte, err error) {
	switch {
	case len(b) > MaxDatagram:
		return Header{}, nil, ErrTooLarge
	case len(b) >= 2 && (b[0] != Magic0 || b[1] != Magic1):
		return Header{}, nil, ErrBadMagic
	case len(b) > offVersion && b[offVersion] != Version:
		return Header{}, nil, ErrBadVersion
	case len(b) < MinHeaderLen:
		return Header{}, nil, ErrShort
	}
	h.Type = Type(b[offType])
	copy(h.Community[:], b[offCommunity:])
	copy(h.Sender[:], b[offSender:])
	if h.Sender.IsZero() {
		return Header{}, nil, ErrBadBody
	}
	var a netip.Addr
	n := MinHeaderLen
	switch b[offFamily] {
	case family4:
		a = netip.AddrFrom4([4]byte(b[offAddr : offAddr+4]))
	case family6:
		if len(b) < MaxHeaderLen {
			return Header{}, nil, ErrShort
		}
		// Unmap so that re-encoding yields the same Header.
		a = netip.AddrFrom16([16]byte(b[offAddr : offAddr+16])).Unmap()
		n = MaxHeaderLen
	default:
		return Header{}, nil, ErrBadAddress
	}
	h.Dest = netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[n-2:]))
	return h, b[n:], nil
}
