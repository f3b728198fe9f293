package core_test

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/proto/seed"
)

// fakeSeed is a node of the 2016 app, written from its behaviour as the
// seed protocol note describes it (docs/protocol.md, "The seed protocol"):
// a 5 s walk to a random alive peer, introductions with an invitee and a
// pex, a puncture for whoever it is asked to, peers found by peer_id or
// address. Its listener dies, as the app's does, on any datagram that
// starts with 'd' or a byte of 0x80 or more and that its decoder (modelled
// by seed.Check) refuses: dead then fails the test.
type fakeSeed struct {
	t    *testing.T
	conn *memnet.Conn
	id   seed.PeerID
	lan  netip.AddrPort
	rng  *rand.Rand

	mu    sync.Mutex
	peers []*fakePeer
	dead  error // what killed its listener
	wan   netip.AddrPort
	asked []seed.Peer // the puncture_peer of every puncture request it got
}

type fakePeer struct {
	id          seed.PeerID
	addr        netip.AddrPort
	sent        time.Time // last send to it; zero: never
	heardSince  bool      // heard from it since the last send
	hasSentData bool
	lastHeard   time.Time
	operator    string
}

// alive is the app's test: never sent to, sent to under 20 s ago, or heard
// from since the last send.
func (p *fakePeer) alive(now time.Time) bool {
	return p.sent.IsZero() || now.Sub(p.sent) < 20*time.Second || p.heardSince
}

// newFakeSeed starts a seed node on h:1873 with id, knowing boot (by
// address only, as the app's hard-coded bootstrap).
func newFakeSeed(t *testing.T, h *memnet.Host, id string, boot ...netip.AddrPort) *fakeSeed {
	t.Helper()
	c, err := h.Listen(seed.Port)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := seed.ParsePeerID(id)
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSeed{t: t, conn: c, id: pid, lan: c.LocalAddr(), rng: rand.New(rand.NewPCG(uint64(pid[0]), uint64(pid[7])))}
	for _, b := range boot {
		s.peers = append(s.peers, &fakePeer{addr: b})
	}
	done := make(chan struct{})
	go s.read()
	go s.walk(done)
	t.Cleanup(func() {
		close(done)
		c.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.dead != nil {
			t.Errorf("seed %s: its listener died: %v", s.id, s.dead)
		}
	})
	return s
}

func (s *fakeSeed) walk(done chan struct{}) {
	for {
		s.mu.Lock()
		now := time.Now()
		var alive []*fakePeer
		for _, p := range s.peers {
			if p.alive(now) {
				alive = append(alive, p)
			}
		}
		if len(alive) > 0 && s.dead == nil {
			p := alive[s.rng.IntN(len(alive))]
			s.send(p, &seed.IntroRequest{Sender: s.id, Destination: p.addr, Connection: seed.ConnectionWiFi})
		}
		s.mu.Unlock()
		select {
		case <-done:
			return
		case <-time.After(5 * time.Second):
		}
	}
}

// send writes m to p and records it. Locked.
func (s *fakeSeed) send(p *fakePeer, m seed.Message) {
	s.sendTo(p.addr, m)
	p.sent, p.heardSince = time.Now(), false
}

func (s *fakeSeed) sendTo(to netip.AddrPort, m seed.Message) {
	b, err := seed.Append(nil, m)
	if err != nil {
		s.t.Errorf("seed %s: encoding %v: %v", s.id, m.Type(), err)
		return
	}
	s.conn.WriteTo(b, to) //nolint:errcheck // a datagram
}

func (s *fakeSeed) read() {
	buf := make([]byte, seed.MaxDatagram)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		if b[0] != 'd' && b[0] < 0x80 {
			continue // walkie's datagrams ("WK"): dropped, and it carries on
		}
		s.mu.Lock()
		if err := seed.Check(b); err != nil {
			s.dead = err // the app's listen thread dies here
			s.mu.Unlock()
			return
		}
		m, err := seed.Decode(b)
		if err == nil {
			s.handle(m, from)
		}
		s.mu.Unlock()
	}
}

// find returns the peer with id, else at addr, else a new one (never
// ourselves or our WAN vote). Locked.
func (s *fakeSeed) find(id seed.PeerID, addr netip.AddrPort) *fakePeer {
	if id == s.id || addr == s.wan {
		return nil
	}
	for _, p := range s.peers {
		if !id.IsZero() && p.id == id {
			p.addr = addr // the same id from a new address moves the entry
			return p
		}
	}
	for _, p := range s.peers {
		if p.addr == addr {
			if p.id.IsZero() {
				p.id = id
			}
			return p
		}
	}
	p := &fakePeer{id: id, addr: addr}
	s.peers = append(s.peers, p)
	return p
}

func dest(m seed.Message) (seed.PeerID, netip.AddrPort) {
	switch m := m.(type) {
	case *seed.IntroRequest:
		return m.Sender, m.Destination
	case *seed.IntroResponse:
		return m.Sender, m.Destination
	case *seed.PunctureRequest:
		return m.Sender, m.Destination
	case *seed.Puncture:
		return m.Sender, m.Destination
	}
	return seed.PeerID{}, netip.AddrPort{}
}

// handle is the app's handler. Locked.
func (s *fakeSeed) handle(m seed.Message, from netip.AddrPort) {
	id, d := dest(m)
	s.wan = d // its vote (one voter here: the majority of three is close enough)
	p := s.find(id, from)
	if p == nil {
		return
	}
	now := time.Now()
	p.heardSince, p.hasSentData, p.lastHeard = true, true, now
	switch m := m.(type) {
	case *seed.IntroRequest:
		p.operator = m.Operator
		resp := &seed.IntroResponse{Sender: s.id, Destination: from, Connection: seed.ConnectionWiFi, InternalSource: s.lan}
		for _, q := range s.peers {
			if q.hasSentData && !q.id.IsZero() && q.alive(now) && len(resp.Pex) < seed.MaxPex {
				resp.Pex = append(resp.Pex, seed.Peer{ID: q.id, Addr: q.addr})
			}
		}
		var inv *fakePeer
		if len(s.peers) > 1 {
			var others []*fakePeer
			for _, q := range s.peers {
				if q != p && q.alive(now) {
					others = append(others, q)
				}
			}
			if len(others) > 0 {
				inv = others[s.rng.IntN(len(others))]
				resp.Invitee = &seed.Peer{ID: inv.id, Addr: inv.addr}
			}
		}
		s.send(p, resp)
		if inv != nil {
			s.send(inv, &seed.PunctureRequest{Sender: s.id, Destination: inv.addr, Source: s.lan, PuncturePeer: seed.Peer{ID: p.id, Addr: from}})
		}
	case *seed.IntroResponse:
		for _, q := range m.Pex {
			if q.ID != s.id {
				s.find(q.ID, q.Addr)
			}
		}
	case *seed.PunctureRequest:
		s.asked = append(s.asked, m.PuncturePeer)
		if !slices.ContainsFunc(s.peers, func(q *fakePeer) bool { return q.id == m.PuncturePeer.ID }) {
			s.sendTo(m.PuncturePeer.Addr, &seed.Puncture{Sender: s.id, Destination: m.PuncturePeer.Addr, Source: s.lan})
		}
	}
}

// askedToPuncture reports whether the seed was asked to puncture toward p.
func (s *fakeSeed) askedToPuncture(p seed.Peer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.asked, p)
}

// knowsID reports whether the seed has a peer with id that sent it data.
func (s *fakeSeed) knowsID(id seed.PeerID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.peers, func(p *fakePeer) bool { return p.id == id && p.hasSentData })
}
