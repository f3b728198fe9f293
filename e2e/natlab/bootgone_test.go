//go:build natlab

package natlab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBootstrapGone: no single point of entry. The bootstrap is killed,
// and members still come back and newcomers still get in, within 5 s of
// their start. Routers have carrier-like 30 s UDP timeouts.
//
//   - member-returns: a member behind a cone NAT is stopped (SIGTERM: it
//     writes DATA/peers, its cache of verified peers), the bootstrap is
//     killed, and 90 s later, when its router has forgotten its mapping
//     and its peers have timed it out and are knocking at its last
//     address, it restarts on the same data directory with its old, dead
//     -bootstrap. Within 5 s of its start it reaches every other member
//     at its punctured public address and every member has heard from the
//     new process.
//   - newcomer: with the bootstrap killed, a new node behind a cone NAT,
//     given only the address of one public member as -bootstrap, is in a
//     full mesh with every member within 5 s of its start.
func TestBootstrapGone(t *testing.T) {
	t.Parallel()
	t.Run("member-returns", func(t *testing.T) {
		t.Parallel()
		memberReturns(t)
	})
	t.Run("newcomer", func(t *testing.T) {
		t.Parallel()
		newcomer(t)
	})
}

// bootGoneAway is how long the member stays away.
const bootGoneAway = 90 * time.Second

// bootGoneLimit is how long after its start a node may take to be back.
const bootGoneLimit = 5 * time.Second

// memberReturns is TestBootstrapGone's first case.
func memberReturns(t *testing.T) {
	members := names("c", 4)
	l := newLab(t, topology(Cone, members...), options{carrier: true})
	if err := countUDP(l.byName[members[0]].host); err != nil { // what coming back costs
		t.Fatal(err)
	}
	boot := l.start("boot", "")
	nodes, t0 := l.startGroup(members, l.bootAddr("boot"))
	w := newWatch(t0, append([]*node{boot}, nodes...)...)
	if ok, _ := w.until(10*time.Second, func(w *watch) bool { return w.meshed(w.nodes) }); !ok {
		t.Fatalf("no mesh before the bootstrap goes:\n%s", strings.Join(w.missing(w.nodes), "\n"))
	}
	m, rest := nodes[0], nodes[1:]
	m.stop(t)
	cache, err := os.ReadFile(filepath.Join(m.dataDir, "peers"))
	t.Logf("%s stopped; its DATA/peers (%v):\n%s", m.site.name, err, cache)
	boot.kill()
	gone := time.Now()
	t.Logf("bootstrap killed; %s stays away %v", m.site.name, bootGoneAway)

	// While it is away, note when its peers time it out: from then on
	// they knock at its last address.
	lostAt := map[*node]time.Duration{}
	w = newWatch(gone, rest...)
	w.until(bootGoneAway, func(w *watch) bool {
		for _, n := range rest {
			if s := w.last[n]; s != nil && lostAt[n] == 0 {
				if _, ok := s.peer(m.peerID); !ok {
					lostAt[n] = time.Since(gone)
				}
			}
		}
		return false // the time away is the scenario, not a condition
	})
	for _, n := range rest {
		t.Logf("%s dropped %s after %.1fs", n.site.name, m.site.name, lostAt[n].Seconds())
	}
	for _, n := range rest {
		if s, err := n.status(); err != nil || len(s.Peers) == 0 {
			t.Fatalf("%s has no peers left while %s is away (%v)", n.site.name, m.site.name, err)
		}
	}

	before, err := readCount(m.site.host)
	if err != nil {
		t.Fatal(err)
	}
	again := l.launch(m.site.name, m.dataDir, l.bootAddr("boot"))
	again.waitReady(t)
	if again.peerID != m.peerID {
		t.Fatalf("peer ID %s after the restart, %s before", again.peerID, m.peerID)
	}
	back := append([]*node{again}, rest...)
	w = newWatch(again.started, back...)
	heard := func(w *watch) []string {
		var out []string
		for _, n := range rest {
			if s := w.last[n]; s != nil {
				p, _ := s.peer(again.peerID)
				if time.Duration(p.LastSeenMS)*time.Millisecond >= time.Since(again.started) {
					out = append(out, n.site.name+" has not heard from the restarted "+m.site.name)
				}
			}
		}
		return out
	}
	ok, at := w.until(bootGoneLimit, func(w *watch) bool { return w.meshed(back) && len(heard(w)) == 0 })
	t.Logf("who reaches whom, time from the restart:\n%s", w.pairTable(back))
	if !ok {
		t.Fatalf("%s not back with the members %v after its restart, bootstrap dead %v:\n%s", m.site.name, bootGoneLimit,
			time.Since(gone).Round(time.Second), strings.Join(append(w.missing(back), heard(w)...), "\n"))
	}
	after, err := readCount(m.site.host)
	if err != nil {
		t.Fatal(err)
	}
	c := after.minus(before)
	t.Logf("%s back with the members %.2fs after its restart, %v after the bootstrap died; it sent %d datagrams and received %d meanwhile",
		m.site.name, at.Seconds(), again.started.Sub(gone).Round(time.Second), c.sent, c.recv)
}

// newcomer is TestBootstrapGone's second case.
func newcomer(t *testing.T) {
	members := []string{"pub", "c1", "c2", "c3"}
	l := newLab(t, "boot:public pub:public c1:cone c2:cone c3:cone new:cone", options{carrier: true})
	boot := l.start("boot", "")
	nodes, t0 := l.startGroup(members, l.bootAddr("boot"))
	w := newWatch(t0, append([]*node{boot}, nodes...)...)
	if ok, _ := w.until(10*time.Second, func(w *watch) bool { return w.meshed(w.nodes) }); !ok {
		t.Fatalf("no mesh before the bootstrap goes:\n%s", strings.Join(w.missing(w.nodes), "\n"))
	}
	boot.kill()
	nw := l.launch("new", "", l.bootAddr("pub"))
	nw.waitReady(t)
	all := append(nodes, nw)
	w = newWatch(nw.started, all...)
	ok, at := w.until(bootGoneLimit, func(w *watch) bool { return w.meshed(all) })
	t.Logf("who reaches whom, time from the newcomer's start:\n%s", w.pairTable(all))
	if !ok {
		t.Fatalf("the newcomer, given only pub, is not in the mesh %v after its start:\n%s", bootGoneLimit, strings.Join(w.missing(all), "\n"))
	}
	t.Logf("newcomer in a full mesh with the 4 members %.2fs after its start, with only pub as bootstrap", at.Seconds())
}
