package core

import (
	"errors"
	"net"
	"net/netip"
)

// Transport is how an Overlay sends and receives datagrams. It is the seam
// between the protocol and the network: UDPTransport in production,
// core/memnet in tests.
//
// ReadFrom is called from one goroutine per transport; WriteTo from the
// worker or a community's Send, one call at a time (under the overlay's
// lock). WriteTo must not block for long: a datagram it cannot send at
// once may be dropped, as UDP would.
type Transport interface {
	// ReadFrom blocks until a datagram arrives, copies it into b and returns
	// its length and source. After Close it returns an error that matches
	// net.ErrClosed.
	ReadFrom(b []byte) (n int, from netip.AddrPort, err error)
	// WriteTo sends one datagram.
	WriteTo(b []byte, to netip.AddrPort) error
	// LocalAddr is the address the transport is bound to.
	LocalAddr() netip.AddrPort
	// Close unblocks ReadFrom. It is safe to call more than once.
	Close() error
}

// UDPTransport is a Transport over a UDP socket.
type UDPTransport struct {
	conn *net.UDPConn
}

// ListenUDP opens a UDP socket on addr ("0.0.0.0:1873", "127.0.0.2:0", ...).
func ListenUDP(addr string) (*UDPTransport, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	return &UDPTransport{conn: c}, nil
}

// NewUDPTransport wraps an existing socket (for example a multicast listener).
func NewUDPTransport(c *net.UDPConn) *UDPTransport { return &UDPTransport{conn: c} }

// ReadFrom implements Transport. IPv4-mapped IPv6 sources are unmapped so
// that one peer has one address, whichever socket family saw it. A datagram
// longer than b is truncated to len(b), as UDP does. One syscall per
// datagram: batched reads (recvmmsg) did not raise the node's throughput, see
// docs/performance.md.
func (t *UDPTransport) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	n, from, err := t.conn.ReadFromUDPAddrPort(b)
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), nil
}

// WriteTo implements Transport.
func (t *UDPTransport) WriteTo(b []byte, to netip.AddrPort) error {
	if !to.IsValid() {
		return errors.New("walkie: invalid destination address")
	}
	_, err := t.conn.WriteToUDPAddrPort(b, to)
	return err
}

// LocalAddr implements Transport.
func (t *UDPTransport) LocalAddr() netip.AddrPort {
	a := t.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// Close implements Transport.
func (t *UDPTransport) Close() error {
	err := t.conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
