//go:build natlab

package natlab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/e2e/internal/e2etest"
)

// The carrier's NAT64 (nat64 sites): the router's LAN is IPv6 only; tayga
// (userspace: these kernels have no jool module) translates the prefix
// 2001:db8:64::/96 to IPv4, giving each IPv6 host an address of its pool,
// and nftables masquerades the pool to the router's public IPv4 address,
// as a carrier's stateful NAT64 does (RFC 6146 asks for endpoint-
// independent mapping: masquerade keeps the port, and unsolicited input is
// dropped as on the cone routers). unbound, on the router's LAN address,
// is the phone's DNS64: it synthesizes AAAA records from A records, and
// serves ipv4only.arpa (192.0.0.170 and .171, RFC 7050) itself, since the
// lab has no internet; the phone finds the prefix by asking for its AAAA.
const (
	taygaPool = "192.168.255.0/24"
	taygaIPv4 = "192.168.255.1" // tayga's own, for the ICMP it sends
)

// addNAT64 builds site i as an IPv6-only host behind a NAT64 router with
// DNS64, and points the host's resolv.conf at it.
func (l *lab) addNAT64(i int, s *site, port string, opt options) error {
	for _, tool := range []string{"tayga", "unbound"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: the NAT64 lab needs it (apt-get install -y %s)", tool, tool)
		}
	}
	s.router = s.host + "-r"
	s.gw6, s.lan6 = lan6(i, 1), lan6(i, 2)
	s.lan = s.lan6
	if err := ipAll(
		[]string{"netns", "add", s.router},
		[]string{"-n", s.router, "link", "set", "lo", "up"},
		[]string{"-n", s.router, "link", "add", "lan", "type", "bridge"},
		[]string{"-n", s.router, "link", "set", "lan", "up"},
	); err != nil {
		return err
	}
	if err := l.wire(s.router, "wan", port, s.public, s.wan6); err != nil {
		return err
	}
	if err := l.addHost(s, 0); err != nil {
		return err
	}
	if err := router6(s); err != nil {
		return err
	}
	if err := inNS(s.router, "", "sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
		return err
	}
	if err := inNS(s.router, nat64Rules, "nft", "-f", "-"); err != nil {
		return err
	}
	if opt.carrier {
		if err := carrierTimeouts(s.router); err != nil {
			return err
		}
	}
	if err := l.startTayga(s); err != nil {
		return err
	}
	if err := l.startUnbound(s); err != nil {
		return err
	}
	dir := filepath.Join(etcNetns, s.host) // removed with the namespace (removeNamespaces)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver "+s.gw6.String()+"\n"), 0o644)
}

// ipAll runs ip with each argument list in turn, until one fails.
func ipAll(cmds ...[]string) error {
	for _, args := range cmds {
		if err := ip(args...); err != nil {
			return err
		}
	}
	return nil
}

// nat64Rules is the NAT64 router's IPv4 ruleset: the pool is masqueraded
// to the public address, and only replies come back in.
const nat64Rules = "table ip nat {\n\tchain post {\n\t\ttype nat hook postrouting priority 100;\n" +
	"\t\toifname \"wan\" ip saddr " + taygaPool + " masquerade\n\t}\n}\n" +
	"table ip filter {\n\tchain forwarding {\n\t\ttype filter hook forward priority 0; policy drop;\n" +
	"\t\tct state established,related accept\n\t\tiifname \"nat64\" accept\n\t}\n" + inputChain + "}\n"

// daemon is a helper process of the lab (tayga, unbound) in a router's
// namespace: stopped when the test ends, its output logged if it failed.
func (l *lab) daemon(ns, name string, args ...string) error {
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	})
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // it dies with the test process
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s in %s: %w", name, ns, err)
	}
	l.t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if l.t.Failed() {
			mu.Lock()
			l.t.Logf("%s in %s said:\n%s", name, ns, out.String())
			mu.Unlock()
		}
	})
	return nil
}

// writerFunc is an io.Writer made of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// startTayga creates the nat64 tun device in s's router, routes the prefix
// and the pool through it, and runs tayga until its device is up.
func (l *lab) startTayga(s *site) error {
	dir := l.t.TempDir()
	conf := filepath.Join(dir, "tayga.conf")
	text := fmt.Sprintf("tun-device nat64\nipv4-addr %s\nprefix %s\ndynamic-pool %s\ndata-dir %s\n", taygaIPv4, nat64Prefix, taygaPool, dir)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return err
	}
	if err := inNS(s.router, "", "tayga", "-c", conf, "--mktun"); err != nil {
		return err
	}
	if err := ipAll(
		[]string{"-n", s.router, "link", "set", "nat64", "up"},
		[]string{"-n", s.router, "route", "add", taygaPool, "dev", "nat64"},
		[]string{"-n", s.router, "route", "add", nat64Prefix.String(), "dev", "nat64"},
	); err != nil {
		return err
	}
	if err := l.daemon(s.router, "tayga", "-c", conf, "--nodetach"); err != nil {
		return err
	}
	// The tun's carrier is up once tayga holds the device.
	if !e2etest.Poll(5*time.Second, 20*time.Millisecond, func() bool {
		out, _ := exec.Command("ip", "-n", s.router, "link", "show", "nat64").Output()
		return bytes.Contains(out, []byte("LOWER_UP"))
	}) {
		return fmt.Errorf("tayga in %s did not take the nat64 device within 5 s", s.router)
	}
	return nil
}

// unboundConf is the DNS64 resolver's configuration: no DNSSEC validator
// (there is no root to validate against), and ipv4only.arpa from a local
// zone that the iterator treats as upstream, so that the dns64 module in
// front of it synthesizes the AAAA records (local-data would be answered
// before dns64 ever saw the query).
const unboundConf = `server:
	interface: %[1]s
	port: 53
	do-ip4: no
	do-daemonize: no
	username: ""
	chroot: ""
	directory: "%[2]s"
	pidfile: ""
	use-syslog: no
	logfile: ""
	num-threads: 1
	access-control: ::/0 allow
	module-config: "dns64 iterator"
	dns64-prefix: %[3]s
auth-zone:
	name: "ipv4only.arpa."
	zonefile: "%[2]s/ipv4only.arpa.zone"
	for-downstream: no
	for-upstream: yes
	fallback-enabled: no
remote-control:
	control-enable: no
`

// ipv4onlyZone is ipv4only.arpa as RFC 7050 defines it.
const ipv4onlyZone = `$ORIGIN ipv4only.arpa.
$TTL 3600
@ IN SOA localhost. nobody.invalid. 1 3600 600 86400 3600
@ IN NS localhost.
@ IN A 192.0.0.170
@ IN A 192.0.0.171
`

// startUnbound runs the DNS64 resolver on s's router LAN address and waits
// until it answers.
func (l *lab) startUnbound(s *site) error {
	dir := l.t.TempDir()
	conf := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(unboundConf, s.gw6, dir, nat64Prefix)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ipv4only.arpa.zone"), []byte(ipv4onlyZone), 0o644); err != nil {
		return err
	}
	if err := l.daemon(s.router, "unbound", "-d", "-c", conf); err != nil {
		return err
	}
	var err error
	if !e2etest.Poll(5*time.Second, 50*time.Millisecond, func() bool {
		_, err = lookup64(s.router, s.gw6)
		return err == nil
	}) {
		return fmt.Errorf("unbound in %s does not answer within 5 s: %v", s.router, err)
	}
	return nil
}

// lookup64 asks the DNS server at dns for ipv4only.arpa's AAAA records
// with Go's resolver (the node's), from inside namespace ns.
func lookup64(ns string, dns netip.Addr) ([]netip.Addr, error) {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialIn(ns)(ctx, network, netip.AddrPortFrom(dns, 53).String())
	}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip6", "ipv4only.arpa")
	slices.SortFunc(addrs, netip.Addr.Compare)
	return addrs, err
}

// wellKnown64 is what DNS64 must answer for ipv4only.arpa: its two A
// records under the prefix.
var wellKnown64 = []netip.Addr{
	synth64(netip.MustParseAddr("192.0.0.170")), // 2001:db8:64::c000:aa
	synth64(netip.MustParseAddr("192.0.0.171")), // 2001:db8:64::c000:ab
}

// checkNAT64 proves the NAT64 and DNS64 of phone's site without walkie:
// the host has no IPv4 route; getent (glibc, through the resolv.conf that
// ip netns exec mounts) and Go's resolver get the synthesized addresses
// of ipv4only.arpa; a datagram to peer's NAT64 address reaches the
// IPv4-only peer from the router's public address, and its answer comes
// back from that NAT64 address. It uses port nodePort+7, so that a node
// on nodePort is not disturbed.
func checkNAT64(t *testing.T, phone, peer *site) {
	t.Helper()
	if err := inNamespace(phone.host, func() error {
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(peer.listen()))
		if err == nil {
			c.Close()
		}
		return err
	}); err == nil {
		t.Fatalf("%s has an IPv4 route to %s; a NAT64 host must be IPv6-only", phone.name, peer.listen())
	}
	out, err := exec.Command("ip", "netns", "exec", phone.host, "getent", "ahostsv6", "ipv4only.arpa").Output()
	var got []netip.Addr
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			if a, err := netip.ParseAddr(f[0]); err == nil && !slices.Contains(got, a) {
				got = append(got, a)
			}
		}
	}
	slices.SortFunc(got, netip.Addr.Compare)
	if err != nil || !slices.Equal(got, wellKnown64) {
		t.Fatalf("DNS64: getent ahostsv6 ipv4only.arpa in %s gives %v (%v), want %v", phone.name, got, err, wellKnown64)
	}
	if got, err := lookup64(phone.host, phone.gw6); err != nil || !slices.Equal(got, wellKnown64) {
		t.Fatalf("DNS64: Go's resolver in %s gets %v (%v) for ipv4only.arpa, want %v", phone.name, got, err, wellKnown64)
	}

	port := uint16(nodePort + 7)
	target := netip.AddrPortFrom(synth64(peer.public), port)
	ph := listenIn(t, phone.host, "udp6", netip.AddrPortFrom(netip.IPv6Unspecified(), port))
	obs := listenIn(t, peer.host, "udp4", netip.AddrPortFrom(peer.public, port))
	defer ph.Close()
	defer obs.Close()
	var from netip.AddrPort
	var ok bool
	// A few tries: the first datagram may wait for neighbour discovery.
	for try := 0; try < 5 && !ok; try++ {
		ph.WriteToUDPAddrPort([]byte("ping"), target)
		from, ok = recvFrom(obs, 500*time.Millisecond)
	}
	if !ok {
		t.Fatalf("NAT64: a datagram from %s to %s did not reach the IPv4-only %s", phone.name, target, peer.name)
	}
	if from != netip.AddrPortFrom(phone.public, port) {
		t.Errorf("NAT64: %s saw the datagram from %s, want the router's %s with the port kept", peer.name, from, netip.AddrPortFrom(phone.public, port))
	}
	obs.WriteToUDPAddrPort([]byte("pong"), from)
	back, ok := recvFrom(ph, time.Second)
	if !ok || back != target {
		t.Fatalf("NAT64: the IPv4 answer came back to %s: %v from %s, want from %s", phone.name, ok, back, target)
	}
	t.Logf("NAT64 and DNS64 work: %s resolves ipv4only.arpa to %v and reaches %s at %s, seen from %s",
		phone.name, wellKnown64, peer.name, target, from)
}

// TestNAT64Lab checks the NAT64 infrastructure by itself (no walkie): an
// IPv6-only host behind tayga and unbound reaches an IPv4-only public host,
// so that TestNAT64Phone's failures point at the node.
func TestNAT64Lab(t *testing.T) {
	t.Parallel()
	l := newLab(t, "pub:public ph:nat64", options{carrier: true})
	checkNAT64(t, l.byName["ph"], l.byName["pub"])
}

// TestNAT64Phone: an IPv6-only phone behind the carrier's NAT64, given the
// IPv4 literal of an IPv4-only public bootstrap, with -nat64 auto (the
// prefix found by RFC 7050) and with -nat64 2001:db8:64::/96. Within 10 s
// of its start it has the bootstrap and an IPv4-only host behind a cone NAT
// as authenticated peers (at their IPv4 or NAT64 addresses), they have it
// at its router's public IPv4 address and port 1873, and its /status says
// nat64 = 2001:db8:64::/96.
func TestNAT64Phone(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"auto", nat64Prefix.String()} {
		t.Run(strings.ReplaceAll(mode, "/", "_"), func(t *testing.T) {
			t.Parallel()
			l := newLab(t, "boot:public c4:cone ph:nat64", options{carrier: true})
			checkNAT64(t, l.byName["ph"], l.byName["boot"])
			boot := l.start("boot", "")
			c4 := l.start("c4", "", l.bootAddr("boot"))
			ph := l.launchWith("ph", "", runner{args: []string{"-nat64", mode}}, l.bootAddr("boot"))
			ph.waitReady(t)
			all := []*node{boot, c4, ph}
			w := newWatch(ph.started, all...)
			problems := func(w *watch) []string {
				out := append(w.missing([]*node{ph, boot}), w.missing([]*node{ph, c4})...)
				if s := w.last[ph]; s != nil && s.NAT64 != nat64Prefix.String() {
					out = append(out, fmt.Sprintf("ph: nat64=%q, want %q", s.NAT64, nat64Prefix))
				}
				return out
			}
			ok, at := w.until(10*time.Second, func(w *watch) bool { return len(problems(w)) == 0 })
			t.Logf("who reaches whom, time from the phone's start:\n%s", w.pairTable(all))
			if s := w.last[ph]; s != nil {
				t.Logf("ph /status: lan=%s wan=%s nat=%s lan6=%s wan6=%s nat6=%s nat64=%q", s.LAN, s.WAN, s.NAT, s.LAN6, s.WAN6, s.NAT6, s.NAT64)
			}
			if !ok {
				t.Fatalf("-nat64 %s: the IPv6-only phone is not with its IPv4-only peers within 10 s:\n%s", mode, strings.Join(problems(w), "\n"))
			}
			t.Logf("-nat64 %s: the IPv6-only phone reaches its IPv4-only peers through NAT64 after %.2fs", mode, at.Seconds())
		})
	}
}
