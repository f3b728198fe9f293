package proto

import "net/netip"

// Message is a core message body; the pointer of each body type implements
// it.
type Message interface {
	// Type returns the message type for the header.
	Type() Type
	// AppendBody appends the msgpack body to b. On error (a field over
	// its limit, or a PeerInfo with a zero ID) it returns b unchanged.
	AppendBody(b []byte) ([]byte, error)
}

// IntroRequest (A to B) asks B for peers.
// Body keys: 1 nonce (required), 2 lan, 3 token, 4 communities, 8 flags,
// 10 nat, 15 ticket, 16 meet.
type IntroRequest struct {
	Nonce       uint64         // random identifier, echoed by the response
	LAN         netip.AddrPort // sender's own LAN address
	Token       []byte         // echo of the last token the receiver issued to us; may be empty; <= MaxToken
	Communities []ID           // communities the sender serves; <= MaxCommunities
	// KeepAlive (flag bit 0) asks for an answer without introductions: the
	// request only keeps our NAT mapping toward B open. Without it, keep-
	// alives to every peer would each make an introduction and a puncture,
	// and every table would grow to MaxPeers within minutes.
	KeepAlive bool
	// Symmetric (flag bit 1) says the sender is behind a symmetric NAT (its
	// WAN vote said so): a puncture between two such peers cannot work, so
	// introducers do not name one to the other.
	Symmetric bool
	// WantMore (flag bit 2) asks for up to 1+MaxMoreInvitees invitees: the
	// sender knows fewer peers than it wants, and every invitee is a peer
	// it meets at once.
	WantMore bool
	// NAT is the sender's own NAT, as its votes say (key 10): what an
	// introducer passes on to the peers it introduces.
	NAT NATHint
	// Ticket is the sender's signed word for where port prediction may aim
	// at it (key 15), sent while NAT.Wants says it is ready for an attempt.
	Ticket Ticket
	// Quiet (flag bit 3) says the sender pays for every packet it sends or
	// receives (a phone on the mobile profile): its peers walk to it only
	// when they have nobody else to walk to, and it introduces others only
	// to a requester that asks for more peers (WantMore).
	Quiet bool
	// Reach is which IP families the sender can send to (flag bits 4 and
	// 5): an introducer pairs it only with peers it can reach and that
	// can reach it. Zero: not said; then only the family it is seen in.
	Reach Reach
	// Meet names peers the sender wants to be introduced to again (key 16,
	// at most MaxMeet): after a move, peers behind cone NATs filter its new
	// address until they puncture toward it, and the receiver asks those
	// it knows to do so.
	Meet []ID
	// Seed (flag bit 6) says the sender speaks the seed protocol
	// (proto/seed) on the socket it sends from: an introducer may name a
	// seed node to it (IntroResponse.SeedInvitee) and ask it to puncture
	// toward one (PunctureRequest.SeedTarget). Nodes without it are never
	// sent either.
	Seed bool
}

const introRequestKeys = 1<<keyNonce | 1<<keyLAN | 1<<keyToken | 1<<keyCommunities | 1<<keyFlags | 1<<keyNAT | 1<<keyTicket | 1<<keyMeet

// Type returns TypeIntroRequest.
func (*IntroRequest) Type() Type { return TypeIntroRequest }

// AppendBody appends the msgpack body of m to b.
func (m *IntroRequest) AppendBody(b []byte) ([]byte, error) {
	var flags uint64
	if m.KeepAlive {
		flags |= flagKeepAlive
	}
	if m.Symmetric {
		flags |= flagSymmetric
	}
	if m.WantMore {
		flags |= flagWantMore
	}
	if m.Quiet {
		flags |= flagQuiet
	}
	if m.Reach&ReachIPv4 != 0 {
		flags |= flagReach4
	}
	if m.Reach&ReachIPv6 != 0 {
		flags |= flagReach6
	}
	if m.Seed {
		flags |= flagSeed
	}
	return appendBody(b, introRequestKeys, &body{nonce: m.Nonce, lan: m.LAN, token: m.Token, communities: m.Communities, flags: flags, nat: m.NAT.pack(), ticket: m.Ticket, meet: m.Meet})
}

// DecodeIntroRequestInto decodes the body of an IntroRequest into m,
// reusing the storage of m's slices: a receive loop that keeps one m
// allocates nothing. m's fields are undefined after an error.
func DecodeIntroRequestInto(b []byte, m *IntroRequest) error {
	f := body{token: m.Token, communities: m.Communities, meet: m.Meet}
	err := decodeBodyInto(b, introRequestKeys, 1<<keyNonce, &f)
	*m = introRequestOf(&f)
	return err
}

// DecodeIntroRequest decodes the body of an IntroRequest.
func DecodeIntroRequest(b []byte) (IntroRequest, error) {
	f, err := decodeBody(b, introRequestKeys, 1<<keyNonce)
	return introRequestOf(&f), err
}

// introRequestOf is the IntroRequest of a decoded body.
func introRequestOf(f *body) IntroRequest {
	return IntroRequest{Nonce: f.nonce, LAN: f.lan, Token: f.token, Communities: f.communities,
		KeepAlive: f.flags&flagKeepAlive != 0, Symmetric: f.flags&flagSymmetric != 0, WantMore: f.flags&flagWantMore != 0,
		Quiet: f.flags&flagQuiet != 0, Reach: reachOf(f.flags), Seed: f.flags&flagSeed != 0,
		NAT: unpackNAT(f.nat), Ticket: f.ticket, Meet: f.meet}
}

// IntroResponse (B to A) answers an IntroRequest with peers, an invitee C
// that B has asked to puncture toward A, and a token for A's address.
// Body keys: 1 nonce (required), 2 lan, 3 token, 4 communities, 5 peers,
// 6 invitee, 9 more invitees, 10 nat and 15 ticket (the invitee's), 17
// alt port, 18 seed invitee.
type IntroResponse struct {
	Nonce       uint64         // echo of the request's Nonce
	LAN         netip.AddrPort // responder's LAN address
	Token       []byte         // token issued to the requester's address, <= MaxToken
	Communities []ID           // communities the responder serves; <= MaxCommunities
	Peers       []PeerInfo     // <= MaxIntroPeers
	Invitee     *PeerInfo      // nil when no invitee
	// MoreInvitees are further invitees, asked to puncture toward A like
	// the first, for a request with WantMore; <= MaxMoreInvitees.
	MoreInvitees []PeerInfo
	// InviteeNAT is the first invitee's NAT as it announced it (key 10),
	// so that A knows whether to probe for it.
	InviteeNAT NATHint
	// InviteeTicket is the first invitee's own Ticket (key 15), relayed
	// when the introducer tells both sides to probe.
	InviteeTicket Ticket
	// AltPort (key 17) is the responder's second port: a public node
	// answers intro requests at its IP and this port too, from this port,
	// so that a requester with one observer can tell how its NAT maps (a
	// new public port per destination: symmetric). 0: none.
	AltPort uint16
	// SeedInvitee (key 18) is a seed node that the responder asked (in the
	// seed protocol) to puncture toward the requester; only for a request
	// with Seed. Nil when none, and always with InviteeTicket (the two
	// would not fit in a sealed datagram together: ErrLimit).
	SeedInvitee *SeedInfo
}

const introResponseKeys = 1<<keyNonce | 1<<keyLAN | 1<<keyToken | 1<<keyCommunities | 1<<keyPeers | 1<<keyInvitee | 1<<keyMore | 1<<keyNAT | 1<<keyTicket |
	1<<keyAltPort | 1<<keySeedInvitee

// Type returns TypeIntroResponse.
func (*IntroResponse) Type() Type { return TypeIntroResponse }

// AppendBody appends the msgpack body of m to b.
func (m *IntroResponse) AppendBody(b []byte) ([]byte, error) {
	return appendBody(b, introResponseKeys, &body{nonce: m.Nonce, lan: m.LAN, token: m.Token,
		communities: m.Communities, peers: m.Peers, invitee: m.Invitee, more: m.MoreInvitees, nat: m.InviteeNAT.pack(), ticket: m.InviteeTicket,
		altPort: uint64(m.AltPort), seedInvitee: m.SeedInvitee})
}

// DecodeIntroResponseInto decodes the body of an IntroResponse into m,
// reusing the storage of m's slices and invitee. m's fields are undefined
// after an error.
func DecodeIntroResponseInto(b []byte, m *IntroResponse) error {
	f := body{token: m.Token, communities: m.Communities, peers: m.Peers, invitee: m.Invitee, more: m.MoreInvitees, seedInvitee: m.SeedInvitee}
	err := decodeBodyInto(b, introResponseKeys, 1<<keyNonce, &f)
	*m = introResponseOf(&f)
	return err
}

// DecodeIntroResponse decodes the body of an IntroResponse.
func DecodeIntroResponse(b []byte) (IntroResponse, error) {
	f, err := decodeBody(b, introResponseKeys, 1<<keyNonce)
	return introResponseOf(&f), err
}

// introResponseOf is the IntroResponse of a decoded body.
func introResponseOf(f *body) IntroResponse {
	return IntroResponse{Nonce: f.nonce, LAN: f.lan, Token: f.token, Communities: f.communities,
		Peers: f.peers, Invitee: f.invitee, MoreInvitees: f.more, InviteeNAT: unpackNAT(f.nat), InviteeTicket: f.ticket,
		AltPort: uint16(f.altPort), SeedInvitee: f.seedInvitee}
}

// PunctureRequest (B to C) asks C to send a Puncture toward Target (A).
// Body keys: 1 nonce (required), 7 target, 10 nat, 15 ticket (the
// target's), 19 seed target; exactly one of 7 and 19.
type PunctureRequest struct {
	Nonce     uint64   // identifies the introduction (the request's nonce)
	Target    PeerInfo // the peer to puncture toward: ID, LAN, and WAN as the introducer sees it
	TargetNAT NATHint  // the target's NAT as it announced it
	// TargetTicket is the target's own Ticket (key 15), relayed when the
	// introducer tells both sides to probe.
	TargetTicket Ticket
	// SeedTarget (key 19) stands in for Target when the node to puncture
	// toward is a seed node, which has no walkie ID: the receiver then
	// sends it a seed intro request. Only to a node that said it speaks
	// the seed protocol (IntroRequest.Seed).
	SeedTarget *SeedInfo
}

const punctureRequestKeys = 1<<keyNonce | 1<<keyTarget | 1<<keyNAT | 1<<keyTicket | 1<<keySeedTarget

// Type returns TypePunctureRequest.
func (*PunctureRequest) Type() Type { return TypePunctureRequest }

// AppendBody appends the msgpack body of m to b.
func (m *PunctureRequest) AppendBody(b []byte) ([]byte, error) {
	if m.SeedTarget != nil && !m.Target.ID.IsZero() {
		return b, ErrBadBody // one target
	}
	return appendBody(b, punctureRequestKeys, &body{nonce: m.Nonce, target: m.Target, nat: m.TargetNAT.pack(), ticket: m.TargetTicket,
		seedTarget: m.SeedTarget})
}

// DecodePunctureRequest decodes the body of a PunctureRequest. A request
// with neither a target nor a seed target, or with both, is ErrBadBody.
func DecodePunctureRequest(b []byte) (PunctureRequest, error) {
	f, err := decodeBody(b, punctureRequestKeys, 1<<keyNonce)
	if err == nil && f.target.ID.IsZero() == (f.seedTarget == nil) {
		err = ErrBadBody
	}
	return PunctureRequest{Nonce: f.nonce, Target: f.target, TargetNAT: unpackNAT(f.nat), TargetTicket: f.ticket, SeedTarget: f.seedTarget}, err
}

// Puncture (C to A) opens C's NAT toward A and carries a token, so that A's
// next IntroRequest to C is verified at once.
// Body keys: 1 nonce (required), 2 lan, 3 token.
type Puncture struct {
	Nonce uint64         // copied from the puncture request
	LAN   netip.AddrPort // puncturer's LAN address
	Token []byte         // token issued by the puncturer to the target's address, <= MaxToken
}

const punctureKeys = 1<<keyNonce | 1<<keyLAN | 1<<keyToken

// Type returns TypePuncture.
func (*Puncture) Type() Type { return TypePuncture }

// AppendBody appends the msgpack body of m to b.
func (m *Puncture) AppendBody(b []byte) ([]byte, error) {
	return appendBody(b, punctureKeys, &body{nonce: m.Nonce, lan: m.LAN, token: m.Token})
}

// DecodePuncture decodes the body of a Puncture.
func DecodePuncture(b []byte) (Puncture, error) {
	f, err := decodeBody(b, punctureKeys, 1<<keyNonce)
	return Puncture{Nonce: f.nonce, LAN: f.lan, Token: f.token}, err
}

// Beacon announces a peer to its LAN through a multicast group.
// Body keys: 2 lan, 4 communities; both optional, so an empty map is a
// valid beacon.
type Beacon struct {
	LAN         netip.AddrPort // sender's LAN address
	Communities []ID           // communities the sender serves; <= MaxCommunities
}

const beaconKeys = 1<<keyLAN | 1<<keyCommunities

// Type returns TypeBeacon.
func (*Beacon) Type() Type { return TypeBeacon }

// AppendBody appends the msgpack body of m to b.
func (m *Beacon) AppendBody(b []byte) ([]byte, error) {
	return appendBody(b, beaconKeys, &body{lan: m.LAN, communities: m.Communities})
}

// DecodeBeacon decodes the body of a Beacon.
func DecodeBeacon(b []byte) (Beacon, error) {
	f, err := decodeBody(b, beaconKeys, 0)
	return Beacon{LAN: f.lan, Communities: f.communities}, err
}

// Handshake is one message of the Noise XX handshake by which two peers
// prove their keys and agree on session keys (docs/protocol.md). Step 1
// (initiator to responder) carries the responder's token for the
// initiator's address, so that the larger step 2 goes only to a verified
// address; step 2 and 3 carry each side's Ed25519 key and its signature of
// the Noise static key, inside the Noise encryption.
// Body keys: 3 token, 11 step (required), 12 index, 13 peer index, 14 noise
// (required).
type Handshake struct {
	Step      uint8  // 1, 2 or 3
	Token     []byte // step 1: the responder's token for the initiator's address; <= MaxToken
	Index     uint32 // steps 1 and 2: the sender's session index, which sealed datagrams to it carry
	PeerIndex uint32 // steps 2 and 3: the receiver's index, echoed so it finds its handshake
	Noise     []byte // the Noise message; <= MaxNoise
}

const handshakeKeys = 1<<keyToken | 1<<keyStep | 1<<keyIndex | 1<<keyPeerIndex | 1<<keyNoise

// Type returns TypeHandshake.
func (*Handshake) Type() Type { return TypeHandshake }

// AppendBody appends the msgpack body of m to b.
func (m *Handshake) AppendBody(b []byte) ([]byte, error) {
	if m.Step < 1 || m.Step > 3 {
		return b, ErrBadBody
	}
	return appendBody(b, handshakeKeys, &body{token: m.Token, step: uint64(m.Step), index: uint64(m.Index),
		peerIndex: uint64(m.PeerIndex), noise: m.Noise})
}

// DecodeHandshakeInto decodes the body of a Handshake into m, reusing the
// storage of its slices. A step other than 1 to 3 is ErrBadBody.
func DecodeHandshakeInto(b []byte, m *Handshake) error {
	f := body{token: m.Token, noise: m.Noise}
	err := decodeBodyInto(b, handshakeKeys, 1<<keyStep|1<<keyNoise, &f)
	if err == nil && (f.step < 1 || f.step > 3) {
		err = ErrBadBody
	}
	*m = Handshake{Step: uint8(f.step), Token: f.token, Index: uint32(f.index), PeerIndex: uint32(f.peerIndex), Noise: f.noise}
	return err
}

// DecodeHandshake decodes the body of a Handshake.
func DecodeHandshake(b []byte) (Handshake, error) {
	var m Handshake
	err := DecodeHandshakeInto(b, &m)
	return m, err
}
