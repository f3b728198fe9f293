package proto

// Wire constants. They are part of the protocol: changing one needs a new
// Version.
const (
	Magic0, Magic1 = 0x57, 0x4B // "WK"
	Version        = 1

	// MaxDatagram is the largest datagram walkie sends or accepts: the
	// IPv6 minimum MTU, so a datagram is never fragmented on any path.
	MaxDatagram = 1280

	MaxToken        = 32  // bytes in a token; an HMAC-SHA256 fits
	MaxCommunities  = 16  // community IDs in one request, response or beacon
	MaxIntroPeers   = 8   // peers in one introduction response
	MaxMoreInvitees = 3   // invitees beyond the first in one introduction response
	MaxNoise        = 256 // bytes of a Noise handshake message in a Handshake (the largest walkie sends is 192)
	MaxMeet         = 8   // peer IDs in one request to be introduced to again

	// MaxIntroPeersWithTicket is MaxIntroPeers for a response that carries
	// the invitee's Ticket: the largest such response must still fit in a
	// sealed datagram.
	MaxIntroPeersWithTicket = MaxIntroPeers - 1

	MinHeaderLen = 43 // header with an IPv4 destination
	MaxHeaderLen = 55 // header with an IPv6 destination
)

// maxIndex is the largest session index: indexes are uint32, as the sealed
// prefix carries them.
const maxIndex = 1<<32 - 1

// maxFields bounds the entries, known and unknown, of one msgpack map, so a
// body cannot make the decoder loop long over tiny entries.
const maxFields = 32
