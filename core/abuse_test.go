package core_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/proto"
)

// raw is a hand-driven endpoint that speaks the wire format directly.
type raw struct {
	t    *testing.T
	conn *memnet.Conn
	id   proto.ID
}

func newRaw(t *testing.T, h *memnet.Host) *raw {
	c, err := h.Listen(4000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, conn: c, id: proto.ID(uuid.New())}
}

func (r *raw) send(to netip.AddrPort, m proto.Message, pad int) int {
	pkt, err := proto.Encode(nil, proto.Header{Community: proto.CoreCommunity(), Sender: r.id, Dest: to}, m)
	if err != nil {
		r.t.Fatal(err)
	}
	pkt = proto.Pad(pkt, pad)
	if err := r.conn.WriteTo(pkt, to); err != nil {
		r.t.Fatal(err)
	}
	return len(pkt)
}

// drain returns the datagrams that arrive within d of virtual time.
func (r *raw) drain(d time.Duration) [][]byte {
	var got [][]byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b := make([]byte, 2048)
			n, _, err := r.conn.ReadFrom(b)
			if err != nil {
				return
			}
			got = append(got, b[:n])
		}
	}()
	time.Sleep(d)
	r.conn.Close()
	<-done
	return got
}

func stats(o *core.Overlay) *core.Stats { return o.Metrics().(*core.Stats) }

func TestUnsolicitedResponseDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: time.Millisecond})
		defer n.Close()
		victim := node(t, n.Host(ip("198.51.100.1")), nil)
		evil := newRaw(t, n.Host(ip("192.0.2.66")))
		evil.send(victim.LAN(), &proto.IntroResponse{
			Nonce: 42, Token: make([]byte, 16),
			Invitee: &proto.PeerInfo{ID: proto.ID(uuid.New()), WAN: netip.MustParseAddrPort("192.0.2.67:1")},
		}, 0)
		evil.send(victim.LAN(), &proto.Puncture{Nonce: 7, Token: make([]byte, 16)}, 0)
		evil.send(victim.LAN(), &proto.PunctureRequest{Nonce: 7, Target: proto.PeerInfo{ID: proto.ID(uuid.New()), WAN: netip.MustParseAddrPort("192.0.2.99:80")}}, 0)
		time.Sleep(100 * time.Millisecond)
		s := stats(victim)
		if got := s.Dropped(core.DropUnsolicited); got != 1 {
			t.Errorf("unsolicited responses dropped: %d, want 1", got)
		}
		if got := s.Dropped(core.DropUnexpectedPuncture); got != 1 {
			t.Errorf("unexpected punctures dropped: %d, want 1", got)
		}
		if got := s.Dropped(core.DropUnverified); got != 1 {
			t.Errorf("puncture requests from unverified senders dropped: %d, want 1", got)
		}
		if got := s.Count(core.PuncturesSent); got != 0 {
			t.Errorf("punctures sent on an unverified request: %d", got)
		}
		if len(victim.VerifiedPeers()) != 0 {
			t.Errorf("the attacker got into the peer table: %v", victim.VerifiedPeers())
		}
	})
}

// TestNoAmplification: an introduction request without a valid token, as a
// spoofer would send, gets an answer no larger than itself and no puncture
// request on its behalf; even a big table does not make the answer bigger.
func TestNoAmplification(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: time.Millisecond})
		defer n.Close()
		target := node(t, n.Host(ip("198.51.100.1")), nil)
		for i := range 10 {
			node(t, n.Host(netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)})), []netip.AddrPort{target.LAN()})
		}
		waitFor(t, func() bool { return len(target.VerifiedPeers()) == 10 }, 5*time.Second)
		victim := newRaw(t, n.Host(ip("192.0.2.1")))
		sent := 0
		for i := range 5 {
			// The smallest request possible: no padding, no token, no LAN.
			// Its answer would be larger, so it gets none.
			sent += victim.send(target.LAN(), &proto.IntroRequest{Nonce: uint64(i)}, 0)
			// A padded request, as honest nodes send: its answer fits.
			sent += victim.send(target.LAN(), &proto.IntroRequest{Nonce: uint64(100 + i)}, 128)
		}
		got := victim.drain(time.Second)
		recv := 0
		for _, b := range got {
			recv += len(b)
			h, _, err := proto.ParseHeader(b)
			if err != nil || h.Type != proto.TypeIntroResponse {
				t.Errorf("victim got a %v (err %v); only token answers may reach an unverified address", h.Type, err)
			}
		}
		if recv > sent {
			t.Errorf("victim received %d bytes for %d sent: amplification %.2fx", recv, sent, float64(recv)/float64(sent))
		}
		if len(got) != 5 {
			t.Errorf("victim got %d answers, want 5 (one per padded request)", len(got))
		}
		if d := stats(target).Dropped(core.DropAmplification); d != 5 {
			t.Errorf("answers dropped as amplification: %d, want 5", d)
		}
		t.Logf("victim: %d datagrams, %d bytes received for %d sent", len(got), recv, sent)
	})
}
