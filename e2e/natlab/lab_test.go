//go:build natlab

package natlab

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Kind is how a site meets the "internet": directly, or through a NAT
// router of one behaviour (the RFC 4787 terms are in docs/nat-traversal.md).
type Kind string

// The kinds of site a topology may name.
const (
	Public    Kind = "public"    // the host sits on the internet bridge itself
	Cone      Kind = "cone"      // port-restricted cone: masquerade, unsolicited input dropped
	Symmetric Kind = "symmetric" // masquerade fully-random: a new port per destination
	FullCone  Kind = "fullcone"  // the node's port forwarded to the host (explicit DNAT)
	// NaiveCone is cone without the input chain: the trap of
	// notes/natlab.md, kept to show what it does to hole punching.
	NaiveCone Kind = "naivecone"
)

// nodePort is the UDP port every node listens on. One port for all keeps
// the expected public address of a cone host simple: masquerade keeps the
// source port when it is free, so the host is reachable at routerIP:nodePort.
const nodePort = 1873

// site is one host, and its router unless it is public.
type site struct {
	name   string
	kind   Kind
	host   string     // namespace of the host
	router string     // namespace of the NAT router; "" for a public host
	public netip.Addr // the router's public IP, or the public host's own
	lan    netip.Addr // the host's own address
	gw     netip.Addr // the router's LAN address
	shared int        // how many more hosts share the router (those added with @name)
}

// listen is the address the node binds.
func (s *site) listen() netip.AddrPort { return netip.AddrPortFrom(s.lan, nodePort) }

// wantWAN is where the rest of the internet reaches the site's node; for a
// symmetric NAT only the IP is stable, and the port is 0. So it is for a
// naive cone, whose port moves whenever the trap springs, and for hosts
// that share a router: which of them keeps the port is a race.
func (s *site) wantWAN() netip.AddrPort {
	if s.kind == Symmetric || s.kind == NaiveCone || s.shared > 0 {
		return netip.AddrPortFrom(s.public, 0)
	}
	return netip.AddrPortFrom(s.public, nodePort)
}

// options vary a lab: what netem would add on every router's WAN interface
// (egress), a fixed delay and a random loss; and whether every NATed host
// sits on the same private subnet, as most home networks do.
type options struct {
	delay   time.Duration
	lossPct int
	sameLAN bool // every NATed host is 192.168.1.2 behind 192.168.1.1
}

// lab is one topology: an "internet" namespace with bridge br0, and sites
// attached to it. Everything it creates is removed when the test ends.
type lab struct {
	t      *testing.T
	prefix string // runPrefix-lN: the start of every namespace name of this lab
	inet   string
	sites  []*site
	byName map[string]*site
	nodes  []*node
}

// labCount numbers the labs of this run, so parallel tests get distinct
// namespace names.
var labCount atomic.Int32

// newLab builds the topology described by desc: space-separated name:kind
// sites, for example "boot:public a:cone b:symmetric". Site i gets the
// public address 203.0.113.(10+i); a NATed host gets 10.(i+1).0.2 behind
// router 10.(i+1).0.1, unless opt.sameLAN. Documentation addresses never
// leave the namespaces.
func newLab(t *testing.T, desc string, opt options) *lab {
	t.Helper()
	l := &lab{t: t, prefix: fmt.Sprintf("%s-l%d", runPrefix, labCount.Add(1)), byName: map[string]*site{}}
	l.inet = l.prefix + "-inet"
	t.Cleanup(func() { removeNamespaces(l.prefix) }) // registered first, so it runs after the nodes stop
	t.Cleanup(l.dumpConntrack)
	specs, err := parseTopology(desc)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Helper()
			t.Fatal(err)
		}
	}
	must(ip("netns", "add", l.inet))
	must(ip("-n", l.inet, "link", "add", "br0", "type", "bridge"))
	must(ip("-n", l.inet, "link", "set", "br0", "up"))
	for i, sp := range specs {
		if sp.behind != "" {
			must(l.addBehind(sp.name, l.byName[sp.behind]))
		} else {
			must(l.addSite(i, sp, opt))
		}
	}
	return l
}

// addSite adds site i: a public host, or a router and the host behind it.
func (l *lab) addSite(i int, sp siteSpec, opt options) error {
	s := &site{name: sp.name, kind: sp.kind, host: l.prefix + "-" + sp.name, public: netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + i)})}
	l.sites = append(l.sites, s)
	l.byName[s.name] = s
	port := fmt.Sprintf("v%d", i) // the site's port on the bridge
	if s.kind == Public {
		s.lan = s.public
		return errors.Join(ip("netns", "add", s.host), ip("-n", s.host, "link", "set", "lo", "up"),
			l.wire(s.host, "eth0", port, s.public))
	}
	s.router = s.host + "-r"
	s.lan = netip.AddrFrom4([4]byte{10, byte(i + 1), 0, 2})
	s.gw = netip.AddrFrom4([4]byte{10, byte(i + 1), 0, 1})
	if opt.sameLAN {
		s.lan, s.gw = netip.AddrFrom4([4]byte{192, 168, 1, 2}), netip.AddrFrom4([4]byte{192, 168, 1, 1})
	}
	// The router's LAN side is a bridge, so that more hosts can join it.
	for _, args := range [][]string{
		{"netns", "add", s.router},
		{"-n", s.router, "link", "set", "lo", "up"},
		{"-n", s.router, "link", "add", "lan", "type", "bridge"},
		{"-n", s.router, "addr", "add", s.gw.String() + "/24", "dev", "lan"},
		{"-n", s.router, "link", "set", "lan", "up"},
	} {
		if err := ip(args...); err != nil {
			return err
		}
	}
	if err := l.wire(s.router, "wan", port, s.public); err != nil {
		return err
	}
	if err := l.addHost(s, 0); err != nil {
		return err
	}
	if err := inNS(s.router, "", "sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
		return err
	}
	if err := inNS(s.router, natRules(s), "nft", "-f", "-"); err != nil {
		return err
	}
	if opt.delay > 0 || opt.lossPct > 0 {
		return impair(l.t, s.router, opt)
	}
	return nil
}

// addBehind adds host name behind owner's router, on owner's subnet.
func (l *lab) addBehind(name string, owner *site) error {
	owner.shared++
	s := *owner
	s.name, s.host, s.lan = name, l.prefix+"-"+name, owner.lan.Next()
	for o := range l.sites { // the next free address on the subnet
		if l.sites[o].router == owner.router && l.sites[o].lan.Compare(s.lan) >= 0 {
			s.lan = l.sites[o].lan.Next()
		}
	}
	l.sites = append(l.sites, &s)
	l.byName[name] = &s
	return l.addHost(&s, owner.shared)
}

// addHost creates s's host namespace and plugs it into its router's LAN
// bridge as port hK.
func (l *lab) addHost(s *site, k int) error {
	port := fmt.Sprintf("h%d", k)
	for _, args := range [][]string{
		{"netns", "add", s.host},
		{"-n", s.host, "link", "set", "lo", "up"},
		{"-n", s.router, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", s.host},
		{"-n", s.router, "link", "set", port, "master", "lan"},
		{"-n", s.router, "link", "set", port, "up"},
		{"-n", s.host, "addr", "add", s.lan.String() + "/24", "dev", "eth0"},
		{"-n", s.host, "link", "set", "eth0", "up"},
		{"-n", s.host, "route", "add", "default", "via", s.gw.String()},
	} {
		if err := ip(args...); err != nil {
			return err
		}
	}
	return nil
}

// dumpConntrack logs every router's UDP conntrack table when the test has
// failed: the mappings the NATs really made are the first thing to look at.
func (l *lab) dumpConntrack() {
	if !l.t.Failed() {
		return
	}
	for _, s := range l.sites {
		if s.router == "" {
			continue
		}
		out, err := exec.Command("ip", "netns", "exec", s.router, "conntrack", "-L", "-p", "udp").CombinedOutput()
		l.t.Logf("conntrack of %s's router (%v):\n%s", s.name, err, out)
	}
}

// wire connects interface dev of namespace ns to the bridge (as port) and
// gives it addr in the internet's /24.
func (l *lab) wire(ns, dev, port string, addr netip.Addr) error {
	for _, args := range [][]string{
		{"-n", ns, "link", "add", dev, "type", "veth", "peer", "name", port, "netns", l.inet},
		{"-n", l.inet, "link", "set", port, "master", "br0"},
		{"-n", l.inet, "link", "set", port, "up"},
		{"-n", ns, "addr", "add", addr.String() + "/24", "dev", dev},
		{"-n", ns, "link", "set", dev, "up"},
	} {
		if err := ip(args...); err != nil {
			return err
		}
	}
	return nil
}

// natRules returns the nftables ruleset of a router of s's kind.
//
// Every kind but NaiveCone drops unsolicited input to the router itself. Without that, a
// peer's early packet to the public port is accepted locally and leaves a
// conntrack entry; when the host then sends to that peer, masquerade finds
// the port taken and picks a random one, and a cone NAT behaves symmetric
// (the trap in notes/natlab.md). Forwarded traffic is filtered by
// conntrack: only replies to what the host sent come in (port-restricted),
// except on a full cone, whose forwarded port lets everything in.
func natRules(s *site) string {
	masq, pre, dnatOK, input := "masquerade", "", "", inputChain
	switch s.kind {
	case NaiveCone:
		input = ""
	case Symmetric:
		masq = "masquerade fully-random"
	case FullCone:
		pre = fmt.Sprintf("\tchain pre {\n\t\ttype nat hook prerouting priority -100;\n\t\tiifname \"wan\" udp dport %d dnat to %s\n\t}\n", nodePort, s.lan)
		dnatOK = "\t\tct status dnat accept\n"
	}
	return "table ip nat {\n" + pre +
		"\tchain post {\n\t\ttype nat hook postrouting priority 100;\n\t\toifname \"wan\" " + masq + "\n\t}\n}\n" +
		"table ip filter {\n" +
		"\tchain forwarding {\n\t\ttype filter hook forward priority 0; policy drop;\n" +
		"\t\tct state established,related accept\n" + dnatOK + "\t\tiifname \"lan\" accept\n\t}\n" +
		input + "}\n"
}

// inputChain is the router's input chain: nothing unsolicited reaches the
// router itself.
const inputChain = "\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n" +
	"\t\tct state established,related accept\n\t\tiifname \"lo\" accept\n\t\tiifname \"lan\" accept\n\t}\n"

// siteSpec is one name:kind of a topology description, or name:@other
// for a host behind other's router.
type siteSpec struct {
	name   string
	kind   Kind
	behind string
}

// parseTopology parses "name:kind name:kind ...", where a kind may be
// @name: behind the router of that earlier site.
func parseTopology(desc string) ([]siteSpec, error) {
	var out []siteSpec
	seen := map[string]bool{}
	for _, f := range strings.Fields(desc) {
		name, kind, ok := strings.Cut(f, ":")
		switch {
		case !ok || name == "" || len(name) > 8 || strings.ContainsAny(name, "/-"):
			return nil, fmt.Errorf("topology %q: %q is not name:kind (name 1..8 characters, no - or /)", desc, f)
		case seen[name]:
			return nil, fmt.Errorf("topology %q: %s named twice", desc, name)
		}
		switch k, owner := Kind(kind), strings.TrimPrefix(kind, "@"); {
		case k == Public || k == Cone || k == Symmetric || k == FullCone || k == NaiveCone:
			out = append(out, siteSpec{name: name, kind: k})
		case owner != kind:
			i := slices.IndexFunc(out, func(o siteSpec) bool { return o.name == owner })
			if i < 0 || out[i].kind == Public || out[i].behind != "" {
				return nil, fmt.Errorf("topology %q: %s: %s is not an earlier NATed site", desc, f, owner)
			}
			out = append(out, siteSpec{name: name, kind: out[i].kind, behind: owner})
		default:
			return nil, fmt.Errorf("topology %q: unknown kind %q (public, cone, symmetric, fullcone, naivecone, or @site)", desc, kind)
		}
		seen[name] = true
	}
	if len(out) == 0 || len(out) > 200 {
		return nil, fmt.Errorf("topology %q: want 1 to 200 sites", desc)
	}
	return out, nil
}
