package seed

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// maxAddr is the longest address the seed can be sent.
var maxAddr = ap("255.255.255.255:65535")

func maxPeers(n int) []Peer {
	ps := make([]Peer, n)
	for i := range ps {
		ps[i] = Peer{ID: pid("ffffffff"), Addr: maxAddr}
	}
	return ps
}

// maxResponse is the largest response with n pex entries.
func maxResponse(n int) *IntroResponse {
	return &IntroResponse{Sender: pid("ffffffff"), Destination: maxAddr, Connection: math.MinInt64,
		Operator: strings.Repeat("x", MaxOperator), InternalSource: maxAddr, Invitee: &maxPeers(1)[0], Pex: maxPeers(n)}
}

// The largest message of each type fits, and how many pex entries always
// fit is what docs/protocol.md says: 27 at their longest.
func TestMaxSizes(t *testing.T) {
	for _, tc := range []struct {
		m    Message
		size int
	}{
		{&IntroRequest{Sender: pid("ffffffff"), Destination: maxAddr, Connection: math.MinInt64, Operator: strings.Repeat("x", MaxOperator)}, 212},
		{maxResponse(0), 349},
		{maxResponse(27), 1996}, // 61 bytes a pex entry
		{&PunctureRequest{Sender: pid("ffffffff"), Destination: maxAddr, Source: maxAddr, PuncturePeer: maxPeers(1)[0]}, 213},
		{&Puncture{Sender: pid("ffffffff"), Destination: maxAddr, Source: maxAddr}, 136},
	} {
		b, err := Append(nil, tc.m)
		if err != nil || len(b) != tc.size {
			t.Errorf("%v: %d bytes, %v; want %d", tc.m.Type(), len(b), err, tc.size)
		}
		if err := Check(b); err != nil {
			t.Errorf("%v: Check: %v", tc.m.Type(), err)
		}
	}
	if b, err := Append([]byte("x"), maxResponse(28)); err != ErrTooLarge || string(b) != "x" {
		t.Errorf("28 pex at their longest: %q, %v; want ErrTooLarge", b, err)
	}
	// MaxPex fit with shorter addresses.
	m := &IntroResponse{Sender: pid("aaaaaaaa"), Destination: ap("10.0.0.2:1873"), InternalSource: ap("10.0.0.1:1873"), Pex: maxPeers(MaxPex)}
	for i := range m.Pex {
		m.Pex[i].Addr = ap("10.0.0.3:1873")
	}
	if b, err := Append(nil, m); err != nil || Check(b) != nil {
		t.Errorf("MaxPex short peers: %d bytes, %v", len(b), err)
	}
}

// Append refuses what the seed could not take, and leaves b as it was.
func TestAppendRefuses(t *testing.T) {
	ok := func() *IntroResponse {
		return &IntroResponse{Sender: pid("aaaaaaaa"), Destination: ap("192.0.2.1:1873"), InternalSource: ap("10.0.0.1:1873"),
			Invitee: &Peer{Addr: ap("192.0.2.3:1873")}, Pex: []Peer{{ID: pid("bbbbbbbb"), Addr: ap("192.0.2.2:40000")}}}
	}
	for _, tc := range []struct {
		name string
		edit func(m *IntroResponse)
		err  error
	}{
		{"zero sender", func(m *IntroResponse) { m.Sender = PeerID{} }, ErrBadMessage},
		{"uppercase sender", func(m *IntroResponse) { copy(m.Sender[:], "AAAAAAAA") }, ErrBadMessage},
		{"IPv6 destination", func(m *IntroResponse) { m.Destination = ap("[2001:db8::1]:1873") }, ErrBadAddress},
		{"no destination", func(m *IntroResponse) { m.Destination = netip.AddrPort{} }, ErrBadAddress},
		{"port 0", func(m *IntroResponse) { m.Destination = ap("192.0.2.1:0") }, ErrBadAddress},
		{"IPv6 internal source", func(m *IntroResponse) { m.InternalSource = ap("[fd00::1]:1873") }, ErrBadAddress},
		{"IPv6 invitee", func(m *IntroResponse) { m.Invitee.Addr = ap("[fd00::1]:1873") }, ErrBadAddress},
		{"invitee with a bad ID", func(m *IntroResponse) { copy(m.Invitee.ID[:], "xxxxxxxx") }, ErrBadMessage},
		{"IPv6 pex", func(m *IntroResponse) { m.Pex[0].Addr = ap("[fd00::1]:1873") }, ErrBadAddress},
		{"pex over MaxPex", func(m *IntroResponse) { m.Pex = make([]Peer, MaxPex+1) }, ErrLimit},
		{"operator over MaxOperator", func(m *IntroResponse) { m.Operator = strings.Repeat("x", MaxOperator+1) }, ErrLimit},
		{"operator not UTF-8", func(m *IntroResponse) { m.Operator = "\xff" }, ErrBadMessage},
	} {
		m := ok()
		tc.edit(m)
		b := make([]byte, 1, 4096)
		if got, err := Append(b, m); err != tc.err || len(got) != 1 {
			t.Errorf("%s: %d bytes, %v; want %v", tc.name, len(got), err, tc.err)
		}
	}
	if _, err := Append(nil, ok()); err != nil {
		t.Fatalf("the unedited message: %v", err)
	}
	for _, m := range []Message{nil, (*IntroRequest)(nil), (*IntroResponse)(nil), (*PunctureRequest)(nil), (*Puncture)(nil),
		&PunctureRequest{Sender: pid("aaaaaaaa"), Destination: ap("192.0.2.1:1873"), Source: ap("10.0.0.1:1873")}, // no puncture peer
		&Puncture{Sender: pid("aaaaaaaa"), Destination: ap("192.0.2.1:1873")},                                     // no source
		&IntroRequest{Sender: pid("aaaaaaaa"), Destination: ap("[::1]:1873")}} {
		if b, err := Append(nil, m); err == nil {
			t.Errorf("Append(%#v) = %q", m, b)
		}
	}
}

// An IPv4-mapped IPv6 address, as a dual-stack socket reports IPv4 peers,
// is written as IPv4.
func TestAppendUnmaps(t *testing.T) {
	m := &Puncture{Sender: pid("aaaaaaaa"), Destination: ap("[::ffff:192.0.2.1]:1873"), Source: ap("[::ffff:10.0.0.1]:1873")}
	b, err := Append(nil, m)
	if err != nil || !bytes.Contains(b, []byte("9:192.0.2.1")) || !bytes.Contains(b, []byte("8:10.0.0.1")) {
		t.Fatalf("%s, %v", b, err)
	}
	want := &Puncture{Sender: m.Sender, Destination: ap("192.0.2.1:1873"), Source: ap("10.0.0.1:1873")}
	if got, err := Decode(b); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v, %v", got, err)
	}
}

// randomMessage makes a message of any type with fields anywhere in their
// range that the seed can take.
func randomMessage(r *rand.Rand) Message {
	id := func() PeerID {
		const hexDigits = "0123456789abcdef"
		var p PeerID
		for i := range p {
			p[i] = hexDigits[r.IntN(16)]
		}
		return p
	}
	addr := func() netip.AddrPort {
		a := netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		if r.IntN(4) == 0 {
			a = netip.AddrFrom16(a.As16()) // IPv4-mapped
		}
		return netip.AddrPortFrom(a, uint16(1+r.IntN(65535)))
	}
	peer := func() Peer {
		p := Peer{Addr: addr()}
		if r.IntN(3) > 0 {
			p.ID = id()
		}
		return p
	}
	conn := ConnectionType(r.Int64() - r.Int64())
	op := []string{"", "T-Mobile", "Vodafone NL", "中国移动", "Orange F", strings.Repeat("é", MaxOperator/2)}[r.IntN(6)]
	switch r.IntN(4) {
	case 0:
		return &IntroRequest{Sender: id(), Destination: addr(), Connection: conn, Operator: op}
	case 1:
		m := &IntroResponse{Sender: id(), Destination: addr(), Connection: conn, Operator: op, InternalSource: addr()}
		if r.IntN(2) == 0 {
			inv := peer()
			m.Invitee = &inv
		}
		for range r.IntN(28) {
			m.Pex = append(m.Pex, peer())
		}
		return m
	case 2:
		return &PunctureRequest{Sender: id(), Destination: addr(), Source: addr(), PuncturePeer: peer()}
	}
	return &Puncture{Sender: id(), Destination: addr(), Source: addr()}
}

// unmapped returns m as Decode gives it back: IPv4 addresses unmapped.
func unmapped(m Message) Message {
	u := func(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }
	switch m := m.(type) {
	case *IntroRequest:
		c := *m
		c.Destination = u(c.Destination)
		return &c
	case *IntroResponse:
		c := *m
		c.Destination, c.InternalSource = u(c.Destination), u(c.InternalSource)
		if c.Invitee != nil {
			inv := Peer{ID: c.Invitee.ID, Addr: u(c.Invitee.Addr)}
			c.Invitee = &inv
		}
		c.Pex = nil
		for _, p := range m.Pex {
			c.Pex = append(c.Pex, Peer{ID: p.ID, Addr: u(p.Addr)})
		}
		return &c
	case *PunctureRequest:
		c := *m
		c.Destination, c.Source, c.PuncturePeer.Addr = u(c.Destination), u(c.Source), u(c.PuncturePeer.Addr)
		return &c
	case *Puncture:
		c := *m
		c.Destination, c.Source = u(c.Destination), u(c.Source)
		return &c
	}
	return m
}

// Every datagram the encoder writes passes the model of the seed's decoder
// and decodes to the message it was made from.
func TestEveryEncodingPassesCheck(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		m := randomMessage(r)
		b, err := Append(nil, m)
		if err == ErrTooLarge {
			continue // 27 long pex entries with a long operator
		}
		if err != nil {
			t.Fatalf("Append(%+v): %v", m, err)
		}
		if err := Check(b); err != nil {
			t.Fatalf("Check(%s) = %v", b, err)
		}
		got, err := Decode(b)
		if want := unmapped(m); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode(%s) = %+v, %v; want %+v", b, got, err, want)
		}
	}
}
