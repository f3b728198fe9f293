//go:build natlab

package natlab

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/walkie-p2p/walkie/e2e/internal/e2etest"
)

// reaches reports whether s (a's status) lists b as a verified peer at
// an address a should use (wantAddrs): b's public address (the punctured
// hole, not a relayed one; behind a symmetric NAT only the IP is
// predictable), or b's LAN address when both sit behind one router, which
// most NATs do not hairpin.
func reaches(s *status, a, b *node) bool {
	p, ok := s.peer(b.peerID)
	if !ok {
		return false
	}
	addr, err := netip.ParseAddrPort(p.Addr)
	if err != nil {
		return false
	}
	for _, want := range wantAddrs(a, b) {
		if addr == want || want.Port() == 0 && addr.Addr() == want.Addr() {
			return true
		}
	}
	return false
}

// wanProblem says how n's reported WAN address and NAT type differ from
// what its site's kind implies, or returns "". A full cone NAT looks like a
// cone from inside (both keep one mapping), so its node says "cone"; a
// naive cone is right to say either, since it is a cone until the trap
// gives one peer a second port.
func wanProblem(n *node, s *status) string {
	ip := n.site.public.String()
	cone := fmt.Sprintf("nat=%q wan=%q wan_ip=%q", "cone", netip.AddrPortFrom(n.site.public, nodePort), ip)
	symmetric := fmt.Sprintf("nat=%q wan=%q wan_ip=%q", "symmetric", "", ip)
	var want []string
	switch n.site.kind {
	case Public:
		want = []string{fmt.Sprintf("nat=%q wan=%q wan_ip=%q", "public", n.site.listen(), ip)}
	case Cone, FullCone:
		want = []string{cone}
	case NaiveCone:
		want = []string{cone, symmetric}
	case Symmetric:
		want = []string{symmetric}
	}
	got := fmt.Sprintf("nat=%q wan=%q wan_ip=%q", s.NAT, s.WAN, s.WANIP)
	if slices.Contains(want, got) {
		return ""
	}
	if n.site.shared > 0 && n.site.kind != Symmetric { // which host keeps the port is a race
		if wan, err := netip.ParseAddrPort(s.WAN); err == nil && s.NAT == "cone" && wan.Addr() == n.site.public && s.WANIP == ip {
			return ""
		}
		want = []string{fmt.Sprintf("nat=%q wan=%q wan_ip=%q", "cone", ip+":any", ip)}
	}
	return fmt.Sprintf("%s: %s, want %s", n.site.name, got, strings.Join(want, " or "))
}

// watch polls the /status of nodes every 100 ms until done (given the
// latest statuses and the time since t0) returns true, or timeout passes.
// It returns whether done succeeded, the time it took and the statuses
// last seen, and records for every ordered pair (a, b) the time at which
// a first reached b.
type watch struct {
	t0     time.Time
	nodes  []*node
	last   map[*node]*status
	joined map[[2]*node]time.Duration // a reached b after this long
}

// newWatch starts watching nodes from t0.
func newWatch(t0 time.Time, nodes ...*node) *watch {
	return &watch{t0: t0, nodes: nodes, last: map[*node]*status{}, joined: map[[2]*node]time.Duration{}}
}

// until polls until done returns true or timeout (from t0) passes, and
// returns whether it succeeded and when.
func (w *watch) until(timeout time.Duration, done func(w *watch) bool) (bool, time.Duration) {
	var at time.Duration
	ok := e2etest.Poll(time.Until(w.t0.Add(timeout)), 100*time.Millisecond, func() bool {
		at = time.Since(w.t0)
		for _, n := range w.nodes {
			if s, err := n.status(); err == nil {
				w.last[n] = s
			}
		}
		for _, a := range w.nodes {
			for _, b := range w.nodes {
				k := [2]*node{a, b}
				if _, seen := w.joined[k]; !seen && a != b && w.last[a] != nil && reaches(w.last[a], a, b) {
					w.joined[k] = at
				}
			}
		}
		return done(w)
	})
	return ok, at
}

// meshed reports whether every node of group reaches every other now.
func (w *watch) meshed(group []*node) bool {
	return len(w.missing(group)) == 0
}

// missing lists the pairs of group that do not reach each other now,
// with what a's table holds for b instead.
func (w *watch) missing(group []*node) []string {
	var out []string
	for _, a := range group {
		for _, b := range group {
			if a == b {
				continue
			}
			s := w.last[a]
			if s == nil {
				out = append(out, a.site.name+": no /status")
				continue
			}
			if reaches(s, a, b) {
				continue
			}
			got := "absent"
			for _, p := range s.Peers {
				if p.ID == b.peerID {
					got = fmt.Sprintf("at %s verified=%v authenticated=%v", p.Addr, p.Verified, p.Authenticated)
				}
			}
			out = append(out, fmt.Sprintf("%s -> %s (want %v): %s", a.site.name, b.site.name, wantAddrs(a, b), got))
		}
	}
	return out
}

// wanProblems lists wanProblem for every node of group whose last status
// is wrong.
func (w *watch) wanProblems(group []*node) []string {
	var out []string
	for _, n := range group {
		if s := w.last[n]; s == nil {
			out = append(out, n.site.name+": no /status")
		} else if p := wanProblem(n, s); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// pairTable renders who reaches whom, and when, as lines for t.Log.
func (w *watch) pairTable(group []*node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s", "reaches->")
	for _, n := range group {
		fmt.Fprintf(&b, "%10s", n.site.name)
	}
	for _, a := range group {
		fmt.Fprintf(&b, "\n%-10s", a.site.name+"("+string(a.site.kind)[:3]+")")
		for _, c := range group {
			cell := "-"
			if a == c {
				cell = "."
			} else if d, ok := w.joined[[2]*node{a, c}]; ok {
				cell = fmt.Sprintf("%.1fs", d.Seconds())
			}
			fmt.Fprintf(&b, "%10s", cell)
		}
	}
	return b.String()
}
