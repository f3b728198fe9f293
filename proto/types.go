package proto

// Type is a message type within a community. Each community has its own
// type space; the constants below are the core community's. The values are
// wire constants: append only, never renumber.
type Type uint8

// Core overlay message types.
const (
	TypeIntroRequest    Type = 0x01 // A asks B for peers
	TypeIntroResponse   Type = 0x02 // B answers A with peers and an invitee C
	TypePunctureRequest Type = 0x03 // B asks C to puncture toward A
	TypePuncture        Type = 0x04 // C opens its NAT toward A
	TypeBeacon          Type = 0x05 // LAN discovery beacon (sent to a multicast group)
	TypeHandshake       Type = 0x06 // one step of the Noise XX handshake that proves a peer's key
)

// String returns the type's name, such as "intro-request", or its hex value,
// such as "0x7f", for an unknown type.
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
	case TypeBeacon:
		return "beacon"
	case TypeHandshake:
		return "handshake"
	}
	const digits = "0123456789abcdef"
	return string([]byte{'0', 'x', digits[t>>4], digits[t&0xf]})
}
