package proto

import (
	"encoding/binary"
	"net/netip"
)

// A Ticket is a node's signed word that it is at Addr and takes part in port
// prediction there until Expiry: port prediction makes a node spray probes
// at an IP, or send one from each of hundreds of sockets to an address, so
// it only ever aims at an address whose owner vouched for it. The symmetric
// side's Addr is its public IP (port 0: its ports are what it cannot
// know); the easy side's is its public address. A node sends its own ticket
// in its introduction requests; an introducer relays the other side's in
// the introduction response (the invitee's) and the puncture request (the
// requester's), so a lying introducer alone can aim nothing. The core checks
// the signature (Ed25519 over SignedBytes) and that the key is the peer's.
//
// Encoded as one bin of TicketLen bytes (body key 15): key (32), expiry
// (8, Unix seconds, big endian), address (16, IPv4 as ::ffff:a.b.c.d),
// port (2), signature (64).
type Ticket struct {
	Key    [32]byte // the Ed25519 public key of the node that signed
	Expiry uint64   // Unix seconds
	Addr   netip.AddrPort
	Sig    [64]byte
}

// TicketLen is the size of an encoded Ticket.
const TicketLen = 32 + 8 + 16 + 2 + 64

// ticketDomain separates a ticket's signature from every other signature a
// walkie key makes.
const ticketDomain = "walkie port prediction ticket v1\x00"

// IsZero reports an absent ticket.
func (t *Ticket) IsZero() bool { return t.Key == [32]byte{} }

// SignedBytes appends what the ticket's signature covers to dst: a
// domain-separation tag, then the key, expiry, address and port as encoded.
func (t *Ticket) SignedBytes(dst []byte) []byte {
	dst = append(dst, ticketDomain...)
	return t.appendFields(dst)
}

func (t *Ticket) appendFields(b []byte) []byte {
	b = append(b, t.Key[:]...)
	b = binary.BigEndian.AppendUint64(b, t.Expiry)
	a16 := t.Addr.Addr().Unmap().As16()
	if t.Addr.Addr().Unmap().Is4() {
		a16 = netip.AddrFrom4(t.Addr.Addr().Unmap().As4()).As16() // ::ffff:a.b.c.d
	}
	b = append(b, a16[:]...)
	return binary.BigEndian.AppendUint16(b, t.Addr.Port())
}

// append appends the encoded ticket (a bin) to b.
func (t *Ticket) append(b []byte) []byte {
	var raw [TicketLen]byte
	p := t.appendFields(raw[:0])
	p = append(p, t.Sig[:]...)
	return appendBin(b, p)
}

// ticket reads an encoded ticket.
func (r *reader) ticket() (Ticket, error) {
	p, err := r.bin(TicketLen)
	if err != nil {
		return Ticket{}, err
	}
	if len(p) != TicketLen {
		return Ticket{}, ErrBadBody
	}
	var t Ticket
	copy(t.Key[:], p[:32])
	t.Expiry = binary.BigEndian.Uint64(p[32:40])
	ip := netip.AddrFrom16([16]byte(p[40:56])).Unmap()
	t.Addr = netip.AddrPortFrom(ip, binary.BigEndian.Uint16(p[56:58]))
	copy(t.Sig[:], p[58:])
	if t.IsZero() {
		return Ticket{}, ErrBadBody
	}
	return t, nil
}
