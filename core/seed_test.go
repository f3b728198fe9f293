package core_test

import (
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/proto"
	"github.com/walkie-p2p/walkie/proto/seed"
)

// seedPeer returns a's seed_peers entry with id, if any.
func seedPeer(a *core.Overlay, id seed.PeerID) (core.SeedPeerStatus, bool) {
	for _, s := range a.Status().SeedPeers {
		if s.ID == id.String() {
			return s, true
		}
	}
	return core.SeedPeerStatus{}, false
}

// checkApart fails if a lists a seed node among its walkie peers or as a
// community member: the two worlds share the socket, not the table.
func checkApart(t *testing.T, a *core.Overlay, seeds ...*fakeSeed) {
	t.Helper()
	st := a.Status()
	for _, p := range st.Peers {
		if len(p.ID) == 8 || p.ID == "" {
			t.Errorf("%s lists %q at %s among its walkie peers", a.ID(), p.ID, p.Addr)
		}
		for _, s := range seeds {
			if p.Addr == s.conn.LocalAddr().String() {
				t.Errorf("%s lists the seed node at %s among its walkie peers", a.ID(), p.Addr)
			}
		}
	}
}

// A mixed network: a public walkie introducer B, a public seed node S1 and
// one behind a NAT (S2) that know only B, a walkie node W1 behind a NAT
// that knows only B, and a walkie node W2 that knows only S1. B introduces
// seed nodes and walkie nodes to each other (puncture requests both ways);
// W2 finds, through S1, the peers S1 knows; seed nodes hear our peer_id as
// the first 8 hex digits of our ID; nobody lists a seed node as a walkie
// peer, and no seed node's decoder ever refuses a datagram (its listener
// would die).
func TestSeedMixedNetwork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 3})
		defer n.Close()
		b := keyed(t, n.Host(ip("198.51.100.1")), nil)
		boot := []netip.AddrPort{b.LAN()}
		s1 := newFakeSeed(t, n.Host(ip("198.51.100.2")), "5eed0001", boot...)
		s2 := newFakeSeed(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.113.2"))).Host(ip("10.0.0.2")), "5eed0002", boot...)
		w1 := keyed(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.113.1"))).Host(ip("10.0.0.2")), boot)
		w2 := keyed(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.113.3"))).Host(ip("10.0.0.2")), []netip.AddrPort{s1.conn.LocalAddr()})

		waitUntil(t, 30*time.Second, "B lists both seed nodes", func() bool {
			_, ok1 := seedPeer(b, s1.id)
			_, ok2 := seedPeer(b, s2.id)
			return ok1 && ok2
		})
		if p, _ := seedPeer(b, s1.id); p.Addr != s1.conn.LocalAddr().String() {
			t.Errorf("B lists S1 at %s, want %s", p.Addr, s1.conn.LocalAddr())
		}
		waitUntil(t, 60*time.Second, "the seed nodes know B and W1 by the first 8 hex digits of their IDs", func() bool {
			return s1.knowsID(seed.PeerIDOf(b.ID())) && s2.knowsID(seed.PeerIDOf(b.ID())) && s2.knowsID(seed.PeerIDOf(w1.ID()))
		})
		// S2 sits behind a NAT: W1 reaches it only through an introduction
		// with a puncture (by B, either way round).
		waitUntil(t, 60*time.Second, "W1 lists S2, behind its NAT", func() bool {
			_, ok := seedPeer(w1, s2.id)
			return ok
		})
		// W2 knew only an original node, and finds the walkie peers it knows.
		waitUntil(t, 60*time.Second, "W2 verified S1 and found B and W1 through it", func() bool {
			_, ok := seedPeer(w2, s1.id)
			return ok && knows(w2, b) && knows(w2, w1)
		})
		for name, o := range map[string]*core.Overlay{"B": b, "W1": w1, "W2": w2} {
			checkApart(t, o, s1, s2)
			st := o.Status()
			t.Logf("%s %s: %d walkie peers, seed_peers %+v", name, seed.PeerIDOf(o.ID()), len(st.Peers), st.SeedPeers)
		}
		if d := stats(b).Dropped(core.DropSeedMalformed); d != 0 {
			t.Errorf("B dropped %d seed datagrams as malformed", d)
		}
		if stats(b).Count(core.SeedMessagesReceived) == 0 || stats(b).Count(core.SeedMessagesSent) == 0 {
			t.Error("B counted no seed messages")
		}
	})
}

// Toward an address that never answered a request of ours, a node never
// sends more bytes than it received from there, whatever it is sent: seed
// requests, punctures and puncture requests, as a spoofed source would
// send them (the victim never answers), and the same claiming to be a
// walkie node. Nothing from there is listed, and a seed puncture request
// from it is refused. A forger that also sends answers (to verify its
// victim) sends one that answers nothing first: that address is never
// verified, nor asked again.
func TestSeedNoAmplification(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: time.Millisecond})
		defer n.Close()
		w := keyed(t, n.Host(ip("198.51.100.1")), nil)
		// A seed node w knows, to be named in answers.
		other := newFakeSeed(t, n.Host(ip("198.51.100.3")), "5eed0003", w.LAN())
		waitUntil(t, 30*time.Second, "w verified a seed node", func() bool { _, ok := seedPeer(w, other.id); return ok })
		id, _ := seed.ParsePeerID("0badc0de")
		for i, tc := range []struct {
			name      string
			op        string
			answers   bool // the forger sends intro responses too, the first before any request of ours
			wantAsked bool
		}{
			{"seed", "", false, true},
			{"walkie", walkieOp, false, true},
			{"forged answers", "", true, false},
		} {
			victim, err := n.Host(netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)})).Listen(seed.Port)
			if err != nil {
				t.Fatal(err)
			}
			me := victim.LocalAddr()
			resp := &seed.IntroResponse{Sender: id, Destination: w.LAN(), InternalSource: me, Operator: tc.op,
				Pex: []seed.Peer{{ID: other.id, Addr: netip.MustParseAddrPort("192.0.2.99:1873")}}}
			msgs := []seed.Message{
				&seed.IntroRequest{Sender: id, Destination: w.LAN(), Connection: seed.ConnectionMobile, Operator: tc.op},
				&seed.Puncture{Sender: id, Destination: w.LAN(), Source: me},
				&seed.PunctureRequest{Sender: id, Destination: w.LAN(), Source: me, PuncturePeer: seed.Peer{ID: other.id, Addr: netip.MustParseAddrPort("192.0.2.98:1873")}},
			}
			if tc.answers {
				msgs = append([]seed.Message{resp}, append(msgs, resp)...)
			}
			in, received := 0, 0
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 2048)
				for {
					k, _, err := victim.ReadFrom(buf)
					if err != nil {
						return
					}
					received += k
				}
			}()
			for range 10 {
				for _, m := range msgs {
					b, err := seed.Append(nil, m)
					if err != nil {
						t.Fatal(err)
					}
					victim.WriteTo(b, w.LAN()) //nolint:errcheck
					in += len(b)
					time.Sleep(700 * time.Millisecond) // within the source rate limit
				}
			}
			time.Sleep(10 * time.Second)
			victim.Close()
			<-done
			if received > in {
				t.Errorf("%s: sent the unverified address %d bytes for the %d it sent", tc.name, received, in)
			}
			if asked := received > 0; asked != tc.wantAsked {
				t.Errorf("%s: asked the address back: %v, want %v", tc.name, asked, tc.wantAsked)
			}
			if _, ok := seedPeer(w, id); ok {
				t.Errorf("%s: an address that never answered is listed", tc.name)
			}
		}
		if d := stats(w).Dropped(core.DropUnverified); d == 0 {
			t.Error("no request or puncture request dropped as unverified")
		}
		if d := stats(w).Dropped(core.DropUnsolicited); d == 0 {
			t.Error("no answer dropped as unsolicited")
		}
	})
}

// walkieOp is the network_operator that marks a walkie node's seed messages.
const walkieOp = "walkie"

// With the seed protocol off, a seed datagram is what it was before: not
// walkie (bad_magic), unanswered; and a node speaking it does not say so
// in its requests.
func TestSeedOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: time.Millisecond})
		defer n.Close()
		w := keyed(t, n.Host(ip("198.51.100.1")), nil, func(c *core.Config) { c.NoSeed = true })
		r := newRaw(t, n.Host(ip("192.0.2.1")))
		id, _ := seed.ParsePeerID("0badc0de")
		for range 3 {
			b, _ := seed.Append(nil, &seed.IntroRequest{Sender: id, Destination: w.LAN()})
			r.conn.WriteTo(b, w.LAN()) //nolint:errcheck
			time.Sleep(6 * time.Second)
		}
		if got := r.drain(time.Second); len(got) != 0 {
			t.Errorf("answered %d datagrams", len(got))
		}
		if d := stats(w).Dropped(core.DropBadMagic); d != 3 {
			t.Errorf("bad_magic: %d, want 3", d)
		}
		if got := stats(w).Count(core.SeedMessagesReceived); got != 0 {
			t.Errorf("seed messages received: %d", got)
		}
	})
}

// Malformed seed datagrams are counted as seed_malformed and answered by
// nothing; a flood from one source is rate limited like walkie's own.
func TestSeedMalformedAndRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: time.Millisecond})
		defer n.Close()
		w := keyed(t, n.Host(ip("198.51.100.1")), nil)
		r := newRaw(t, n.Host(ip("192.0.2.1")))
		for _, s := range []string{"d5:ab", "d4:typei9ee", "de", "d1:x4294967295:", "d4:typei1e7:peer_idi1ee"} {
			r.conn.WriteTo([]byte(s), w.LAN()) //nolint:errcheck
			time.Sleep(time.Second)
		}
		if d := stats(w).Dropped(core.DropSeedMalformed); d != 5 {
			t.Errorf("seed_malformed: %d, want 5", d)
		}
		id, _ := seed.ParsePeerID("0badc0de")
		b, _ := seed.Append(nil, &seed.IntroRequest{Sender: id, Destination: w.LAN()})
		for range 500 {
			r.conn.WriteTo(b, w.LAN()) //nolint:errcheck
		}
		got := r.drain(time.Second)
		if stats(w).Dropped(core.DropRateLimited) == 0 {
			t.Error("a flood of seed requests was not rate limited")
		}
		if len(got) > 1 {
			t.Errorf("%d answers to a flood from an unverified address", len(got))
		}
	})
}

// A walkie introducer names a seed node to a walkie requester that speaks
// the seed protocol (key 18), and never to one that does not.
func TestSeedInviteeOnlyForSeedSpeakers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: time.Millisecond})
		defer n.Close()
		b := keyed(t, n.Host(ip("198.51.100.1")), nil)
		s := newFakeSeed(t, n.Host(ip("198.51.100.2")), "5eed0004", b.LAN())
		waitUntil(t, 30*time.Second, "B verified the seed node", func() bool { _, ok := seedPeer(b, s.id); return ok })
		r := newRaw(t, n.Host(ip("192.0.2.1")))
		in := r.inbox()
		var token []byte
		ask := func(seedFlag bool) int {
			got := 0
			for i := range 20 {
				r.send(b.LAN(), &proto.IntroRequest{Nonce: uint64(i), Seed: seedFlag}, 128)
				for _, d := range drainSome(in, 200*time.Millisecond) {
					h, body, err := proto.ParseHeader(d)
					if err != nil || h.Type != proto.TypeIntroResponse {
						continue
					}
					resp, err := proto.DecodeIntroResponse(body)
					if err != nil {
						t.Fatal(err)
					}
					if len(resp.Token) > 0 && resp.Invitee == nil && resp.SeedInvitee == nil && len(resp.Peers) == 0 && i%2 == 0 {
						token = resp.Token
						r.send(b.LAN(), &proto.IntroRequest{Nonce: uint64(100 + i), Token: resp.Token, Seed: seedFlag}, 0)
						for _, d := range drainSome(in, 200*time.Millisecond) {
							if h, body, err := proto.ParseHeader(d); err == nil && h.Type == proto.TypeIntroResponse {
								if resp, err := proto.DecodeIntroResponse(body); err == nil && resp.SeedInvitee != nil {
									if resp.SeedInvitee.WAN != s.conn.LocalAddr() {
										t.Errorf("seed invitee at %v, want %v", resp.SeedInvitee.WAN, s.conn.LocalAddr())
									}
									got++
								}
							}
						}
					}
				}
			}
			return got
		}
		if got := ask(false); got != 0 {
			t.Errorf("a requester without the seed flag got %d seed invitees", got)
		}
		if got := ask(true); got == 0 {
			t.Error("a requester with the seed flag never got a seed invitee")
		}
		// Walkie to seed: the seed node was asked (type 3) to puncture
		// toward the requester, named by the first 8 hex digits of its ID.
		if !s.askedToPuncture(seed.Peer{ID: seed.PeerIDOf(r.id), Addr: r.conn.LocalAddr()}) {
			t.Error("the seed node was never asked to puncture toward the walkie requester")
		}
		// Seed to walkie: the seed node's walk to B makes B ask the walkie
		// peer (which speaks the seed protocol) to puncture toward it (key
		// 19). The seed walks to a random peer, and B's pex made r one:
		// 45 s is 9 walks.
		targets := 0
		var got [][]byte
		for i := range 45 {
			// Keep-alives keep r in B's table meanwhile.
			r.send(b.LAN(), &proto.IntroRequest{Nonce: uint64(1000 + i), Token: token, Seed: true, KeepAlive: true}, 0)
			got = append(got, drainSome(in, time.Second)...)
		}
		for _, d := range got {
			if h, body, err := proto.ParseHeader(d); err == nil && h.Type == proto.TypePunctureRequest {
				if req, err := proto.DecodePunctureRequest(body); err == nil && req.SeedTarget != nil {
					if req.SeedTarget.WAN != s.conn.LocalAddr() || req.SeedTarget.ID != (proto.SeedID{0x5e, 0xed, 0x00, 0x04}) {
						t.Errorf("seed target %+v, want 5eed0004 at %v", req.SeedTarget, s.conn.LocalAddr())
					}
					targets++
				}
			}
		}
		if targets == 0 {
			t.Error("B never asked its walkie peer to puncture toward the seed node")
		}
		if !slices.ContainsFunc(b.Status().SeedPeers, func(p core.SeedPeerStatus) bool { return p.ID == "5eed0004" }) {
			t.Error("the seed node is gone from B's seed_peers")
		}
	})
}

// inbox reads r's datagrams in the background, for drainSome.
func (r *raw) inbox() <-chan []byte {
	ch := make(chan []byte, 1024)
	go func() {
		defer close(ch)
		for {
			b := make([]byte, 2048)
			n, _, err := r.conn.ReadFrom(b)
			if err != nil {
				return
			}
			ch <- b[:n]
		}
	}()
	return ch
}

// drainSome returns the datagrams that arrived in ch within d of virtual
// time.
func drainSome(ch <-chan []byte, d time.Duration) [][]byte {
	time.Sleep(d)
	var got [][]byte
	for {
		select {
		case b, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, b)
		default:
			return got
		}
	}
}
