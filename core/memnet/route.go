package memnet

import (
	"net/netip"
	"time"
)

// packet is a datagram travelling through the network.
type packet struct {
	at   time.Time // arrival time
	seq  uint64    // send order, breaks ties between equal arrival times
	from netip.AddrPort
	to   netip.AddrPort
	lan  *realm // non-nil: deliver to a conn of this private realm, untranslated
	data []byte
}

// send routes a datagram written by c to the address to. The outbound half
// of the path (LAN or NAT translation, loss, delay) is decided now; the
// inbound half (destination conn, NAT filtering) when the datagram arrives.
// n.mu must be held.
func (n *Network) send(c *Conn, b []byte, to netip.AddrPort) {
	n.stats.Sent++
	lost := n.cfg.Loss > 0 && n.rng.Float64() < n.cfg.Loss
	delay := n.cfg.Latency
	if n.cfg.Jitter > 0 {
		delay += time.Duration(n.rng.Int64N(int64(n.cfg.Jitter)))
	}
	now := time.Now()
	p := packet{from: c.addr, to: to}
	if nat, v4 := n.nat64For(c, to); nat != nil {
		from, ok := nat.outbound(c.addr, v4, now)
		if !ok {
			n.stats.NATDrops++
			return
		}
		p.from, p.to = from, v4
	} else if r := c.host.realm; r.nat != nil {
		switch nat := r.nat; {
		case r.hosts[to.Addr()] != nil: // same LAN
			p.lan = r
			delay /= 10
		case to.Addr() == nat.cfg.PublicIP && !nat.cfg.Hairpin:
			n.stats.NATDrops++
			return
		default:
			from, ok := nat.outbound(c.addr, to, now)
			if !ok {
				n.stats.NATDrops++
				return
			}
			p.from = from
			if to.Addr() == nat.cfg.PublicIP { // hairpin: never leaves the NAT
				delay /= 10
			}
		}
	}
	if lost {
		n.stats.Lost++
		return
	}
	p.data = append([]byte(nil), b...)
	if delay <= 0 {
		n.deliver(&p, now)
		return
	}
	p.at = now.Add(delay)
	n.sched.push(n, p)
}

// nat64For returns the NAT64 that a datagram from c (a public host) to to
// goes through, and its IPv4 destination; nil if none. n.mu must be held.
func (n *Network) nat64For(c *Conn, to netip.AddrPort) (*NAT, netip.AddrPort) {
	if c.host.realm.nat != nil {
		return nil, netip.AddrPort{}
	}
	for _, nat := range n.nat64s {
		if v4, ok := extract64(nat.cfg.NAT64, to.Addr()); ok {
			return nat, netip.AddrPortFrom(v4, to.Port())
		}
	}
	return nil, netip.AddrPort{}
}

// deliver puts an arriving datagram in its destination conn's queue, after
// NAT filtering. It never blocks. n.mu must be held.
func (n *Network) deliver(p *packet, now time.Time) {
	var c *Conn
	switch {
	case p.lan != nil:
		c = p.lan.conns[p.to]
	case n.inet.hosts[p.to.Addr()] != nil:
		c = n.inet.conns[p.to]
	default:
		nat := n.nats[p.to.Addr()]
		if nat == nil {
			break
		}
		internal, ok := nat.inbound(p.from, p.to.Port(), now)
		if !ok {
			n.stats.NATDrops++
			return
		}
		c = nat.realm.conns[internal]
		if nat.cfg.NAT64.IsValid() { // back to the IPv6 host, from the embedded source
			c = n.inet.conns[internal]
			p.from = netip.AddrPortFrom(embed64(nat.cfg.NAT64, p.from.Addr()), p.from.Port())
		}
	}
	if c == nil {
		n.stats.NoRoute++
		return
	}
	if c.queue.push(datagram{data: p.data, from: p.from}) {
		n.stats.Delivered++
	} else {
		n.stats.QueueDrops++
	}
}
