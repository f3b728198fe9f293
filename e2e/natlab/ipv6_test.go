//go:build natlab

package natlab

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// ipv6Problem says how a dual-stack node's IPv6 fields (lan6, wan6,
// wan_ip6, nat6) differ from what its site implies, or returns "". Its
// IPv6 address is routed, not translated (a public host's, or one behind a
// router's stateful firewall), so the node sees itself at its own address
// and says "public": the firewall filters like a port-restricted cone but
// does not map, and nothing a node observes tells the two apart.
func ipv6Problem(n *node, s *status) string {
	a := netip.AddrPortFrom(n.site.lan6, nodePort)
	want := fmt.Sprintf("lan6=%q wan6=%q wan_ip6=%q nat6=%q", a, a, a.Addr(), "public")
	got := fmt.Sprintf("lan6=%q wan6=%q wan_ip6=%q nat6=%q", s.LAN6, s.WAN6, s.WANIP6, s.NAT6)
	if got == want {
		return ""
	}
	return fmt.Sprintf("%s: %s, want %s", n.site.name, got, want)
}

// lanProblem says how n's lan differs from the address its site gives
// it, or returns "".
func lanProblem(n *node, s *status) string {
	if want := n.site.listen().String(); s.LAN != want {
		return fmt.Sprintf("%s: lan=%q, want %q", n.site.name, s.LAN, want)
	}
	return ""
}

// TestIPv6: the internet has IPv6 too. A dual-stack public bootstrap, an
// IPv4-only public host, two IPv6-only public hosts (a node needs two
// observers in different networks to decide its address), an IPv4-only
// host behind a cone NAT, and a dual-stack host behind a home router: IPv4
// through its cone NAT, IPv6 routed through its stateful firewall (only
// replies get in; the common home set-up). The dual-stack nodes listen on
// 0.0.0.0:1873 and the IPv6-only ones on [::]:1873, so each finds its
// addresses by asking its routes (cmd/node/lan.go). Within 10 s of the
// start, each of three checks holds (each reported on its own):
//   - ipv6-only: p6 and q6 say lan = wan = their address, nat public;
//   - dual-public: the bootstrap says nat and nat6 public, lan and wan its
//     IPv4 address, lan6 and wan6 its IPv6 one;
//   - home: d says nat cone with its router's address as wan, nat6 public
//     with its own IPv6 address as lan6 and wan6, and it reaches, and is
//     reached by, the bootstrap, both IPv4-only hosts (at their IPv4
//     addresses) and both IPv6-only hosts (at their IPv6 addresses).
func TestIPv6(t *testing.T) {
	t.Parallel()
	l := newLab(t, "boot:public+6 p4:public p6:public6 q6:public6 d:cone+6 c4:cone", options{})
	boot := l.start("boot", "")
	b4, b6 := l.bootAddr("boot"), netip.AddrPortFrom(l.byName["boot"].lan6, nodePort).String()
	t0 := time.Now()
	p4, c4 := l.launch("p4", "", b4), l.launch("c4", "", b4)
	p6, q6 := l.launch("p6", "", b6), l.launch("q6", "", b6)
	d := l.launch("d", "", b4, b6) // as a host name with A and AAAA records would give it
	for _, n := range []*node{p4, c4, p6, q6, d} {
		n.waitReady(t)
	}
	all := []*node{boot, p4, p6, q6, d, c4}
	// fields lists what is wrong with the addresses and NAT types of nodes.
	fields := func(w *watch, nodes ...*node) []string {
		out := w.wanProblems(nodes)
		for _, n := range nodes {
			if s := w.last[n]; s != nil {
				out = append(out, lanProblem(n, s))
				if n.site.fam == dual {
					out = append(out, ipv6Problem(n, s))
				}
			}
		}
		return slices.DeleteFunc(out, func(p string) bool { return p == "" })
	}
	checks := []struct {
		name     string
		problems func(w *watch) []string
	}{
		{"ipv6-only", func(w *watch) []string { return fields(w, p6, q6) }},
		{"dual-public", func(w *watch) []string { return fields(w, boot) }},
		{"home", func(w *watch) []string {
			out := fields(w, d)
			for _, peer := range []*node{boot, p4, c4, p6, q6} {
				out = append(out, w.missing([]*node{d, peer})...)
			}
			return out
		}},
	}
	okAt := map[string]time.Duration{}
	w := newWatch(t0, all...)
	w.until(10*time.Second, func(w *watch) bool {
		for _, c := range checks {
			if _, done := okAt[c.name]; !done && len(c.problems(w)) == 0 {
				okAt[c.name] = time.Since(t0)
			}
		}
		return len(okAt) == len(checks)
	})
	t.Logf("who reaches whom, time from start (p4 and c4 share no IP version with p6 and q6):\n%s", w.pairTable(all))
	for _, n := range all {
		if s := w.last[n]; s != nil {
			t.Logf("%-4s lan=%s wan=%s wan_ip=%s nat=%s | lan6=%s wan6=%s wan_ip6=%s nat6=%s",
				n.site.name, s.LAN, s.WAN, s.WANIP, s.NAT, s.LAN6, s.WAN6, s.WANIP6, s.NAT6)
		}
	}
	for _, c := range checks {
		if at, ok := okAt[c.name]; ok {
			t.Logf("%s: right after %.2fs", c.name, at.Seconds())
		} else {
			t.Errorf("%s: not right within 10 s:\n%s", c.name, strings.Join(c.problems(w), "\n"))
		}
	}
}
