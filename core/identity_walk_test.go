package core_test

import (
	"bytes"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/proto"
)

// keyed starts a node with a fresh key on host h.
func keyed(t *testing.T, h *memnet.Host, boot []netip.AddrPort, opts ...func(*core.Config)) *core.Overlay {
	t.Helper()
	id, err := core.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return node(t, h, boot, append([]func(*core.Config){func(c *core.Config) { c.Key, c.PeerID = id.Key, id.ID }}, opts...)...)
}

// waitUntil polls cond every 10 ms of fake time and fails the test if it
// does not hold within d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > d {
			t.Fatalf("not within %v: %s", d, what)
		}
	}
}

// authenticated reports whether a lists b as an authenticated peer at any
// address.
func authenticated(a, b *core.Overlay) bool {
	for _, p := range a.Status().Peers {
		if p.ID == b.ID().String() && p.Authenticated {
			return true
		}
	}
	return false
}

// Five keyed nodes mesh with every peer authenticated, and stay so for
// five minutes (two rekeys) with a bounded number of handshakes: one per
// pair, plus a rekey every two minutes. A handshake storm (two peers
// re-authenticating each other at once) fails the bound.
func TestAuthenticatedMesh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 3})
		defer n.Close()
		boot := keyed(t, n.Host(ip("198.51.100.1")), nil)
		nodes := []*core.Overlay{boot}
		for i := range 4 {
			nodes = append(nodes, keyed(t, n.Host(netip.AddrFrom4([4]byte{198, 51, 100, byte(2 + i)})), []netip.AddrPort{boot.LAN()}))
		}
		start := time.Now()
		mesh := func() bool {
			for _, a := range nodes {
				for _, b := range nodes {
					if a != b && !authenticated(a, b) {
						return false
					}
				}
			}
			return true
		}
		for !mesh() {
			if time.Since(start) > 10*time.Second {
				t.Fatal("no authenticated mesh after 10 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("authenticated mesh of 5 after %v", time.Since(start))
		time.Sleep(5 * time.Minute)
		if !mesh() {
			t.Error("the mesh did not stay authenticated through five minutes of rekeys")
		}
		for i, o := range nodes {
			st := o.Metrics().(*core.Stats)
			// 4 peers, one handshake each at the start (either side may have
			// started it), then one rekey each per 2 minutes: at most 4 + 2*4
			// completions, with room for a crossing or a lost step.
			if c := st.Count(core.HandshakesCompleted); c < 4 || c > 16 {
				t.Errorf("node %d completed %d handshakes in 5 minutes with 4 peers", i, c)
			}
			for _, r := range []core.DropReason{core.DropBadSeal, core.DropReplay} {
				if d := st.Dropped(r); d != 0 {
					t.Errorf("node %d dropped %d datagrams as %v among honest peers", i, d, r)
				}
			}
		}
	})
}

// A node that claims another node's key-derived ID (it has no key, as a
// node of the previous release, but could be anybody) is never taken for
// it, from another address, whether the owner is alive or gone: 100
// attempts from 100 addresses, 0 successes.
func TestClaimedIDNeverTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 5 * time.Millisecond, Seed: 5})
		defer n.Close()
		boot := keyed(t, n.Host(ip("198.51.100.1")), nil)
		owner := keyed(t, n.Host(ip("198.51.100.2")), []netip.AddrPort{boot.LAN()})
		waitUntil(t, 10*time.Second, "the owner authenticated", func() bool { return authenticated(boot, owner) })
		ownerAddr := owner.LAN().String()
		taken := func() bool {
			for _, p := range boot.Status().Peers {
				if p.ID == owner.ID().String() && p.Verified && p.Addr != ownerAddr {
					return true
				}
			}
			return false
		}
		attempt := func(i int) {
			h := n.Host(netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}))
			liar := node(t, h, []netip.AddrPort{boot.LAN()}, func(c *core.Config) { c.PeerID = owner.ID() })
			time.Sleep(3 * time.Second) // its requests, answers and walks
			if taken() {
				t.Fatalf("attempt %d: the liar holds the owner's ID", i)
			}
			liar.Close()
		}
		for i := range 50 {
			attempt(i)
		}
		owner.Close() // and after the owner left
		time.Sleep(2 * time.Minute)
		for i := 50; i < 100; i++ {
			attempt(i)
		}
		if d := boot.Metrics().(*core.Stats).Dropped(core.DropUnauthenticated); d == 0 {
			t.Error("no unauthenticated claim was counted: the test did not test the refusal")
		}
	})
}

// recorder wraps a memnet socket and keeps every datagram it receives.
type recorder struct {
	*memnet.Conn
	mu  sync.Mutex
	got [][]byte
}

func (r *recorder) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	n, from, err := r.Conn.ReadFrom(b)
	if err == nil {
		r.mu.Lock()
		r.got = append(r.got, bytes.Clone(b[:n]))
		r.mu.Unlock()
	}
	return n, from, err
}

func (r *recorder) datagrams() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.got...)
}

// What authenticated peers send each other is sealed: a community message
// never appears in plaintext on the wire, a datagram with one byte changed
// does not open, and one sent again is refused; each is counted.
func TestSealedTrafficTamperAndReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 5 * time.Millisecond, Seed: 9})
		defer n.Close()
		ka, kb := &keeper{name: "notes"}, &keeper{name: "notes"}
		var rec *recorder
		a := keyed(t, n.Host(ip("198.51.100.1")), nil, func(c *core.Config) { c.Communities = []community.Community{ka} })
		b := keyed(t, n.Host(ip("198.51.100.2")), []netip.AddrPort{a.LAN()}, func(c *core.Config) {
			rec = &recorder{Conn: c.Transport.(*memnet.Conn)}
			c.Transport = rec
			c.Communities = []community.Community{kb}
		})
		waitUntil(t, 10*time.Second, "a and b authenticated members", func() bool {
			return len(ka.env.Members()) > 0 && authenticated(a, b) && authenticated(b, a)
		})
		secret := []byte("the secret plan: meet at noon")
		if err := ka.env.Send(b.ID(), 1, secret); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if kb.received() != 1 {
			t.Fatalf("b received %d messages, want 1", kb.received())
		}
		var sealed [][]byte
		for _, d := range rec.datagrams() {
			if bytes.Contains(d, secret) {
				t.Fatalf("the message crossed the wire in plaintext: % x", d)
			}
			if proto.IsSealed(d) {
				sealed = append(sealed, d)
			}
		}
		if len(sealed) == 0 {
			t.Fatal("b received nothing sealed")
		}
		// Inject from anywhere: a sealed datagram names its session, not
		// an address.
		raw, err := n.Host(ip("203.0.113.66")).Listen(4000)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		st := b.Metrics().(*core.Stats)
		last := sealed[len(sealed)-1]
		for i := proto.SealedPrefixLen; i < len(last); i += 7 {
			tampered := bytes.Clone(last)
			tampered[i] ^= 0x20
			raw.WriteTo(tampered, b.LAN())
		}
		raw.WriteTo(last, b.LAN())
		time.Sleep(time.Second)
		tampers := uint64((len(last) - proto.SealedPrefixLen + 6) / 7)
		if d := st.Dropped(core.DropBadSeal); d != tampers {
			t.Errorf("bad_seal drops: %d, want %d (one per tampered datagram)", d, tampers)
		}
		if d := st.Dropped(core.DropReplay); d != 1 {
			t.Errorf("replay drops: %d, want 1", d)
		}
		if kb.received() != 1 {
			t.Errorf("b's community received %d messages after the replay, want 1", kb.received())
		}
		for _, p := range b.Status().Peers {
			if p.ID == a.ID().String() && p.Addr != a.LAN().String() {
				t.Errorf("a replay from %v moved a to %s", raw.LocalAddr(), p.Addr)
			}
		}
	})
}

// A node that restarts with its key (a new process: new session keys) is
// authenticated again within seconds by a peer that still holds the old
// session.
func TestRestartReauthenticates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 11})
		defer n.Close()
		boot := keyed(t, n.Host(ip("198.51.100.1")), nil)
		id, err := core.NewIdentity()
		if err != nil {
			t.Fatal(err)
		}
		withKey := func(c *core.Config) { c.Key, c.PeerID = id.Key, id.ID }
		h := n.Host(ip("198.51.100.2"))
		b := node(t, h, []netip.AddrPort{boot.LAN()}, withKey)
		waitUntil(t, 10*time.Second, "b authenticated", func() bool { return authenticated(boot, b) })
		b.Close()
		b = node(t, h, []netip.AddrPort{boot.LAN()}, withKey)
		start := time.Now()
		for !authenticated(b, boot) || !authenticated(boot, b) {
			if time.Since(start) > 10*time.Second {
				t.Fatal("not authenticated again within 10 s of the restart")
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("authenticated again %v after the restart", time.Since(start))
	})
}

// Nodes of the previous release (no key, a random ID) still walk with
// nodes that have keys: they are peers, never authenticated; keyed nodes
// authenticate each other.
func TestMixedReleasesWalk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond, Seed: 13})
		defer n.Close()
		boot := keyed(t, n.Host(ip("198.51.100.1")), nil)
		k := keyed(t, n.Host(ip("198.51.100.2")), []netip.AddrPort{boot.LAN()})
		old := node(t, n.Host(ip("198.51.100.3")), []netip.AddrPort{boot.LAN()})
		time.Sleep(5 * time.Second)
		if !authenticated(boot, k) || !authenticated(k, boot) {
			t.Error("two keyed nodes did not authenticate each other")
		}
		for _, o := range []*core.Overlay{boot, k} {
			if !knows(o, old) || authenticated(o, old) {
				t.Errorf("a keyed node: knows the old node %v, authenticated %v; want true, false", knows(o, old), authenticated(o, old))
			}
		}
		if !knows(old, boot) || !knows(old, k) {
			t.Error("the old node does not know the keyed ones")
		}
	})
}

// The bootstrap itself restarts (same key, a new process, no bootstrap of
// its own): its peers still seal for the old session, which it no longer
// has. It answers such a datagram with an introduction request, and the
// handshake that follows replaces the old session: all of them are
// authenticated with it again within seconds. Before, the peers kept
// sealing into the void and the bootstrap stayed alone.
func TestRestartedBootstrapRejoins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 23})
		defer n.Close()
		id, err := core.NewIdentity()
		if err != nil {
			t.Fatal(err)
		}
		withKey := func(c *core.Config) { c.Key, c.PeerID = id.Key, id.ID }
		h := n.Host(ip("198.51.100.1"))
		boot := node(t, h, nil, withKey)
		a := keyed(t, n.Host(ip("198.51.100.2")), []netip.AddrPort{boot.LAN()})
		b := keyed(t, n.Host(ip("198.51.100.3")), []netip.AddrPort{boot.LAN()})
		waitUntil(t, 10*time.Second, "an authenticated mesh", func() bool {
			return authenticated(boot, a) && authenticated(boot, b) && authenticated(a, b)
		})
		boot.Close()
		boot = node(t, h, nil, withKey)
		start := time.Now()
		waitUntil(t, 30*time.Second, "the restarted bootstrap authenticated with both peers", func() bool {
			return authenticated(boot, a) && authenticated(boot, b) && authenticated(a, boot) && authenticated(b, boot)
		})
		t.Logf("the restarted bootstrap is authenticated with both peers %v after its restart", time.Since(start))
	})
}
