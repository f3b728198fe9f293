package proto

import "net/netip"

// Body keys. All messages share one key space, so a key means the same
// thing wherever it appears and one decoder serves every message. Wire
// constants: append only, never renumber. Keys must stay below 64 (they
// index a bit mask) and each message below 16 fields (a fixmap).
const (
	keyNonce       = 1  // uint
	keyLAN         = 2  // address
	keyToken       = 3  // bin, at most MaxToken bytes
	keyCommunities = 4  // array of at most MaxCommunities IDs
	keyPeers       = 5  // array of at most MaxIntroPeers PeerInfo maps
	keyInvitee     = 6  // PeerInfo map
	keyTarget      = 7  // PeerInfo map
	keyFlags       = 8  // uint bit set; unknown bits are ignored
	keyMore        = 9  // array of at most MaxMoreInvitees PeerInfo maps
	keyNAT         = 10 // uint, a packed NATHint
	keyStep        = 11 // uint, 1 to 3: the handshake message
	keyIndex       = 12 // uint32: the sender's session index
	keyPeerIndex   = 13 // uint32: the receiver's session index, echoed
	keyNoise       = 14 // bin, at most MaxNoise bytes: a Noise handshake message
	keyTicket      = 15 // bin of TicketLen bytes: a port prediction Ticket
	keyMeet        = 16 // array of at most MaxMeet IDs: peers to be introduced to again
	keyAltPort     = 17 // uint, 1 to 65535: the responder's second port (discover.go in core)
	keySeedInvitee = 18 // SeedInfo map: a seed node asked to puncture toward the requester
	keySeedTarget  = 19 // SeedInfo map: the seed node to puncture toward
)

// Flag bits of key 8.
const (
	// flagKeepAlive marks an IntroRequest that only keeps a NAT mapping
	// open: the responder answers, but introduces nobody.
	flagKeepAlive = 1 << 0
	// flagSymmetric says the sender's WAN vote found a symmetric NAT, so
	// that introducers do not spend a puncture that cannot work.
	flagSymmetric = 1 << 1
	// flagWantMore asks for more than one invitee: the sender knows few
	// peers yet, and each invitee is a peer it can meet at once.
	flagWantMore = 1 << 2
	// flagQuiet says the sender pays for every packet (a phone on the
	// mobile profile): walk to it only when no other peer is left.
	flagQuiet = 1 << 3
	// flagReach4 and flagReach6 say which IP families the sender can send
	// to (IPv4 through NAT64 counts); neither set: not said (a node of an
	// earlier release), so only the family it is seen in.
	flagReach4 = 1 << 4
	flagReach6 = 1 << 5
	// flagSeed says the sender speaks the seed protocol (proto/seed) on
	// the socket it sends from: an introducer may name seed nodes to it
	// and ask it to puncture toward them.
	flagSeed = 1 << 6
)

// body holds the fields of any message, by key.
type body struct {
	nonce       uint64
	lan         netip.AddrPort
	token       []byte
	communities []ID
	peers       []PeerInfo
	invitee     *PeerInfo
	target      PeerInfo
	flags       uint64
	more        []PeerInfo
	nat         uint64
	step        uint64
	index       uint64
	peerIndex   uint64
	noise       []byte
	ticket      Ticket
	meet        []ID
	altPort     uint64
	seedInvitee *SeedInfo
	seedTarget  *SeedInfo
}

// appendBody appends the fields of f whose keys are in keys, in key order.
// The nonce is always written, and so is the target unless a seed target
// stands in for it; the other fields are omitted when empty, which the
// decoder reads back as the same zero value.
func appendBody(b []byte, keys uint64, f *body) ([]byte, error) {
	if len(f.token) > MaxToken || len(f.communities) > MaxCommunities || len(f.peers) > MaxIntroPeers || len(f.more) > MaxMoreInvitees ||
		len(f.noise) > MaxNoise || f.index > maxIndex || f.peerIndex > maxIndex ||
		(!f.ticket.IsZero() && (len(f.peers) > MaxIntroPeersWithTicket || f.seedInvitee != nil)) || len(f.meet) > MaxMeet {
		return b, ErrLimit
	}
	has := func(k uint64, cond bool) bool { return keys&(1<<k) != 0 && cond }
	hasNonce, hasLAN := has(keyNonce, true), has(keyLAN, f.lan.IsValid())
	hasToken, hasComm := has(keyToken, len(f.token) > 0), has(keyCommunities, len(f.communities) > 0)
	hasPeers, hasInvitee := has(keyPeers, len(f.peers) > 0), has(keyInvitee, f.invitee != nil)
	hasTarget, hasFlags := has(keyTarget, f.seedTarget == nil || !f.target.ID.IsZero()), has(keyFlags, f.flags != 0)
	hasMore, hasNAT := has(keyMore, len(f.more) > 0), has(keyNAT, f.nat != 0)
	hasStep, hasIndex := has(keyStep, true), has(keyIndex, f.index != 0)
	hasPeerIndex, hasNoise := has(keyPeerIndex, f.peerIndex != 0), has(keyNoise, true)
	hasTicket, hasMeet := has(keyTicket, !f.ticket.IsZero()), has(keyMeet, len(f.meet) > 0)
	hasAlt, hasSeedInv, hasSeedTarget := has(keyAltPort, f.altPort != 0), has(keySeedInvitee, f.seedInvitee != nil), has(keySeedTarget, f.seedTarget != nil)

	out := appendMapLen(b, count(hasNonce, hasLAN, hasToken, hasComm, hasPeers, hasInvitee, hasTarget, hasFlags, hasMore, hasNAT,
		hasStep, hasIndex, hasPeerIndex, hasNoise, hasTicket, hasMeet, hasAlt, hasSeedInv, hasSeedTarget))
	if hasNonce {
		out = appendUint(appendUint(out, keyNonce), f.nonce)
	}
	if hasLAN {
		out = appendAddr(appendUint(out, keyLAN), f.lan)
	}
	if hasToken {
		out = appendBin(appendUint(out, keyToken), f.token)
	}
	if hasComm {
		out = appendIDs(appendUint(out, keyCommunities), f.communities)
	}
	var err error
	if hasPeers {
		out = appendArrayLen(appendUint(out, keyPeers), len(f.peers))
		for i := range f.peers {
			if out, err = appendPeerInfo(out, &f.peers[i]); err != nil {
				return b, err
			}
		}
	}
	if hasInvitee {
		if out, err = appendPeerInfo(appendUint(out, keyInvitee), f.invitee); err != nil {
			return b, err
		}
	}
	if hasTarget {
		if out, err = appendPeerInfo(appendUint(out, keyTarget), &f.target); err != nil {
			return b, err
		}
	}
	if hasFlags {
		out = appendUint(appendUint(out, keyFlags), f.flags)
	}
	if hasMore {
		out = appendArrayLen(appendUint(out, keyMore), len(f.more))
		for i := range f.more {
			if out, err = appendPeerInfo(out, &f.more[i]); err != nil {
				return b, err
			}
		}
	}
	if hasNAT {
		out = appendUint(appendUint(out, keyNAT), f.nat)
	}
	if hasStep {
		out = appendUint(appendUint(out, keyStep), f.step)
	}
	if hasIndex {
		out = appendUint(appendUint(out, keyIndex), f.index)
	}
	if hasPeerIndex {
		out = appendUint(appendUint(out, keyPeerIndex), f.peerIndex)
	}
	if hasNoise {
		out = appendBin(appendUint(out, keyNoise), f.noise)
	}
	if hasTicket {
		out = f.ticket.append(appendUint(out, keyTicket))
	}
	if hasMeet {
		out = appendIDs(appendUint(out, keyMeet), f.meet)
	}
	if hasAlt {
		out = appendUint(appendUint(out, keyAltPort), f.altPort)
	}
	if hasSeedInv {
		if out, err = appendSeedInfo(appendUint(out, keySeedInvitee), f.seedInvitee); err != nil {
			return b, err
		}
	}
	if hasSeedTarget {
		if out, err = appendSeedInfo(appendUint(out, keySeedTarget), f.seedTarget); err != nil {
			return b, err
		}
	}
	return out, nil
}

// decodeBody decodes the fields whose keys are in known; the keys in
// required must be present.
func decodeBody(b []byte, known, required uint64) (body, error) {
	var f body
	err := decodeBodyInto(b, known, required, &f)
	return f, err
}

// decodeBodyInto is decodeBody reusing the storage of f's token,
// communities, peers and invitee, so that a decoder in a loop allocates
// nothing once its buffers have grown. f is undefined after an error.
func decodeBodyInto(b []byte, known, required uint64, f *body) error {
	r := reader{b: b}
	token, comms, peers, invitee, more, noise, meet := f.token, f.communities, f.peers, f.invitee, f.more, f.noise, f.meet
	seedInv, seedTarget := f.seedInvitee, f.seedTarget
	*f = body{}
	present, err := r.fields(known, func(k uint64) (err error) {
		switch k {
		case keyNonce:
			f.nonce, err = r.uint()
		case keyLAN:
			f.lan, err = r.addr()
		case keyToken:
			f.token, err = r.token(token)
		case keyCommunities:
			f.communities, err = r.ids(comms)
		case keyPeers:
			f.peers, err = r.peers(peers, MaxIntroPeers)
		case keyInvitee:
			var p PeerInfo
			if p, err = r.peerInfo(); err == nil {
				if invitee == nil {
					invitee = new(PeerInfo)
				}
				*invitee = p
				f.invitee = invitee
			}
		case keyTarget:
			f.target, err = r.peerInfo()
		case keyFlags:
			f.flags, err = r.uint()
		case keyMore:
			f.more, err = r.peers(more, MaxMoreInvitees)
		case keyNAT:
			f.nat, err = r.uint()
		case keyStep:
			f.step, err = r.uint()
		case keyIndex:
			f.index, err = r.index()
		case keyPeerIndex:
			f.peerIndex, err = r.index()
		case keyNoise:
			var p []byte
			if p, err = r.bin(MaxNoise); err == nil {
				f.noise = append(noise[:0], p...)
			}
		case keyTicket:
			f.ticket, err = r.ticket()
		case keyMeet:
			f.meet, err = r.idsMax(meet, MaxMeet)
		case keyAltPort:
			if f.altPort, err = r.uint(); err == nil && f.altPort > 65535 {
				err = ErrBadAddress // 0, like an omitted key, means none
			}
		case keySeedInvitee:
			f.seedInvitee, err = r.seedInfoInto(&seedInv)
		case keySeedTarget:
			f.seedTarget, err = r.seedInfoInto(&seedTarget)
		}
		return err
	})
	if err != nil {
		return err
	}
	if present&required != required {
		return ErrBadBody
	}
	if !f.ticket.IsZero() && (len(f.peers) > MaxIntroPeersWithTicket || f.seedInvitee != nil) {
		return ErrLimit // what appendBody refuses: it would not fit sealed
	}
	return nil
}
