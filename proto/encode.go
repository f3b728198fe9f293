package proto

// Encode appends the datagram for m, header and body, to b (which may be a
// pooled buffer of length 0). h.Type is set from m.Type(). It fails with
// ErrBadAddress when h.Dest is invalid, with ErrBadBody when h.Sender is
// zero (receivers drop it), with m's error, or with ErrTooLarge
// when the datagram would exceed MaxDatagram; on error it returns b
// unchanged. The limit counts only the bytes appended.
func Encode(b []byte, h Header, m Message) ([]byte, error) {
	if !h.Dest.IsValid() {
		return b, ErrBadAddress
	}
	if h.Sender.IsZero() {
		return b, ErrBadBody
	}
	h.Type = m.Type()
	out, err := m.AppendBody(h.AppendTo(b))
	if err != nil {
		return b, err
	}
	if len(out)-len(b) > MaxDatagram {
		return b, ErrTooLarge
	}
	return out, nil
}

// Pad appends zero bytes to pkt until len(pkt) >= n, capped at MaxDatagram.
// Decoders ignore the bytes after a body's map, so padding is invisible to
// them. It serves anti-amplification: a requester that is not yet verified
// pads its request so that the answer never exceeds what it sent.
func Pad(pkt []byte, n int) []byte {
	n = min(n, MaxDatagram)
	if len(pkt) >= n {
		return pkt
	}
	return append(pkt, make([]byte, n-len(pkt))...)
}
