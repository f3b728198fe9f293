package proto

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// maxAddr is the longest address: IPv6.
func maxAddr(i byte) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: i}), 65535)
}

func maxPeer(i byte) PeerInfo {
	return PeerInfo{ID: idOf(i), LAN: maxAddr(i), WAN: maxAddr(i + 1)}
}

func maxIDs(n int) []ID {
	ids := make([]ID, n)
	for i := range ids {
		ids[i] = idOf(byte(16 * i))
	}
	ids[0][15] = 1
	return ids
}

func maxPeers(n int) []PeerInfo {
	ps := make([]PeerInfo, n)
	for i := range ps {
		ps[i] = maxPeer(byte(16*i + 1))
	}
	return ps
}

// maxMessages holds every message with every field at its largest.
func maxMessages() []Message {
	inv := maxPeer(0xee)
	nat := NATHint{Kind: NATSequential, Port: 65535, Step: MaxNATStep, Wants: true}
	tk := Ticket{Key: [32]byte(seq(0x10, 32)), Expiry: ^uint64(0), Addr: maxAddr(3), Sig: [64]byte(seq(0x40, 64))}
	seed := &SeedInfo{ID: SeedID{0xff, 0xff, 0xff, 0xff}, LAN: netip.MustParseAddrPort("255.255.255.254:65535"), WAN: netip.MustParseAddrPort("255.255.255.255:65535")}
	return []Message{
		&IntroRequest{Nonce: ^uint64(0), LAN: maxAddr(1), Token: seq(1, MaxToken), Communities: maxIDs(MaxCommunities),
			KeepAlive: true, Symmetric: true, WantMore: true, NAT: nat, Ticket: tk, Meet: maxIDs(MaxMeet), Quiet: true, Reach: ReachIPv4 | ReachIPv6, Seed: true},
		&IntroResponse{Nonce: ^uint64(0), LAN: maxAddr(1), Token: seq(1, MaxToken), Communities: maxIDs(MaxCommunities),
			Peers: maxPeers(MaxIntroPeers), Invitee: &inv, MoreInvitees: maxPeers(MaxMoreInvitees), InviteeNAT: nat, AltPort: 65535, SeedInvitee: seed},
		&IntroResponse{Nonce: ^uint64(0), LAN: maxAddr(1), Token: seq(1, MaxToken), Communities: maxIDs(MaxCommunities),
			Peers: maxPeers(MaxIntroPeersWithTicket), Invitee: &inv, MoreInvitees: maxPeers(MaxMoreInvitees), InviteeNAT: nat, InviteeTicket: tk,
			AltPort: 65535},
		&PunctureRequest{Nonce: ^uint64(0), Target: maxPeer(0xee), TargetNAT: nat, TargetTicket: tk},
		&PunctureRequest{Nonce: ^uint64(0), SeedTarget: seed, TargetNAT: nat, TargetTicket: tk},
		&Puncture{Nonce: ^uint64(0), LAN: maxAddr(1), Token: seq(1, MaxToken)},
		&Beacon{LAN: maxAddr(1), Communities: maxIDs(MaxCommunities)},
		&Handshake{Step: 3, Token: seq(1, MaxToken), Index: 1<<32 - 1, PeerIndex: 1<<32 - 1, Noise: seq(2, MaxNoise)},
	}
}

func TestMaxSizeRoundTrip(t *testing.T) {
	for _, m := range maxMessages() {
		pkt, err := Encode(nil, Header{Sender: goldenSender, Dest: maxAddr(9)}, m)
		if err != nil {
			t.Fatalf("%v: %v", m.Type(), err)
		}
		t.Logf("largest %v: %d bytes", m.Type(), len(pkt))
		if len(pkt) > MaxSealedInner {
			t.Errorf("%v: %d bytes, more than fits in a sealed datagram (%d)", m.Type(), len(pkt), MaxSealedInner)
		}
		_, got, err := decodePacket(pkt)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%v: decoded %+v, %v", m.Type(), got, err)
		}
	}
}

func TestOverLimitEncode(t *testing.T) {
	inv := maxPeer(0xee)
	for _, m := range []Message{
		&IntroRequest{Token: seq(1, MaxToken+1)},
		&IntroRequest{Communities: maxIDs(MaxCommunities + 1)},
		&IntroResponse{Token: seq(1, MaxToken+1)},
		&IntroResponse{Communities: maxIDs(MaxCommunities + 1)},
		&IntroResponse{Peers: maxPeers(MaxIntroPeers + 1), Invitee: &inv},
		&IntroResponse{MoreInvitees: maxPeers(MaxMoreInvitees + 1)},
		&IntroResponse{InviteeTicket: Ticket{Key: [32]byte{1}}, SeedInvitee: &SeedInfo{WAN: netip.MustParseAddrPort("198.51.100.3:1873")}},
		&Puncture{Token: seq(1, MaxToken+1)},
		&Beacon{Communities: maxIDs(MaxCommunities + 1)},
	} {
		b := []byte("keep")
		out, err := m.AppendBody(b)
		if err != ErrLimit || string(out) != "keep" {
			t.Errorf("%v: AppendBody = %q, %v; want ErrLimit", m.Type(), out, err)
		}
	}
}

// Over-limit bodies are crafted with the msgpack library, independently of
// this package's encoder.
func TestOverLimitDecode(t *testing.T) {
	ids := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = seq(byte(i), 16)
		}
		return out
	}
	peer := map[int]any{1: seq(1, 16), 2: seq(1, 18)}
	peers := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = peer
		}
		return out
	}
	for _, tc := range []struct {
		t    Type
		body map[int]any
	}{
		{TypeIntroRequest, map[int]any{1: 7, 3: seq(0, MaxToken+1)}},
		{TypeIntroRequest, map[int]any{1: 7, 4: ids(MaxCommunities + 1)}},
		{TypeIntroResponse, map[int]any{1: 7, 3: seq(0, MaxToken+1)}},
		{TypeIntroResponse, map[int]any{1: 7, 4: ids(MaxCommunities + 1)}},
		{TypeIntroResponse, map[int]any{1: 7, 5: peers(MaxIntroPeers + 1)}},
		{TypeIntroResponse, map[int]any{1: 7, 9: peers(MaxMoreInvitees + 1)}},
		{TypePuncture, map[int]any{1: 7, 3: seq(0, MaxToken+1)}},
		{TypeBeacon, map[int]any{4: ids(MaxCommunities + 1)}},
	} {
		body, err := msgpack.Marshal(tc.body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeMessage(tc.t, body); err != ErrLimit {
			t.Errorf("%v %x: err = %v, want ErrLimit", tc.t, body, err)
		}
		// One under the limit decodes, so the test above can fail.
		for k, v := range tc.body {
			switch v := v.(type) {
			case []byte:
				tc.body[k] = v[1:]
			case [][]byte:
				tc.body[k] = v[1:]
			case []any:
				tc.body[k] = v[1:]
			}
		}
		body, _ = msgpack.Marshal(tc.body)
		if _, err := decodeMessage(tc.t, body); err != nil {
			t.Errorf("%v %x: at the limit: %v", tc.t, body, err)
		}
	}
	// Too many map entries, even unknown ones.
	fields := map[int]any{1: 7}
	for k := 100; len(fields) <= maxFields; k++ {
		fields[k] = 0
	}
	body, _ := msgpack.Marshal(fields)
	if _, err := DecodeIntroRequest(body); err != ErrLimit {
		t.Errorf("%d fields: err = %v, want ErrLimit", len(fields), err)
	}
	delete(fields, 100)
	body, _ = msgpack.Marshal(fields)
	if _, err := DecodeIntroRequest(body); err != nil {
		t.Errorf("%d fields: err = %v", len(fields), err)
	}
}
