package memnet

import (
	"fmt"
	"net"
	"net/netip"
)

// A Conn is a datagram socket bound to an address of a [Host]. Its methods
// are safe for concurrent use; it satisfies walkie's transport interface.
type Conn struct {
	host  *Host
	addr  netip.AddrPort
	queue chan datagram // bounded receive queue; never closed
	done  chan struct{} // closed by Close

	closed bool // guarded by host.net.mu
}

// datagram is a received datagram.
type datagram struct {
	data []byte
	from netip.AddrPort
}

// LocalAddr returns the address the conn is bound to, in its host's realm:
// a private address for a host behind a NAT.
func (c *Conn) LocalAddr() netip.AddrPort { return c.addr }

// ReadFrom blocks until a datagram arrives, copies it into b (truncated to
// len(b), as with UDP) and returns the copied length and the datagram's
// source, as translated by NATs on the way. After Close it returns
// [net.ErrClosed], even if datagrams remain queued.
func (c *Conn) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	select {
	case <-c.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	default:
	}
	select {
	case d := <-c.queue:
		return copy(b, d.data), d.from, nil
	case <-c.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

// WriteTo sends a copy of b to the address to. It never blocks: the
// datagram is delivered later, or dropped (see [Stats]); an unreachable
// destination is not an error, as with UDP. It returns [net.ErrClosed] after
// Close, and an error wrapping [ErrInvalidAddr] if to has an invalid or
// unspecified IP or a zero port. IPv4-mapped IPv6 addresses are unmapped.
func (c *Conn) WriteTo(b []byte, to netip.AddrPort) error {
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	n := c.host.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	if !to.IsValid() || to.Port() == 0 || to.Addr().IsUnspecified() || to.Addr().IsMulticast() {
		return fmt.Errorf("memnet: write to %v: %w", to, ErrInvalidAddr)
	}
	n.send(c, b, to)
	return nil
}

// Close unbinds the conn and unblocks ReadFrom. Datagrams arriving later
// count as NoRoute. Close is idempotent and returns nil.
func (c *Conn) Close() error {
	n := c.host.net
	n.mu.Lock()
	defer n.mu.Unlock()
	c.closeLocked()
	return nil
}

// closeLocked closes c. n.mu must be held.
func (c *Conn) closeLocked() {
	if c.closed {
		return
	}
	c.closed = true
	if conns := c.host.realm.conns; conns[c.addr] == c {
		delete(conns, c.addr)
	}
	close(c.done)
}
