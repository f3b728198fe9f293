package proto

import (
	"net/netip"
)

// Fixed values of the golden vectors; docs/protocol.md shows the same.
func idOf(b byte) ID {
	var id ID
	for i := range id {
		id[i] = b + byte(i)
	}
	return id
}

func seq(start byte, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = start + byte(i)
	}
	return p
}

var (
	goldenSender = idOf(0x01)
	goldenDest4  = netip.MustParseAddrPort("203.0.113.7:1873")
	goldenDest6  = netip.MustParseAddrPort("[2001:db8::7]:1873")
)

// goldenVector is one datagram: header, message and its hex encoding.
type goldenVector struct {
	name string
	h    Header
	m    Message
	hex  string
}

func goldenHeader(dest netip.AddrPort) Header {
	return Header{Community: CoreCommunity(), Sender: goldenSender, Dest: dest}
}

func goldenVectors() []goldenVector {
	return []goldenVector{
		{
			name: "intro-request",
			h:    goldenHeader(goldenDest4),
			m: &IntroRequest{
				Nonce:       0x0123456789abcdef,
				LAN:         netip.MustParseAddrPort("192.168.1.10:1873"),
				Token:       seq(0xa0, 8),
				Communities: []ID{CoreCommunity(), idOf(0x40)},
			},
			hex: "574b01010cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8401cf0123456789abcdef02c406c0a8010a075103c408a0a1a2a3a4a5a6a70492c4100cf79f5a54b65aea93ce9a029e3b5872c410404142434445464748494a4b4c4d4e4f", // body
		},
		{
			name: "intro-request-keepalive",
			h:    goldenHeader(goldenDest4),
			m: &IntroRequest{
				Nonce:     0x0123456789abcdef,
				LAN:       netip.MustParseAddrPort("192.168.1.10:1873"),
				Token:     seq(0xa0, 16),
				KeepAlive: true,
			},
			hex: "574b01010cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8401cf0123456789abcdef02c406c0a8010a075103c410a0a1a2a3a4a5a6a7a8a9aaabacadaeaf0801", // body
		},
		{
			name: "intro-request-symmetric",
			h:    goldenHeader(goldenDest4),
			m: &IntroRequest{
				Nonce:     0x0123456789abcdef,
				Token:     seq(0xa0, 8),
				Symmetric: true,
				NAT:       NATHint{Kind: NATRandom},
			},
			hex: "574b01010cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8401cf0123456789abcdef03c408a0a1a2a3a4a5a6a708020a02", // body,
		},
		{
			name: "intro-request-quiet",
			h:    goldenHeader(goldenDest6),
			m: &IntroRequest{
				Nonce: 0x0123456789abcdef,
				Token: seq(0xa0, 8),
				Quiet: true,
				Reach: ReachIPv4 | ReachIPv6,
			},
			hex: "574b01010cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f100620010db80000000000000000000000070751" + // header
				"8301cf0123456789abcdef03c408a0a1a2a3a4a5a6a70838", // body
		},
		{
			name: "intro-response",
			h:    goldenHeader(goldenDest6),
			m: &IntroResponse{
				Nonce:       0x0123456789abcdef,
				LAN:         netip.MustParseAddrPort("[fd00::2]:1873"),
				Token:       seq(0xb0, 8),
				Communities: []ID{CoreCommunity()},
				Peers: []PeerInfo{
					{ID: idOf(0x20), LAN: netip.MustParseAddrPort("10.0.0.3:1873"), WAN: netip.MustParseAddrPort("198.51.100.3:40000")},
					{ID: idOf(0x30), WAN: netip.MustParseAddrPort("[2001:db8::30]:1873")},
				},
				Invitee: &PeerInfo{ID: idOf(0x50), LAN: netip.MustParseAddrPort("10.0.0.4:1873"), WAN: netip.MustParseAddrPort("198.51.100.4:40001")},
			},
			hex: "574b01020cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f100620010db80000000000000000000000070751" + // header
				"8601cf0123456789abcdef02c412fd000000000000000000000000000002075103c408b0b1b2b3b4b5b6b70491c4100cf79f5a54b65aea93ce9a029e3b587205928301c410202122232425262728292a2b2c2d2e2f02c4060a000003075103c406c63364039c408201c410303132333435363738393a3b3c3d3e3f03c41220010db80000000000000000000000300751068301c410505152535455565758595a5b5c5d5e5f02c4060a000004075103c406c63364049c41", // body
		},
		{
			name: "puncture-request",
			h:    goldenHeader(goldenDest4),
			m: &PunctureRequest{
				Nonce:  0x0123456789abcdef,
				Target: PeerInfo{ID: idOf(0x60), LAN: netip.MustParseAddrPort("192.168.1.10:1873"), WAN: netip.MustParseAddrPort("203.0.113.7:1873")},
			},
			hex: "574b01030cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8201cf0123456789abcdef078301c410606162636465666768696a6b6c6d6e6f02c406c0a8010a075103c406cb0071070751", // body
		},
		{
			name: "puncture-request-sequential",
			h:    goldenHeader(goldenDest4),
			m: &PunctureRequest{
				Nonce:     0x0123456789abcdef,
				Target:    PeerInfo{ID: idOf(0x60), WAN: netip.MustParseAddrPort("203.0.113.7:40001")},
				TargetNAT: NATHint{Kind: NATSequential, Port: 40001, Step: 1, Wants: true},
			},
			hex: "574b01030cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8301cf0123456789abcdef078201c410606162636465666768696a6b6c6d6e6f03c406cb0071079c410acf000000019c410103", // body,
		},
		{
			name: "puncture",
			h:    goldenHeader(goldenDest4),
			m: &Puncture{
				Nonce: 0x0123456789abcdef,
				LAN:   netip.MustParseAddrPort("10.0.0.4:1873"),
				Token: seq(0xc0, 8),
			},
			hex: "574b01040cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8301cf0123456789abcdef02c4060a000004075103c408c0c1c2c3c4c5c6c7", // body
		},
		{
			name: "beacon",
			h:    goldenHeader(netip.MustParseAddrPort("239.255.18.73:1873")),
			m: &Beacon{
				LAN:         netip.MustParseAddrPort("192.168.1.10:1873"),
				Communities: []ID{CoreCommunity()},
			},
			hex: "574b01050cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004efff12490751" + // header
				"8202c406c0a8010a07510491c4100cf79f5a54b65aea93ce9a029e3b5872", // body
		},
		{
			name: "handshake-1",
			h:    goldenHeader(goldenDest4),
			m:    &Handshake{Step: 1, Token: seq(0xa0, 16), Index: 0x01020304, Noise: seq(0x10, 32)},
			hex: "574b01060cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8403c410a0a1a2a3a4a5a6a7a8a9aaabacadaeaf0b010cce010203040ec420101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f", // body
		},
		{
			name: "handshake-2",
			h:    goldenHeader(goldenDest4),
			m:    &Handshake{Step: 2, Index: 0x0a0b0c0d, PeerIndex: 0x01020304, Noise: seq(0x30, 48)},
			hex: "574b01060cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"840b020cce0a0b0c0d0dce010203040ec430303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f", // body
		},
		{
			name: "handshake-3",
			h:    goldenHeader(goldenDest4),
			m:    &Handshake{Step: 3, PeerIndex: 0x0a0b0c0d, Noise: seq(0x60, 32)},
			hex: "574b01060cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"830b030dce0a0b0c0d0ec420606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f", // body
		},
		{
			name: "intro-request-ticket",
			h:    goldenHeader(goldenDest4),
			m: &IntroRequest{Nonce: 0x0123456789abcdef, Token: seq(0xa0, 8), NAT: NATHint{Kind: NATRandom, Wants: true},
				Ticket: Ticket{Key: [32]byte(seq(0x10, 32)), Expiry: 1_800_000_000, Addr: netip.MustParseAddrPort("203.0.113.9:0"), Sig: [64]byte(seq(0x40, 64))}},
			hex: "574b01010cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8401cf0123456789abcdef03c408a0a1a2a3a4a5a6a70acf00000001000000020fc47a101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f000000006b49d20000000000000000000000ffffcb0071090000404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f", // body
		},
		{
			name: "intro-request-meet",
			h:    goldenHeader(goldenDest4),
			m:    &IntroRequest{Nonce: 0x0123456789abcdef, Token: seq(0xa0, 8), WantMore: true, Meet: []ID{idOf(0x50), idOf(0x60)}},
			hex: "574b01010cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8401cf0123456789abcdef03c408a0a1a2a3a4a5a6a708041092c410505152535455565758595a5b5c5d5e5fc410606162636465666768696a6b6c6d6e6f", // body
		},
		{
			name: "intro-request-seed",
			h:    goldenHeader(goldenDest4),
			m:    &IntroRequest{Nonce: 0x0123456789abcdef, Token: seq(0xa0, 8), Reach: ReachIPv4, Seed: true},
			hex: "574b01010cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8301cf0123456789abcdef03c408a0a1a2a3a4a5a6a70850", // body
		},
		{
			name: "intro-response-seed",
			h:    goldenHeader(goldenDest4),
			m: &IntroResponse{Nonce: 0x0123456789abcdef, Token: seq(0xb0, 8), AltPort: 40000,
				SeedInvitee: &SeedInfo{ID: SeedID{0xcc, 0xcc, 0xcc, 0xcc}, LAN: netip.MustParseAddrPort("192.168.1.3:1873"), WAN: netip.MustParseAddrPort("198.51.100.3:1873")}},
			hex: "574b01020cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8401cf0123456789abcdef03c408b0b1b2b3b4b5b6b711cd9c40128301c404cccccccc02c406c0a80103075103c406c63364030751", // body
		},
		{
			name: "puncture-request-seed",
			h:    goldenHeader(goldenDest4),
			m:    &PunctureRequest{Nonce: 0x0123456789abcdef, SeedTarget: &SeedInfo{ID: SeedID{0xbb, 0xbb, 0xbb, 0xbb}, WAN: netip.MustParseAddrPort("198.51.100.2:1873")}},
			hex: "574b01030cf79f5a54b65aea93ce9a029e3b58720102030405060708090a0b0c0d0e0f1004cb0071070751" + // header
				"8201cf0123456789abcdef138201c404bbbbbbbb03c406c63364020751", // body
		},
	}
}
