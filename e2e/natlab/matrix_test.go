//go:build natlab

package natlab

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// matrixTimeout is how long a pair gets to connect. A pair that connects at
// all does so in a few seconds; the rest never do, so this only sets the
// cost of the pairs that fail.
const matrixTimeout = 10 * time.Second

// pairResult is one row of the matrix.
type pairResult struct {
	a, b      Kind
	connected bool
	at        time.Duration // time to connect, both ways, from launching the hosts
	wan       [2]string     // what each node reported, and whether it is right
	packets   uint64        // datagrams both nodes sent until connected (or the timeout)
	probes    uint64        // of which port prediction probes
	attempts  uint64        // port prediction attempts of both nodes
}

// expectConnect says whether a pair must connect, and whether that is sure
// enough to assert. A host behind a symmetric NAT is reachable by plain
// hole punching only from a peer that lets in what it did not ask for
// (public, full cone): the port it uses toward a cone peer is not the one
// the introducer saw, so the cone NAT's filter drops it. Port prediction
// gets a symmetric host and a cone one through with a probability (the lab's
// symmetric NAT picks random ports: the birthday attack), so that pair is
// measured, not asserted; two symmetric NATs are not tried. A naive cone
// depends on which of two packets crosses its router first, so its pairs
// are measured too. Every other pair keeps one mapping per host, so hole
// punching works.
func expectConnect(a, b Kind) (want, sure bool) {
	if b == Symmetric {
		a, b = b, a
	}
	switch {
	case a == NaiveCone || b == NaiveCone:
		return false, false
	case a == Symmetric && b == Symmetric:
		return false, true
	case a == Symmetric && b == Cone:
		return true, false
	}
	return true, true
}

// TestMatrix runs every pair of NAT kinds: a public bootstrap and two hosts,
// one of each kind. It asserts that the pairs expected to connect do, with
// right WAN addresses, and logs the table. With NATLAB_WRITE_DOC=1
// (make natlab-report) it also writes the table into docs/nat-traversal.md.
// NATLAB_MATRIX_RUNS=N repeats every pair N times, for the pairs whose
// outcome is a race.
func TestMatrix(t *testing.T) {
	kinds := []Kind{Public, FullCone, Cone, NaiveCone, Symmetric}
	runs := 1
	if v := os.Getenv("NATLAB_MATRIX_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			t.Fatalf("NATLAB_MATRIX_RUNS=%q: want 1 to 20", v)
		}
		runs = n
	}
	var mu sync.Mutex
	results := map[[2]Kind][]pairResult{}
	t.Run("pairs", func(t *testing.T) {
		for i, a := range kinds {
			for _, b := range kinds[i:] {
				for run := range runs {
					t.Run(fmt.Sprintf("%s-%s/%d", a, b, run), func(t *testing.T) {
						t.Parallel()
						r := runPair(t, a, b)
						mu.Lock()
						results[[2]Kind{a, b}] = append(results[[2]Kind{a, b}], r)
						mu.Unlock()
					})
				}
			}
		}
	})
	var rows [][]pairResult
	for i, a := range kinds {
		for _, b := range kinds[i:] {
			if rs := results[[2]Kind{a, b}]; len(rs) > 0 {
				rows = append(rows, rs)
			}
		}
	}
	table := matrixTable(rows)
	t.Logf("NAT pair matrix (bootstrap public, %v timeout, %d runs per pair):\n%s", matrixTimeout, runs, table)
	if os.Getenv("NATLAB_WRITE_DOC") != "" {
		if err := writeMatrixDoc(table, runs); err != nil {
			t.Fatal(err)
		}
		t.Log("wrote the table into docs/nat-traversal.md")
	}
}

// runPair measures one pair and fails t if the pair should have connected.
// A second public node gives each host the two observers that its NAT type
// (and so port prediction) needs.
func runPair(t *testing.T, a, b Kind) pairResult {
	l := newLab(t, fmt.Sprintf("boot:public pub:public a:%s b:%s", a, b), options{})
	l.start("boot", "")
	all, t0 := l.startGroup([]string{"pub", "a", "b"}, l.bootAddr("boot"))
	nodes := all[1:]
	w := newWatch(t0, all...)
	connected, at := w.until(matrixTimeout, func(w *watch) bool {
		return w.meshed(nodes) && len(w.wanProblems(nodes)) == 0
	})
	r := pairResult{a: a, b: b, connected: w.meshed(nodes), at: at}
	for i, n := range nodes {
		s := w.last[n]
		if s == nil {
			r.wan[i] = "no status"
			continue
		}
		r.packets += s.PacketsSent
		r.probes += s.PortPrediction.Probes
		r.attempts += s.PortPrediction.Attempts
		r.wan[i] = fmt.Sprintf("%s %s", s.NAT, firstNonEmpty(s.WAN, s.WANIP, "-"))
		if wanProblem(n, s) == "" {
			r.wan[i] += " (right)"
		} else {
			r.wan[i] += " (wrong)"
		}
	}
	if !r.connected {
		r.at = 0
	}
	want, sure := expectConnect(a, b)
	if want && sure && !connected {
		t.Errorf("%s x %s: want connected with right WAN addresses within %v:\n%s", a, b, matrixTimeout,
			strings.Join(append(w.missing(nodes), w.wanProblems(nodes)...), "\n"))
	}
	if !want && sure && r.connected {
		t.Logf("%s x %s connected, which the matrix did not expect: update expectConnect and the doc", a, b)
	}
	return r
}

// matrixTable renders the results as a Markdown table, one row per pair:
// how many runs connected, the median time and packets of those that did
// (of all runs if none did), and the WAN report of the first such run.
func matrixTable(rows [][]pairResult) string {
	var b strings.Builder
	b.WriteString("| host A | host B | connected | time to connect | WAN of A | WAN of B | packets sent (A+B) | of which probes | prediction attempts |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, rs := range rows {
		var ok []pairResult
		for _, r := range rs {
			if r.connected {
				ok = append(ok, r)
			}
		}
		conn, at, pick := "no", "-", rs
		switch {
		case len(ok) == len(rs):
			conn = "yes"
		case len(ok) > 0:
			conn = fmt.Sprintf("%d of %d runs", len(ok), len(rs))
		}
		if len(ok) > 0 {
			pick = ok
			at = fmt.Sprintf("%.2f s", median(pick, func(r pairResult) float64 { return r.at.Seconds() }))
		}
		packets := median(pick, func(r pairResult) float64 { return float64(r.packets) })
		probes := median(pick, func(r pairResult) float64 { return float64(r.probes) })
		attempts := median(pick, func(r pairResult) float64 { return float64(r.attempts) })
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %.0f | %.0f | %.0f |\n", rs[0].a, rs[0].b, conn, at, pick[0].wan[0], pick[0].wan[1], packets, probes, attempts)
	}
	return b.String()
}

// median returns the median of f over rs (the lower one of an even count).
func median(rs []pairResult, f func(pairResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	return v[(len(v)-1)/2]
}

// Markers around the generated table in docs/nat-traversal.md; the prose
// around them is written by hand.
const (
	matrixBegin = "<!-- natlab-matrix:begin (make natlab-report writes this table) -->"
	matrixEnd   = "<!-- natlab-matrix:end -->"
)

// writeMatrixDoc replaces the table between the markers of
// docs/nat-traversal.md.
func writeMatrixDoc(table string, runs int) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	path := filepath.Join(root, "docs", "nat-traversal.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	before, rest, ok1 := strings.Cut(string(doc), matrixBegin)
	_, after, ok2 := strings.Cut(rest, matrixEnd)
	if !ok1 || !ok2 {
		return fmt.Errorf("%s: markers %q and %q not found", path, matrixBegin, matrixEnd)
	}
	stamp := fmt.Sprintf("Measured %s by `make natlab-report`: %d runs per pair, timeout %v.\n\n",
		time.Now().UTC().Format("2006-01-02"), runs, matrixTimeout)
	return os.WriteFile(path, []byte(before+matrixBegin+"\n"+stamp+table+matrixEnd+after), 0o644)
}

// firstNonEmpty returns the first of ss that is not "".
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
