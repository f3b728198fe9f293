package core_test

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/proto"
)

// agent is an attacker's endpoint on a memnet host of its own: a real
// address that receives what is sent to it. It can prove that address to a
// target (echo the token the target issued to it) and then send whatever it
// likes, with lie as the header's Dest: the address it claims to see the
// target at, which is the target's WAN vote. It answers the target's
// introduction requests too, with the same lie and with peers listed.
type agent struct {
	conn   *memnet.Conn
	id     proto.ID
	target netip.AddrPort
	lie    netip.AddrPort   // Dest of every packet; invalid: the truth
	peers  []proto.PeerInfo // listed in answers to the target's requests
	done   chan struct{}

	mu  sync.Mutex
	tok []byte // the last token the target issued to us
}

func newAgent(t *testing.T, h *memnet.Host, target, lie netip.AddrPort, peers []proto.PeerInfo) *agent {
	t.Helper()
	c, err := h.Listen(4000)
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{conn: c, id: proto.ID(uuid.New()), target: target, lie: lie, peers: peers, done: make(chan struct{})}
	go a.read()
	t.Cleanup(func() { c.Close(); <-a.done })
	return a
}

// write sends m to the target, padded to pad bytes.
func (a *agent) write(m proto.Message, pad int) int { return a.writeAs(a.id, m, pad) }

// writeAs is write with sender as the header's peer ID: any ID may be
// claimed.
func (a *agent) writeAs(sender proto.ID, m proto.Message, pad int) int {
	dest := a.target
	if a.lie.IsValid() {
		dest = a.lie
	}
	pkt, err := proto.Encode(nil, proto.Header{Community: proto.CoreCommunity(), Sender: sender, Dest: dest}, m)
	if err != nil {
		panic(err)
	}
	pkt = proto.Pad(pkt, pad)
	a.conn.WriteTo(pkt, a.target)
	return len(pkt)
}

func (a *agent) read() {
	defer close(a.done)
	buf := make([]byte, 2048)
	for {
		n, from, err := a.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if from != a.target {
			continue
		}
		h, body, err := proto.ParseHeader(buf[:n])
		if err != nil {
			continue
		}
		switch h.Type {
		case proto.TypeIntroResponse:
			if r, err := proto.DecodeIntroResponse(body); err == nil && len(r.Token) > 0 {
				a.mu.Lock()
				a.tok = r.Token
				a.mu.Unlock()
			}
		case proto.TypeIntroRequest:
			// The target walks to us, or keeps us alive: answer, which is a
			// vote too (a response to its own nonce).
			if r, err := proto.DecodeIntroRequest(body); err == nil {
				a.write(&proto.IntroResponse{Nonce: r.Nonce, Token: make([]byte, 16), Peers: a.peers}, 0)
			}
		}
	}
}

func (a *agent) token() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tok
}

// hello sends a request without a token, padded as honest nodes pad it: the
// answer carries a token for our address.
func (a *agent) hello() { a.write(&proto.IntroRequest{Nonce: mrand.Uint64()}, 128) }

// ping sends a keep-alive request that echoes our token: a verified packet.
func (a *agent) ping() int {
	return a.write(&proto.IntroRequest{Nonce: mrand.Uint64(), Token: a.token(), KeepAlive: true}, 0)
}

// join proves the agent's address to its target: hello, wait for the token,
// echo it. It reports whether a token came.
func (a *agent) join() bool {
	a.hello()
	for range 100 {
		time.Sleep(10 * time.Millisecond)
		if a.token() != nil {
			a.ping()
			return true
		}
	}
	return false
}

var falseWAN = netip.MustParseAddrPort("203.0.113.66:6666")

// publicVictim starts a public node at victimIP and honest nodes at
// honestIPs that bootstrap to it, and waits until the votes of the honest
// observers have settled its WAN address: its own LAN address, "public".
func publicVictim(t *testing.T, n *memnet.Network, victimIP string, honestIPs ...string) *core.Overlay {
	t.Helper()
	return publicVictimHold(t, n, 0, victimIP, honestIPs...)
}

// publicVictimHold is publicVictim with Config.VoteHold set to hold (0: the
// default).
func publicVictimHold(t *testing.T, n *memnet.Network, hold time.Duration, victimIP string, honestIPs ...string) *core.Overlay {
	t.Helper()
	// The victim walks every 500 ms, as a node short of peers did before
	// walks backed off: the liars get the most votes they can.
	victim := node(t, n.Host(ip(victimIP)), nil, func(c *core.Config) { c.VoteHold, c.WalkInterval = hold, c.WalkFast })
	for _, h := range honestIPs {
		node(t, n.Host(ip(h)), []netip.AddrPort{victim.LAN()})
	}
	waitFor(t, func() bool {
		st := victim.Status()
		return st.WAN == victim.LAN().String() && st.NAT == "public" && len(victim.VerifiedPeers()) == len(honestIPs)
	}, 10*time.Second)
	return victim
}

// poison has the liars, already verified, send a keep-alive each every 10 ms
// (100/s, the default per-source rate) for d, and samples the victim's WAN
// address after every round. It returns how many samples were poisoned (the
// WAN is not the victim's own address), the rounds, the time to the first
// poisoned sample, and the bytes the liars sent.
func poison(t *testing.T, victim *core.Overlay, liars []*agent, d time.Duration) (bad, rounds int, first time.Duration, sent int) {
	t.Helper()
	start := time.Now()
	first = -1
	for time.Since(start) < d {
		for _, l := range liars {
			sent += l.ping()
		}
		time.Sleep(10 * time.Millisecond)
		rounds++
		if victim.Status().WAN != victim.LAN().String() {
			if first < 0 {
				first = time.Since(start)
			}
			bad++
		}
	}
	return bad, rounds, first, sent
}

// TestWANVoteUnverifiedNeverVotes: packets from senders that have not proved
// their address never vote, however many addresses they come from: requests
// without a token, with a made-up token, with a token issued to another
// address, unsolicited responses, punctures and puncture requests, all
// naming a false WAN address. The victim has no honest observer yet, so two
// counted votes would decide its WAN at once; the control at the end shows
// that two verified ones do.
func TestWANVoteUnverifiedNeverVotes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: time.Millisecond})
		defer n.Close()
		victim := node(t, n.Host(ip("198.51.100.1")), nil)
		var spoofers []*agent
		for i := range 50 {
			h := n.Host(netip.AddrFrom4([4]byte{100, 64 + byte(i), 0, 1})) // 50 /24s
			spoofers = append(spoofers, newAgent(t, h, victim.LAN(), falseWAN, nil))
		}
		// Spoofer 0 gets a real token for its own address, which the others
		// replay from theirs.
		spoofers[0].hello()
		waitFor(t, func() bool { return spoofers[0].token() != nil }, time.Second)
		stolen := spoofers[0].token()
		packets := 0
		for round := range 5 {
			for i, s := range spoofers {
				bogus := make([]byte, 16)
				rand.Read(bogus)
				msgs := []proto.Message{
					&proto.IntroRequest{Nonce: mrand.Uint64()},
					&proto.IntroRequest{Nonce: mrand.Uint64(), Token: bogus},
					&proto.IntroResponse{Nonce: mrand.Uint64(), Token: bogus},
					&proto.Puncture{Nonce: mrand.Uint64(), Token: bogus},
					&proto.PunctureRequest{Nonce: mrand.Uint64(), Target: proto.PeerInfo{ID: proto.ID(uuid.New()), WAN: falseWAN}},
				}
				if i > 0 {
					msgs = append(msgs, &proto.IntroRequest{Nonce: mrand.Uint64(), Token: stolen})
				}
				for _, m := range msgs {
					s.write(m, 128*(round%2)) // padded and unpadded
					packets++
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		st := victim.Status()
		if st.WAN != "" || st.WANIP != "" || st.NAT != "unknown" {
			t.Fatalf("unverified packets voted: wan %q wan_ip %q nat %q", st.WAN, st.WANIP, st.NAT)
		}
		if c := stats(victim).Count(core.WANAddressChanges); c != 0 {
			t.Fatalf("WAN changes: %d, want 0", c)
		}
		if p := victim.VerifiedPeers(); len(p) != 0 {
			t.Fatalf("unverified senders entered the table: %v", p)
		}
		t.Logf("%d unverified packets from 50 addresses naming %v: no vote counted", packets, falseWAN)

		// Control: the same lie from two senders that echo their own
		// tokens, become peers and answer the node's walks with it decides
		// the WAN of a node that has no other observer.
		for _, s := range spoofers[1:3] {
			if !s.join() {
				t.Fatal("no token")
			}
		}
		// Its walks pick one of the two at random, every 5 s at most once
		// they find nobody new: two minutes see both, but by 2^-20.
		deadline := time.Now().Add(2 * time.Minute)
		for victim.Status().WAN != falseWAN.String() {
			if time.Now().After(deadline) {
				t.Fatalf("control: two verified peers answering with %v gave wan %q; the test cannot see votes", falseWAN, victim.Status().WAN)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestWANVoteOneVerifiedLiarNeverFlips: an attacker with one address proves
// it (echoes our token), then claims a false WAN address 100 times a
// second for 30 s, in requests and in answers to our requests. The honest
// observers keep the address.
func TestWANVoteOneVerifiedLiarNeverFlips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 5 * time.Millisecond, Seed: 11})
		defer n.Close()
		victim := publicVictim(t, n, "198.51.100.1", "198.51.100.2", "198.51.100.3", "203.0.113.5")
		before := stats(victim).Count(core.WANAddressChanges)
		liar := newAgent(t, n.Host(ip("192.0.2.66")), victim.LAN(), falseWAN, nil)
		if !liar.join() {
			t.Fatal("the liar got no token")
		}
		bad, rounds, _, sent := poison(t, victim, []*agent{liar}, 30*time.Second)
		if bad != 0 {
			t.Fatalf("one verified liar poisoned the WAN in %d of %d samples", bad, rounds)
		}
		if c := stats(victim).Count(core.WANAddressChanges); c != before {
			t.Fatalf("WAN changes during the attack: %d", c-before)
		}
		t.Logf("one verified liar, %d packets (%d bytes) in 30 s: WAN kept in all %d samples", rounds, sent, rounds)
	})
}

// TestWANVoteSlash24 is what two attacker addresses in one IPv4 /24 can do.
// IPv4 observers are keyed by /32, so 192.0.2.66 and 192.0.2.67 are two
// voices. They are verified peers and answer every request of the victim
// with a false WAN, sending 100 packets a second besides. Only answers to
// the victim's own requests vote, so they vote only when the victim walks
// to them or keeps them alive; when both are among the last three
// observers they are a majority, but a new majority must last VoteHold
// (10 s) to replace an address, and honest answers keep breaking it: the
// WAN never flips. The control, the same attack on a victim with VoteHold
// 1 ns, shows the test sees a flip when there is one.
func TestWANVoteSlash24(t *testing.T) {
	run := func(hold time.Duration, seed uint64) (bad, rounds int, first time.Duration, sent int) {
		synctest.Test(t, func(t *testing.T) {
			n := memnet.New(memnet.Config{Latency: 5 * time.Millisecond, Seed: seed})
			defer n.Close()
			victim := publicVictimHold(t, n, hold, "198.51.100.1", "198.51.100.2", "198.51.100.3", "203.0.113.5")
			var liars []*agent
			for _, a := range []string{"192.0.2.66", "192.0.2.67"} {
				l := newAgent(t, n.Host(ip(a)), victim.LAN(), falseWAN, nil)
				if !l.join() {
					t.Fatal("a liar got no token")
				}
				liars = append(liars, l)
			}
			bad, rounds, first, sent = poison(t, victim, liars, 30*time.Second)
		})
		return
	}
	bad, rounds, _, sent := run(0, 12)
	if bad != 0 {
		t.Errorf("two liars in one /24 poisoned the WAN in %d of %d samples despite VoteHold", bad, rounds)
	}
	t.Logf("two liars in one /24, %d bytes in 30 s: WAN kept in all %d samples", sent, rounds)
	cbad, crounds, first, _ := run(time.Nanosecond, 12)
	if cbad == 0 {
		t.Fatalf("control: without VoteHold the liars never flipped the WAN; the test cannot see a flip")
	}
	t.Logf("control without VoteHold: WAN poisoned in %d of %d samples (%.1f%%), first after %v",
		cbad, crounds, 100*float64(cbad)/float64(crounds), first)
}

// TestWANVoteSlash56: three verified attacker addresses in one IPv6 /56 are
// one observer and never flip the WAN, however much they send. One more
// liar in another /56 makes two voices, which VoteHold still outlasts (the
// /24 test has the control that shows a flip can be seen).
func TestWANVoteSlash56(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 5 * time.Millisecond, Seed: 13})
		defer n.Close()
		victim := publicVictim(t, n, "2001:db8:1::1", "2001:db8:2::1", "2001:db8:3::1", "2001:db8:4::1")
		lie := netip.MustParseAddrPort("[2001:db8:bad::66]:6666")
		var liars []*agent
		for _, a := range []string{"2001:db8:66:ab00::1", "2001:db8:66:ab01::2", "2001:db8:66:abff::3"} {
			l := newAgent(t, n.Host(ip(a)), victim.LAN(), lie, nil)
			if !l.join() {
				t.Fatal("a liar got no token")
			}
			liars = append(liars, l)
		}
		time.Sleep(100 * time.Millisecond)
		if got := len(victim.VerifiedPeers()); got != 6 {
			t.Fatalf("verified peers %d, want 3 honest and 3 liars", got)
		}
		bad, rounds, _, sent := poison(t, victim, liars, 30*time.Second)
		if bad != 0 {
			t.Fatalf("three /128s of one /56 poisoned the WAN in %d of %d samples", bad, rounds)
		}
		t.Logf("three liars in one /56, %d bytes in 30 s: WAN kept in all %d samples", sent, rounds)

		// A liar in a second /56 is a second voice; VoteHold still keeps
		// the pair from flipping an address that honest observers confirm.
		l := newAgent(t, n.Host(ip("2001:db8:77::1")), victim.LAN(), lie, nil)
		if !l.join() {
			t.Fatal("no token")
		}
		bad, rounds, _, _ = poison(t, victim, append(liars, l), 10*time.Second)
		t.Logf("liars in two /56s: WAN poisoned in %d of %d samples", bad, rounds)
		if bad != 0 {
			t.Fatalf("liars in two /56s poisoned the WAN despite VoteHold")
		}
	})
}
