package seed

import (
	"net/netip"
	"strconv"
	"unicode/utf8"
)

// Append appends m's datagram to b and returns it; on error it returns b
// unchanged. Keys come in the order the seed's own encoder writes them
// (Java HashMap order), so the bytes are those a seed would send for the
// same message. It refuses what the seed could not take: an invalid or
// zero sender ID (ErrBadMessage), an address that is not IPv4 or has port
// 0 (ErrBadAddress; an IPv4-mapped IPv6 address is written as IPv4), an
// operator that is not UTF-8 (ErrBadMessage) or over MaxOperator bytes, or
// more than MaxPex peers (ErrLimit), and a datagram over MaxDatagram bytes
// (ErrTooLarge), which the seed would read cut short.
func Append(b []byte, m Message) ([]byte, error) {
	if m == nil {
		return b, ErrBadMessage
	}
	out, err := m.appendDict(b)
	if err != nil {
		return b, err
	}
	if len(out)-len(b) > MaxDatagram {
		return b, ErrTooLarge
	}
	return out, nil
}

func (m *IntroRequest) appendDict(b []byte) ([]byte, error) {
	if m == nil {
		return b, ErrBadMessage
	}
	if err := checkFields(m.Sender, m.Destination, m.Operator); err != nil {
		return b, err
	}
	b = append(b, 'd')
	b = appendString(appendKey(b, "network_operator"), m.Operator)
	b = appendInt(appendKey(b, "connection_type"), int64(m.Connection))
	b = appendAddr(appendKey(b, "destination"), m.Destination)
	b = appendInt(appendKey(b, "type"), int64(TypeIntroRequest))
	b = appendString(appendKey(b, "peer_id"), string(m.Sender[:]))
	return append(b, 'e'), nil
}

func (m *IntroResponse) appendDict(b []byte) ([]byte, error) {
	if m == nil {
		return b, ErrBadMessage
	}
	if err := checkFields(m.Sender, m.Destination, m.Operator); err != nil {
		return b, err
	}
	if err := checkAddr(m.InternalSource); err != nil {
		return b, err
	}
	if m.Invitee != nil {
		if err := checkPeer(*m.Invitee); err != nil {
			return b, err
		}
	}
	if len(m.Pex) > MaxPex {
		return b, ErrLimit
	}
	for _, p := range m.Pex {
		if err := checkPeer(p); err != nil {
			return b, err
		}
	}
	b = append(b, 'd')
	b = appendString(appendKey(b, "network_operator"), m.Operator)
	b = append(appendKey(b, "pex"), 'l')
	for _, p := range m.Pex {
		b = appendPeer(b, p)
	}
	b = append(b, 'e')
	b = appendInt(appendKey(b, "connection_type"), int64(m.Connection))
	b = appendAddr(appendKey(b, "destination"), m.Destination)
	b = appendInt(appendKey(b, "type"), int64(TypeIntroResponse))
	b = appendAddr(appendKey(b, "internal_source"), m.InternalSource)
	b = appendString(appendKey(b, "peer_id"), string(m.Sender[:]))
	if m.Invitee != nil {
		b = appendPeer(appendKey(b, "invitee"), *m.Invitee)
	}
	return append(b, 'e'), nil
}

func (m *PunctureRequest) appendDict(b []byte) ([]byte, error) {
	if m == nil {
		return b, ErrBadMessage
	}
	if err := checkFields(m.Sender, m.Destination, ""); err != nil {
		return b, err
	}
	if err := checkAddr(m.Source); err != nil {
		return b, err
	}
	if err := checkPeer(m.PuncturePeer); err != nil {
		return b, err
	}
	b = append(b, 'd')
	b = appendAddr(appendKey(b, "destination"), m.Destination)
	b = appendPeer(appendKey(b, "puncture_peer"), m.PuncturePeer)
	b = appendAddr(appendKey(b, "source"), m.Source)
	b = appendInt(appendKey(b, "type"), int64(TypePunctureRequest))
	b = appendString(appendKey(b, "peer_id"), string(m.Sender[:]))
	return append(b, 'e'), nil
}

func (m *Puncture) appendDict(b []byte) ([]byte, error) {
	if m == nil {
		return b, ErrBadMessage
	}
	if err := checkFields(m.Sender, m.Destination, ""); err != nil {
		return b, err
	}
	if err := checkAddr(m.Source); err != nil {
		return b, err
	}
	b = append(b, 'd')
	b = appendAddr(appendKey(b, "destination"), m.Destination)
	b = appendAddr(appendKey(b, "source"), m.Source)
	b = appendInt(appendKey(b, "type"), int64(TypePuncture))
	b = appendString(appendKey(b, "peer_id"), string(m.Sender[:]))
	return append(b, 'e'), nil
}

// checkFields checks what every message has, and the operator (empty for
// the types without one).
func checkFields(sender PeerID, dest netip.AddrPort, operator string) error {
	if !sender.valid() {
		return ErrBadMessage
	}
	if len(operator) > MaxOperator {
		return ErrLimit
	}
	if !utf8.ValidString(operator) {
		return ErrBadMessage
	}
	return checkAddr(dest)
}

// checkAddr refuses what the seed cannot take or use: anything but IPv4
// (it is IPv4-only), and port 0.
func checkAddr(ap netip.AddrPort) error {
	if !ap.Addr().Unmap().Is4() || ap.Port() == 0 {
		return ErrBadAddress
	}
	return nil
}

func checkPeer(p Peer) error {
	if !p.ID.IsZero() && !p.ID.valid() {
		return ErrBadMessage
	}
	return checkAddr(p.Addr)
}

func appendKey(b []byte, k string) []byte { return appendString(b, k) }

func appendString(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	return append(append(b, ':'), s...)
}

func appendInt(b []byte, v int64) []byte {
	return append(strconv.AppendInt(append(b, 'i'), v, 10), 'e')
}

// appendAddr appends an address dict: "address" then "port", the seed's
// order.
func appendAddr(b []byte, ap netip.AddrPort) []byte {
	return append(appendAddrKeys(append(b, 'd'), ap), 'e')
}

// appendPeer appends a peer dict: the address keys, then "peer_id" if
// known.
func appendPeer(b []byte, p Peer) []byte {
	b = appendAddrKeys(append(b, 'd'), p.Addr)
	if !p.ID.IsZero() {
		b = appendString(appendKey(b, "peer_id"), string(p.ID[:]))
	}
	return append(b, 'e')
}

func appendAddrKeys(b []byte, ap netip.AddrPort) []byte {
	var q [maxQuad]byte
	quad := ap.Addr().Unmap().AppendTo(q[:0]) // netip writes IPv4 as Java does
	b = appendKey(b, "address")
	b = append(append(strconv.AppendInt(b, int64(len(quad)), 10), ':'), quad...)
	return appendInt(appendKey(b, "port"), int64(ap.Port()))
}
