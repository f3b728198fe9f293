package seed

import "net/netip"

// Type is a seed message type, the value of the "type" key.
type Type uint8

// The seed's message types: its walk, in four messages.
const (
	TypeIntroRequest    Type = 1 // A asks B for peers
	TypeIntroResponse   Type = 2 // B answers A with its peers and maybe an invitee C
	TypePunctureRequest Type = 3 // B asks C to puncture toward A
	TypePuncture        Type = 4 // C opens its NAT toward A
)

// String returns the type's name, such as "intro-request".
func (t Type) String() string {
	switch t {
	case TypeIntroRequest:
		return "intro-request"
	case TypeIntroResponse:
		return "intro-response"
	case TypePunctureRequest:
		return "puncture-request"
	case TypePuncture:
		return "puncture"
	}
	return "unknown"
}

// ConnectionType is the value of "connection_type": the sender's Android
// network type (ConnectivityManager), any 64-bit integer on the wire.
type ConnectionType int64

// The connection types a seed names.
const (
	ConnectionMobile ConnectionType = 0
	ConnectionWiFi   ConnectionType = 1
)

// Message is one of the four seed messages; the pointer of each message
// type implements it, and only those.
type Message interface {
	// Type returns the message's "type".
	Type() Type
	// appendDict appends the message's dict, or fails with the reason the
	// seed would not take it, leaving b as it was.
	appendDict(b []byte) ([]byte, error)
}

// Peer names a peer: an address dict with an optional "peer_id".
type Peer struct {
	ID   PeerID         // peer_id; zero when the sender did not know it
	Addr netip.AddrPort // address and port: IPv4
}

// Every seed message carries "type", "peer_id" and "destination". The
// seed's decoder requires only "type" and "destination", but its encoder
// always writes "peer_id", and so does walkie's.

// IntroRequest (type 1) asks the receiver for peers; the seed sends one
// every 5 s to a random peer.
type IntroRequest struct {
	Sender      PeerID         // peer_id: the sender's ID
	Destination netip.AddrPort // destination: the receiver as the sender sees it (the receiver's WAN vote)
	Connection  ConnectionType // connection_type (required)
	Operator    string         // network_operator: the carrier's name, may be empty; at most MaxOperator bytes of UTF-8
}

// IntroResponse (type 2) answers an IntroRequest with the sender's peers
// and, when it chose one, an invitee it asked to puncture toward the
// requester.
type IntroResponse struct {
	Sender         PeerID         // peer_id
	Destination    netip.AddrPort // destination: the requester as the sender sees it
	Connection     ConnectionType // connection_type (required)
	Operator       string         // network_operator
	InternalSource netip.AddrPort // internal_source (required): the sender's LAN address; 0.0.0.0 when a seed knows none
	Invitee        *Peer          // invitee: nil when none was chosen
	Pex            []Peer         // pex (required, may be empty): at most MaxPex; nil when empty
}

// PunctureRequest (type 3) asks the receiver to send a Puncture to
// PuncturePeer, the peer the sender just introduced it to.
type PunctureRequest struct {
	Sender       PeerID         // peer_id
	Destination  netip.AddrPort // destination: the receiver as the sender sees it
	Source       netip.AddrPort // source (required): the sender's LAN address
	PuncturePeer Peer           // puncture_peer (required): the requester, at its address as the sender sees it
}

// Puncture (type 4) opens the sender's NAT toward the receiver; it asks for
// nothing.
type Puncture struct {
	Sender      PeerID         // peer_id
	Destination netip.AddrPort // destination: the receiver as the sender sees it
	Source      netip.AddrPort // source (required): the sender's LAN address
}

// Type returns TypeIntroRequest.
func (*IntroRequest) Type() Type { return TypeIntroRequest }

// Type returns TypeIntroResponse.
func (*IntroResponse) Type() Type { return TypeIntroResponse }

// Type returns TypePunctureRequest.
func (*PunctureRequest) Type() Type { return TypePunctureRequest }

// Type returns TypePuncture.
func (*Puncture) Type() Type { return TypePuncture }
