//go:build natlab

package natlab

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/e2e/internal/e2etest"
)

// seedLimit is how long the symmetric host of the seed's world gets to
// classify its NAT and meet a cone host.
const seedLimit = 20 * time.Second

// seedStatus is the part of /status that the seed's world checks beyond
// the lab's status: the fields that say what one observer taught a node.
type seedStatus struct {
	NAT              string         `json:"nat"`
	WAN              string         `json:"wan"`
	WANIP            string         `json:"wan_ip"`
	WANIPProvisional string         `json:"wan_ip_provisional"`
	NATReason        string         `json:"nat_reason"`
	Peers            []e2etest.Peer `json:"peers"`
}

// seedStatusOf fetches n's /status as a seedStatus.
func seedStatusOf(n *node) (*seedStatus, error) {
	b, err := e2etest.Get(n.client, "http://"+httpAddr+"/status")
	if err != nil {
		return nil, err
	}
	var s seedStatus
	return &s, json.Unmarshal(b, &s)
}

// seedRun is what one run of the seed's world did: when (from launching
// the hosts) the symmetric host said "symmetric" with its router's IP, and
// when a cone host first listed it as a verified peer; 0: not within
// seedLimit.
type seedRun struct {
	classified, met time.Duration
	last            string // the symmetric host's last nat, wan_ip, wan_ip_provisional and nat_reason
}

func (r seedRun) ok() bool { return r.classified > 0 && r.met > 0 }

// TestSeedWorld is the seed app's own setting: one hard-coded public
// bootstrap, three hosts behind port-restricted cone NATs and one behind a
// symmetric NAT with random ports (masquerade fully-random), all started
// together and told of the bootstrap only. With one observer the
// symmetric host could not tell its NAT (issue 17: it stayed unknown, knew
// only the bootstrap after 30 s); the bootstrap's second port tells it.
// Within 20 s the symmetric host must report "symmetric" and its router's
// IP (as wan_ip, or as wan_ip_provisional while only the bootstrap has
// seen it) and be a verified peer of at least one cone host (port
// prediction), in at least 9 of 10 runs: measured so (docs/nat-traversal.md).
// NATLAB_SEED_RUNS sets the runs (default 10; they run in parallel). The
// test itself fails below 80% of them, rounded up: a single start gets
// through 93 to 97% of the time (port prediction is a random draw), and at
// that rate a 90% bar on 10 runs fails one CI run in seven to ten while
// nothing changed; an 80% bar fails one in forty to a hundred, and still
// fails a drop to 70% two times in three.
func TestSeedWorld(t *testing.T) {
	runs := 10
	if v := os.Getenv("NATLAB_SEED_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			t.Fatalf("NATLAB_SEED_RUNS=%q: want 1 to 50", v)
		}
		runs = n
	}
	var mu sync.Mutex
	var results []seedRun
	t.Run("runs", func(t *testing.T) {
		for i := range runs {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				r := seedWorld(t)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		}
	})
	ok := 0
	var lines, classified, met []string
	for i, r := range results {
		if r.ok() {
			ok++
			classified = append(classified, fmt.Sprintf("%.1f", r.classified.Seconds()))
			met = append(met, fmt.Sprintf("%.1f", r.met.Seconds()))
		}
		lines = append(lines, fmt.Sprintf("run %d: classified %s, met a cone host %s; last: %s", i, secs(r.classified), secs(r.met), r.last))
	}
	slices.Sort(classified)
	slices.Sort(met)
	t.Logf("seed's world, %d runs:\n%s", len(results), strings.Join(lines, "\n"))
	t.Logf("%d of %d runs succeeded within %v; classified after %s s, met after %s s", ok, len(results), seedLimit,
		strings.Join(classified, " "), strings.Join(met, " "))
	if need := (8*runs + 9) / 10; ok < need {
		t.Errorf("%d of %d runs succeeded, want at least %d", ok, len(results), need)
	}
}

func secs(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return fmt.Sprintf("after %.2fs", d.Seconds())
}

// seedWorld runs the seed's world once and reports what the symmetric host
// did. It fails t only when the lab itself fails; the caller counts the
// runs that succeed.
func seedWorld(t *testing.T) seedRun {
	cones := names("c", 3)
	l := newLab(t, topology(Cone, cones...)+" s:symmetric", options{})
	l.start("boot", "")
	all, t0 := l.startGroup(append(cones, "s"), l.bootAddr("boot"))
	coneNodes, sym := all[:3], all[3]
	router := sym.site.public.String()
	var r seedRun
	w := newWatch(t0, all...)
	w.until(seedLimit, func(w *watch) bool {
		s, err := seedStatusOf(sym)
		if err != nil {
			return false
		}
		r.last = fmt.Sprintf("nat=%q wan_ip=%q wan_ip_provisional=%q nat_reason=%q", s.NAT, s.WANIP, s.WANIPProvisional, s.NATReason)
		if r.classified == 0 && s.NAT == "symmetric" && s.WAN == "" && (s.WANIP == router || (s.WANIP == "" && s.WANIPProvisional == router)) {
			r.classified = time.Since(t0)
		}
		for _, c := range coneNodes {
			if r.met == 0 && w.last[c] != nil && e2etest.Verified(w.last[c].Peers)[sym.peerID] {
				r.met = time.Since(t0)
			}
		}
		return r.ok()
	})
	if !r.ok() {
		t.Logf("who reaches whom, time from start (- never):\n%s", w.pairTable(all))
		t.Logf("the symmetric host's log:\n%s", sym.tail(40))
	}
	return r
}
