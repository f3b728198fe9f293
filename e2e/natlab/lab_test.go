//go:build natlab

package natlab

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
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
	// NAT64 is an IPv6-only host behind a carrier's NAT64 (tayga, its pool
	// masqueraded to the router's IPv4 address) with DNS64 (unbound).
	NAT64 Kind = "nat64"
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
	fam    family     // the IP versions the host has (lab6_test.go)
	lan6   netip.Addr // the host's IPv6 address, if it has one
	gw6    netip.Addr // the router's LAN IPv6 address
	wan6   netip.Addr // the router's IPv6 address on the bridge, or the public host's
	port   string     // the host's veth on its router's LAN bridge, for replug
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
// (egress), a fixed delay and a random loss; whether every NATed host
// sits on the same private subnet, as most home networks do; and whether
// the routers forget idle UDP mappings after 30 s, as carriers' NATs do.
type options struct {
	delay   time.Duration
	lossPct int
	sameLAN bool // every NATed host is 192.168.1.2 behind 192.168.1.1
	carrier bool // 30 s UDP conntrack timeouts on every router (Linux: 30 s, 120 s once a flow saw replies)
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
	must(l.route6())
	return l
}

// addSite adds site i: a public host, or a router and the host behind it.
func (l *lab) addSite(i int, sp siteSpec, opt options) error {
	s := &site{name: sp.name, kind: sp.kind, fam: sp.fam, host: l.prefix + "-" + sp.name, public: netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + i)})}
	l.sites = append(l.sites, s)
	l.byName[s.name] = s
	port := fmt.Sprintf("v%d", i) // the site's port on the bridge
	if s.fam != v4only {
		s.wan6 = bridge6(i, 2)
	}
	switch s.kind {
	case Public:
		if s.fam == v6only {
			s.public = s.wan6
		}
		s.lan, s.lan6 = s.public, s.wan6
		return errors.Join(ip("netns", "add", s.host), ip("-n", s.host, "link", "set", "lo", "up"),
			l.wire(s.host, "eth0", port, s.public, s.wan6))
	case NAT64:
		return l.addNAT64(i, s, port, opt)
	}
	s.router = s.host + "-r"
	s.lan = netip.AddrFrom4([4]byte{10, byte(i + 1), 0, 2})
	s.gw = netip.AddrFrom4([4]byte{10, byte(i + 1), 0, 1})
	if opt.sameLAN {
		s.lan, s.gw = netip.AddrFrom4([4]byte{192, 168, 1, 2}), netip.AddrFrom4([4]byte{192, 168, 1, 1})
	}
	if s.fam == dual {
		s.gw6, s.lan6 = lan6(i, 1), lan6(i, 2)
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
	if err := l.wire(s.router, "wan", port, s.public, s.wan6); err != nil {
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
	if err := router6(s); err != nil {
		return err
	}
	if opt.carrier {
		if err := carrierTimeouts(s.router); err != nil {
			return err
		}
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
	s.name, s.host = name, l.prefix+"-"+name
	s.lan, s.lan6 = l.freeAddrs(owner)
	l.sites = append(l.sites, &s)
	l.byName[name] = &s
	return l.addHost(&s, owner.shared)
}

// freeAddrs returns the next free host addresses on owner's LAN: IPv4, and
// IPv6 if the LAN has it.
func (l *lab) freeAddrs(owner *site) (lan, lan6 netip.Addr) {
	lan = owner.lan.Next()
	if owner.lan6.IsValid() {
		lan6 = owner.lan6.Next()
	}
	for _, o := range l.sites {
		if o.router != owner.router {
			continue
		}
		if o.lan.Compare(lan) >= 0 {
			lan = o.lan.Next()
		}
		if lan6.IsValid() && o.lan6.Compare(lan6) >= 0 {
			lan6 = o.lan6.Next()
		}
	}
	return lan, lan6
}

// addHost creates s's host namespace and plugs it into its router's LAN
// bridge as port hK.
func (l *lab) addHost(s *site, k int) error {
	if err := errors.Join(ip("netns", "add", s.host), ip("-n", s.host, "link", "set", "lo", "up")); err != nil {
		return err
	}
	return plug(s, fmt.Sprintf("h%d", k))
}

// plug connects s's host to its router's LAN bridge as port (a veth whose
// host end is eth0) and gives it its addresses and default routes.
func plug(s *site, port string) error {
	s.port = port
	cmds := [][]string{
		{"-n", s.router, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", s.host},
		{"-n", s.router, "link", "set", port, "master", "lan"},
		{"-n", s.router, "link", "set", port, "up"},
	}
	if s.lan.Is4() {
		cmds = append(cmds, []string{"-n", s.host, "addr", "add", s.lan.String() + "/24", "dev", "eth0"})
	}
	if s.lan6.IsValid() { // nodad: usable at once, not after a second of duplicate detection
		cmds = append(cmds, []string{"-n", s.host, "addr", "add", s.lan6.String() + "/64", "dev", "eth0", "nodad"})
	}
	cmds = append(cmds, []string{"-n", s.host, "link", "set", "eth0", "up"})
	if s.lan.Is4() {
		cmds = append(cmds, []string{"-n", s.host, "route", "add", "default", "via", s.gw.String()})
	}
	if s.lan6.IsValid() {
		cmds = append(cmds, []string{"-n", s.host, "-6", "route", "add", "default", "via", s.gw6.String()})
	}
	for _, args := range cmds {
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
// gives it addr in the internet's /24 if that is an IPv4 address, and addr6
// (its /64, with the internet's router as default) if that is valid.
func (l *lab) wire(ns, dev, port string, addr, addr6 netip.Addr) error {
	cmds := [][]string{
		{"-n", ns, "link", "add", dev, "type", "veth", "peer", "name", port, "netns", l.inet},
		{"-n", l.inet, "link", "set", port, "master", "br0"},
		{"-n", l.inet, "link", "set", port, "up"},
	}
	if addr.Is4() {
		cmds = append(cmds, []string{"-n", ns, "addr", "add", addr.String() + "/24", "dev", dev})
	}
	if addr6.IsValid() {
		cmds = append(cmds, []string{"-n", ns, "addr", "add", addr6.String() + "/64", "dev", dev, "nodad"})
	}
	cmds = append(cmds, []string{"-n", ns, "link", "set", dev, "up"})
	if addr6.IsValid() {
		cmds = append(cmds, []string{"-n", ns, "-6", "route", "add", "default", "via", gateway6(addr6).String()})
	}
	for _, args := range cmds {
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
