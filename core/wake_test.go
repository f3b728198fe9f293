package core_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// A phone in doze (or a process under SIGSTOP) for 90 s: its peers time it
// out after 60 s, while what they sent before that waits in its socket
// buffer. Just after waking, /status lists the peers it had with when it
// really last heard them, until they answer it again. Before, whichever
// the worker took first decided: the buffered packets (every peer seen
// 0 s ago, though they had dropped it) or the overdue timer (every peer
// forgotten before it could ask them). Within 5 s it is back with all of
// them, and they with it.
func TestWakeShowsTruth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 31})
		defer n.Close()
		boot := keyed(t, n.Host(ip("198.51.100.1")), nil)
		peers := []*core.Overlay{boot}
		for i := range 3 {
			peers = append(peers, keyed(t, n.Host(netip.AddrFrom4([4]byte{198, 51, byte(101 + i), 1})), []netip.AddrPort{boot.LAN()}))
		}
		var sock *stallable
		phone := keyed(t, n.Host(ip("198.51.110.1")), []netip.AddrPort{boot.LAN()}, func(c *core.Config) {
			sock = &stallable{Conn: c.Transport.(*memnet.Conn), release: make(chan struct{})}
			c.Transport = sock
		})
		// together: every peer lists the phone authenticated, and the phone
		// lists every peer authenticated and heard from within 5 s.
		together := func() bool {
			heard := 0
			for _, q := range phone.Status().Peers {
				if q.Authenticated && q.LastSeenMS <= 5_000 {
					heard++
				}
			}
			for _, p := range peers {
				if !authenticated(p, phone) {
					return false
				}
			}
			return heard == len(peers)
		}
		waitUntil(t, 30*time.Second, "the phone authenticated with its 4 peers", together)

		// Doze: the worker stops at its next write, and sleeps 90 s.
		sock.stalled.Store(true)
		for sock.blocked.Load() == 0 {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(90 * time.Second)
		for _, p := range peers {
			if authenticated(p, phone) {
				t.Fatalf("%v still lists the phone after 90 s of silence: the test needs peers that gave up", p.ID())
			}
		}
		sock.stalled.Store(false)
		close(sock.release)
		synctest.Wait() // the phone handled what waited for it; no answer has arrived yet

		// The peers it had stay listed while it asks them again (they are
		// not forgotten at once, nor called fresh by stale packets).
		listed := 0
		for _, q := range phone.Status().Peers {
			if !q.Verified {
				continue
			}
			listed++
			if q.LastSeenMS < 60_000 {
				t.Errorf("just after waking, peer %s shows as seen %d ms ago; the phone last heard it before it slept", q.ID, q.LastSeenMS)
			}
		}
		if listed != len(peers) {
			t.Errorf("just after waking, the phone lists %d of its %d peers", listed, len(peers))
		}
		woke := time.Now()
		waitUntil(t, 5*time.Second, "the phone and its 4 peers together again", together)
		t.Logf("back with all 4 peers %v after waking", time.Since(woke))
	})
}
