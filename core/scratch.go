package core

import (
	"github.com/walkie-p2p/walkie/proto"
	"github.com/walkie-p2p/walkie/proto/seed"
)

// scratch is the worker's reusable message storage: handling a packet
// allocates nothing once these have grown. Only the worker uses it, and
// nothing decoded into it may be kept past the handler: what the peer table
// keeps is copied.
type scratch struct {
	req     proto.IntroRequest  // decoded requests
	resp    proto.IntroResponse // decoded responses
	preqIn  proto.PunctureRequest
	punIn   proto.Puncture
	beacon  proto.Beacon
	answer  proto.IntroResponse // responses we send
	invitee proto.PeerInfo
	preq    proto.PunctureRequest
	pun     punctureMsg
	ask     proto.IntroRequest // requests we send
	shake   proto.Handshake    // decoded handshakes
	sample  []*peer
	picked  []*peer // the invitees of one answer
	tok     [tokenLen]byte
	// The seed protocol's (seed.go).
	seedReq     seed.IntroRequest
	seedResp    seed.IntroResponse
	seedPreq    seed.PunctureRequest
	seedInfo    proto.SeedInfo
	seedPeers   []*seedPeer
	seedWalkies []*peer
}
