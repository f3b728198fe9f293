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
	queue queue         // receive queue
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
	for {
		select {
		case <-c.done:
			return 0, netip.AddrPort{}, net.ErrClosed
		default:
		}
		if d, ok := c.queue.pop(); ok {
			return copy(b, d.data), d.from, nil
		}
		// A token may be stale (another reader took the datagram): then
		// the queue is empty again and the loop comes back here.
		select {
		case <-c.queue.ready:
		case <-c.done:
			return 0, netip.AddrPort{}, net.ErrClosed
		}
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
	c.host.realm.unbind(c)
	close(c.done)
	c.queue.clear() // ReadFrom no longer returns them
}
