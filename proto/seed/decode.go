package seed

import (
	"net/netip"
	"unicode/utf8"
)

// Bits of the message dict's known keys, to find the missing ones.
const (
	kType uint16 = 1 << iota
	kPeerID
	kDestination
	kConnection
	kOperator
	kInternal
	kInvitee
	kPex
	kSource
	kPuncturePeer
)

// fields gathers the message dict's known keys in one pass: "type" may come
// anywhere (the seed's encoder writes it fourth or fifth), so the message
// is built once the dict is read.
type fields struct {
	seen     uint16
	typ      int64
	sender   PeerID
	dest     netip.AddrPort
	conn     int64
	op       []byte // in place, copied by build
	internal netip.AddrPort
	invitee  Peer
	pex      [MaxPex]Peer
	npex     int
	source   netip.AddrPort
	puncture Peer
}

// Decode decodes one seed datagram. The result is a *IntroRequest,
// *IntroResponse, *PunctureRequest or *Puncture that does not alias b.
// Keys may come in any order and unknown keys are skipped, as the seed
// does; a known key of another message type must still hold a value of
// the right type. Every error is one of the package's sentinels.
func Decode(b []byte) (Message, error) {
	if len(b) > MaxDatagram {
		return nil, ErrTooLarge
	}
	r := reader{b: b}
	if c, err := r.peek(); err != nil {
		return nil, err
	} else if c != 'd' {
		return nil, ErrBadBencode
	}
	var f fields
	if err := r.message(&f); err != nil {
		return nil, err
	}
	if r.off != len(b) {
		return nil, ErrBadBencode // the seed ignores trailing bytes, and never sends any
	}
	return f.build()
}

// message reads the message dict into f.
func (r *reader) message(f *fields) error {
	r.off++ // 'd'
	var ks keySet
	for {
		k, more, err := r.key(&ks)
		if err != nil || !more {
			return err
		}
		var bit uint16
		switch string(k) {
		case "type":
			bit = kType
			f.typ, err = r.int()
		case "peer_id":
			bit = kPeerID
			f.sender, err = r.peerID()
		case "destination":
			bit = kDestination
			f.dest, err = r.addr()
		case "connection_type":
			bit = kConnection
			f.conn, err = r.int()
		case "network_operator":
			bit = kOperator
			f.op, err = r.str(MaxOperator)
			if err == nil && !utf8.Valid(f.op) {
				err = ErrBadMessage // Java wrote it from a String: always UTF-8
			}
		case "internal_source":
			bit = kInternal
			f.internal, err = r.addr()
		case "invitee":
			bit = kInvitee
			f.invitee, err = r.peer(2, true)
		case "pex":
			bit = kPex
			err = r.pex(f)
		case "source":
			bit = kSource
			f.source, err = r.addr()
		case "puncture_peer":
			bit = kPuncturePeer
			f.puncture, err = r.peer(2, true)
		default:
			err = r.skip(2)
		}
		if err != nil {
			return err
		}
		f.seen |= bit
	}
}

// build checks that the keys the type requires are present and makes the
// message. The seed's decoder requires fewer ("peer_id" and
// "network_operator" may be missing), but its encoder writes them all.
func (f *fields) build() (Message, error) {
	if f.seen&kType == 0 {
		return nil, ErrBadMessage
	}
	need := kPeerID | kDestination
	switch f.typ {
	case int64(TypeIntroRequest):
		need |= kConnection | kOperator
	case int64(TypeIntroResponse):
		need |= kConnection | kOperator | kInternal | kPex
	case int64(TypePunctureRequest):
		need |= kSource | kPuncturePeer
	case int64(TypePuncture):
		need |= kSource
	default:
		return nil, ErrUnknownType
	}
	if f.seen&need != need {
		return nil, ErrBadMessage
	}
	switch Type(f.typ) {
	case TypeIntroRequest:
		return &IntroRequest{Sender: f.sender, Destination: f.dest, Connection: ConnectionType(f.conn), Operator: string(f.op)}, nil
	case TypeIntroResponse:
		m := &IntroResponse{Sender: f.sender, Destination: f.dest, Connection: ConnectionType(f.conn), Operator: string(f.op),
			InternalSource: f.internal}
		if f.seen&kInvitee != 0 {
			inv := f.invitee
			m.Invitee = &inv
		}
		if f.npex > 0 {
			m.Pex = append([]Peer(nil), f.pex[:f.npex]...)
		}
		return m, nil
	case TypePunctureRequest:
		return &PunctureRequest{Sender: f.sender, Destination: f.dest, Source: f.source, PuncturePeer: f.puncture}, nil
	}
	return &Puncture{Sender: f.sender, Destination: f.dest, Source: f.source}, nil
}

// peerID reads a "peer_id" value.
func (r *reader) peerID() (PeerID, error) {
	s, err := r.str(MaxString)
	if err != nil {
		return PeerID{}, err
	}
	var id PeerID
	if len(s) != len(id) {
		return PeerID{}, ErrBadMessage
	}
	copy(id[:], s)
	if !id.valid() {
		return PeerID{}, ErrBadMessage
	}
	return id, nil
}

// addr reads an address dict in the message dict.
func (r *reader) addr() (netip.AddrPort, error) {
	p, err := r.peer(2, false)
	return p.Addr, err
}

// pex reads the pex list into f.
func (r *reader) pex(f *fields) error {
	if err := r.open('l'); err != nil {
		return err
	}
	for {
		more, err := r.more()
		if err != nil || !more {
			return err
		}
		if f.npex == MaxPex {
			return ErrLimit
		}
		if f.pex[f.npex], err = r.peer(3, true); err != nil {
			return err
		}
		f.npex++
	}
}

// peer reads an address dict ("address", "port") at the given depth, and
// its "peer_id" when withID; other keys are skipped. Both address and port
// are required, as the seed requires them. Port 0 is refused: no seed sends
// it, and no datagram can go there.
func (r *reader) peer(depth int, withID bool) (Peer, error) {
	if err := r.open('d'); err != nil {
		return Peer{}, err
	}
	var (
		ks   keySet
		p    Peer
		a    netip.Addr
		port int64
		seen int
	)
	for {
		k, more, err := r.key(&ks)
		if err != nil {
			return Peer{}, err
		}
		if !more {
			break
		}
		switch {
		case string(k) == "address":
			var s []byte
			if s, err = r.str(MaxString); err == nil {
				var ok bool
				if a, ok = parseQuad(s); !ok {
					err = ErrBadAddress
				}
			}
			seen |= 1
		case string(k) == "port":
			if port, err = r.int(); err == nil && (port < 1 || port > 65535) {
				err = ErrBadAddress
			}
			seen |= 2
		case withID && string(k) == "peer_id":
			p.ID, err = r.peerID()
		default:
			err = r.skip(depth + 1)
		}
		if err != nil {
			return Peer{}, err
		}
	}
	if seen != 3 {
		return Peer{}, ErrBadMessage
	}
	p.Addr = netip.AddrPortFrom(a, uint16(port))
	return p, nil
}
