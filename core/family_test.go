package core_test

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// dualStack is one socket with an IPv4 and an IPv6 address, as a node on
// "[::]:1873" has: it sends from the address of the destination's family
// and reads from both.
type dualStack struct {
	v4, v6 *memnet.Conn
	in     chan dgram
	once   sync.Once
	done   chan struct{}
}

type dgram struct {
	b    []byte
	from netip.AddrPort
}

func newDualStack(v4, v6 *memnet.Conn) *dualStack {
	d := &dualStack{v4: v4, v6: v6, in: make(chan dgram, 64), done: make(chan struct{})}
	for _, c := range []*memnet.Conn{v4, v6} {
		go func() {
			buf := make([]byte, 2048)
			for {
				n, from, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				select {
				case d.in <- dgram{append([]byte(nil), buf[:n]...), from}:
				case <-d.done:
					return
				}
			}
		}()
	}
	return d
}

func (d *dualStack) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	select {
	case g := <-d.in:
		return copy(b, g.b), g.from, nil
	case <-d.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (d *dualStack) WriteTo(b []byte, to netip.AddrPort) error {
	if to.Addr().Unmap().Is4() {
		return d.v4.WriteTo(b, to)
	}
	return d.v6.WriteTo(b, to)
}

func (d *dualStack) LocalAddr() netip.AddrPort { return d.v4.LocalAddr() }

func (d *dualStack) Close() error {
	d.once.Do(func() { close(d.done) })
	d.v4.Close()
	return d.v6.Close()
}

// A dual-stack public node votes on each family apart: IPv4 observers give
// it its IPv4 WAN address, IPv6 observers its IPv6 one, both "public".
// With one vote for both, the IPv6 observers (three here, against two)
// outvoted the IPv4 ones and the IPv4 WAN was an IPv6 address.
func TestDualStackVotesPerFamily(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond, Seed: 41})
		defer n.Close()
		v4, err := n.Host(ip("198.51.100.1")).Listen(1873)
		if err != nil {
			t.Fatal(err)
		}
		v6, err := n.Host(ip("2001:db8::1")).Listen(1873)
		if err != nil {
			t.Fatal(err)
		}
		sock := newDualStack(v4, v6)
		d := keyed(t, n.Host(ip("192.0.2.250")), nil, func(c *core.Config) {
			c.Transport.Close()
			c.Transport, c.LAN, c.LAN6 = sock, v4.LocalAddr(), v6.LocalAddr()
		})
		for _, a := range []string{"198.51.100.2", "198.51.100.3"} {
			keyed(t, n.Host(ip(a)), []netip.AddrPort{v4.LocalAddr()})
		}
		for _, a := range []string{"2001:db8:1::2", "2001:db8:2::2", "2001:db8:3::2"} {
			keyed(t, n.Host(ip(a)), []netip.AddrPort{v6.LocalAddr()})
		}
		waitUntil(t, 30*time.Second, "both families voted", func() bool {
			st := d.Status()
			return st.NAT != "unknown" && st.NAT6 != "unknown" && st.NAT6 != ""
		})
		time.Sleep(time.Minute)
		st := d.Status()
		t.Logf("lan %s wan %s nat %s; lan6 %s wan6 %s nat6 %s", st.LAN, st.WAN, st.NAT, st.LAN6, st.WAN6, st.NAT6)
		if st.WAN != "198.51.100.1:1873" || st.NAT != "public" {
			t.Errorf("IPv4: wan %q nat %q, want 198.51.100.1:1873 public", st.WAN, st.NAT)
		}
		if st.WAN6 != "[2001:db8::1]:1873" || st.NAT6 != "public" || st.LAN6 != "[2001:db8::1]:1873" {
			t.Errorf("IPv6: lan6 %q wan6 %q nat6 %q, want [2001:db8::1]:1873 public", st.LAN6, st.WAN6, st.NAT6)
		}
	})
}

// An IPv6-only node shows its IPv6 state in both lan/wan/nat and
// lan6/wan6/nat6, and a public one says "public".
func TestIPv6OnlyPublic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 10 * time.Millisecond, Seed: 43})
		defer n.Close()
		a := keyed(t, n.Host(ip("2001:db8::1")), nil)
		keyed(t, n.Host(ip("2001:db8:1::2")), []netip.AddrPort{a.LAN()})
		keyed(t, n.Host(ip("2001:db8:2::2")), []netip.AddrPort{a.LAN()})
		waitUntil(t, 30*time.Second, "a public IPv6 node says so", func() bool { return a.Status().NAT == "public" })
		st := a.Status()
		if st.WAN != "[2001:db8::1]:1873" || st.WAN6 != st.WAN || st.NAT6 != "public" || st.LAN6 != st.LAN {
			t.Errorf("IPv6-only: lan %q wan %q nat %q; lan6 %q wan6 %q nat6 %q", st.LAN, st.WAN, st.NAT, st.LAN6, st.WAN6, st.NAT6)
		}
	})
}
