package proto

// NATKind is what a node's WAN votes say about how its NAT picks public
// ports. It travels in NATHint (body key 10), so that a peer behind an
// easy NAT knows whether and how to aim probes at a hard one.
type NATKind uint8

// The NAT kinds. Wire constants: append only.
const (
	// NATUnknown: not classified yet, or a kind this version does not know.
	NATUnknown NATKind = 0
	// NATEasy: public, or a cone NAT (one public port for every
	// destination): hole punching works as it always did.
	NATEasy NATKind = 1
	// NATRandom: symmetric, a random public port for every destination.
	NATRandom NATKind = 2
	// NATSequential: symmetric, the next public port (plus Step) for every
	// new destination.
	NATSequential NATKind = 3
)

// Reach is a set of IP families a node can send to (IntroRequest.Reach).
type Reach uint8

// The families of a Reach. Wire constants (flag bits 4 and 5 of key 8).
const (
	// ReachIPv4: the node sends to IPv4 addresses, natively or through a
	// NAT64 (an IPv6-only phone on a carrier that translates).
	ReachIPv4 Reach = 1 << 0
	// ReachIPv6: the node sends to IPv6 addresses.
	ReachIPv6 Reach = 1 << 1
)

// reachOf reads the Reach of a request's flags.
func reachOf(flags uint64) Reach {
	var r Reach
	if flags&flagReach4 != 0 {
		r |= ReachIPv4
	}
	if flags&flagReach6 != 0 {
		r |= ReachIPv6
	}
	return r
}

// MaxNATStep is the largest port step a sequential NAT hint may carry; a
// NAT that moves further per mapping is treated as random.
const MaxNATStep = 16

// NATHint describes the sender's NAT (IntroRequest), an invitee's
// (IntroResponse) or a puncture target's (PunctureRequest). On the wire it
// is one uint: Kind in bits 0-7, Step in 8-15, Port in 16-31, Wants in bit
// 32. A zero hint is omitted.
type NATHint struct {
	Kind NATKind
	Port uint16 // NATSequential: the highest public port an observer saw
	Step uint8  // NATSequential: how far the port moves per new mapping, 1..MaxNATStep
	// Wants: the node would take part in a port prediction attempt now.
	// From a symmetric node it asks easy peers to probe for it (it knows
	// fewer peers than it wants); from an easy node it says that it would
	// probe. Probing costs hundreds of packets, so neither side starts one
	// for a partner that did not say so.
	Wants bool
}

// natWants is the bit of a packed hint that carries Wants.
const natWants = 1 << 32

func (h NATHint) pack() uint64 {
	v := uint64(h.Kind) | uint64(h.Step)<<8 | uint64(h.Port)<<16
	if h.Wants {
		v |= natWants
	}
	return v
}

// unpackNAT reads a packed hint. Bits above 32 are ignored (room for
// later fields); an unknown kind or a sequential hint whose step is out of
// range reads as NATUnknown, so a newer or broken sender never makes us
// probe on a guess.
func unpackNAT(v uint64) NATHint {
	h := NATHint{Kind: NATKind(v), Step: uint8(v >> 8), Port: uint16(v >> 16), Wants: v&natWants != 0}
	switch {
	case h.Kind == NATSequential && h.Step >= 1 && h.Step <= MaxNATStep:
		return h
	case h.Kind == NATRandom || h.Kind == NATEasy:
		return NATHint{Kind: h.Kind, Wants: h.Wants}
	}
	return NATHint{}
}
