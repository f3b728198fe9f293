package memnet

import (
	"fmt"
	"net"
	"net/netip"
)

// Ephemeral port range used by Listen(0) (RFC 6335 dynamic ports).
const (
	ephemeralFirst = 49152
	ephemeralLast  = 65535
)

// A Host is a machine with one IP address in a realm: public (from
// [Network.Host]) or private behind a NAT (from [NAT.Host]).
type Host struct {
	net   *Network
	realm *realm
	ip    netip.Addr
}

// IP returns the host's address in its realm (private for a host behind a
// NAT).
func (h *Host) IP() netip.Addr { return h.ip }

// Listen binds a datagram socket to port on the host. Port 0 picks a free
// port in the ephemeral range 49152-65535. It fails with an error wrapping
// [ErrAddrInUse] if the port is bound, and [net.ErrClosed] if the network is
// closed.
func (h *Host) Listen(port uint16) (*Conn, error) {
	n := h.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("memnet: listen on %v: %w", h.ip, net.ErrClosed)
	}
	if port == 0 {
		p, ok := h.freePort()
		if !ok {
			return nil, fmt.Errorf("memnet: listen on %v: no free ephemeral port: %w", h.ip, ErrAddrInUse)
		}
		port = p
	}
	addr := netip.AddrPortFrom(h.ip, port)
	if _, ok := h.realm.conns[addr]; ok {
		return nil, fmt.Errorf("memnet: listen on %v: %w", addr, ErrAddrInUse)
	}
	c := &Conn{
		host:  h,
		addr:  addr,
		queue: newQueue(n.cfg.QueueLen),
		done:  make(chan struct{}),
	}
	h.realm.bind(c)
	return c, nil
}

// freePort picks a random unbound ephemeral port. n.mu must be held.
func (h *Host) freePort() (uint16, bool) {
	const size = ephemeralLast - ephemeralFirst + 1
	free := func(p int) bool {
		_, used := h.realm.conns[netip.AddrPortFrom(h.ip, uint16(p))]
		return !used
	}
	start := h.net.rng.IntN(size)
	for i := range 32 {
		if p := ephemeralFirst + (start+i*7919)%size; free(p) {
			return uint16(p), true
		}
	}
	for i := range size {
		if p := ephemeralFirst + (start+i)%size; free(p) {
			return uint16(p), true
		}
	}
	return 0, false
}
