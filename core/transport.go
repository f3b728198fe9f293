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
// ReadFrom is called from one goroutine per transport; WriteTo only from
// the overlay's worker goroutine (communities' datagrams go through it too),
// so a transport never has two writers. WriteTo must not block for long: a
// datagram it cannot send at once may be dropped, as UDP would, and the
// worker's batch waits meanwhile (nothing else does). A transport may also
// implement BatchWriter and BatchReader, which the overlay then uses under
// the same rules.
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

// Datagram is one entry of a batched read or write.
type Datagram struct {
	// B holds the datagram to send (WriteBatch), or is the buffer a received
	// datagram is copied into (ReadBatch; at most len(B) bytes are kept).
	B []byte
	// N is the length of a received datagram in B (ReadBatch only).
	N int
	// Addr is the destination (WriteBatch) or the source (ReadBatch).
	Addr netip.AddrPort
}

// BatchWriter is an optional interface of a Transport that sends many
// datagrams in one call (sendmmsg on Linux). The overlay's worker uses it,
// found by a type assertion, to send the answers to several queued packets
// at once; other transports get one WriteTo per datagram. It is called
// under the same rule as WriteTo: one call at a time.
type BatchWriter interface {
	// WriteBatch sends ms[i].B to ms[i].Addr, in order, and returns how many
	// were sent. If that is fewer than len(ms), err says why ms[n] failed
	// and the datagrams after it were not tried.
	WriteBatch(ms []Datagram) (n int, err error)
}

// BatchReader is an optional interface of a Transport that receives many
// datagrams in one call (recvmmsg on Linux). It is called from one
// goroutine, like ReadFrom.
type BatchReader interface {
	// ReadBatch blocks until at least one datagram arrives, then fills
	// ms[:n] with the datagrams already waiting: N bytes copied into B
	// (truncated to len(B), as UDP does) from Addr, with IPv4-mapped
	// sources unmapped. Errors are those of ReadFrom.
	ReadBatch(ms []Datagram) (n int, err error)
}

// errInvalidDest is the error of a write to the zero address.
var errInvalidDest = errors.New("walkie: invalid destination address")

// UDPTransport is a Transport over a UDP socket. It is also a BatchWriter
// and a BatchReader: on Linux a batch is one sendmmsg or recvmmsg, elsewhere
// a loop over WriteTo or a single ReadFrom.
type UDPTransport struct {
	conn *net.UDPConn
	mm   mmsg // the batch state, per platform
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
	return NewUDPTransport(c), nil
}

// NewUDPTransport wraps an existing socket (for example a multicast listener).
func NewUDPTransport(c *net.UDPConn) *UDPTransport {
	t := &UDPTransport{conn: c}
	t.mm.init(c)
	return t
}

// ReadFrom implements Transport. IPv4-mapped IPv6 sources are unmapped so
// that one peer has one address, whichever socket family saw it. A datagram
// longer than b is truncated to len(b), as UDP does. One syscall per
// datagram: the overlay reads its own socket with ReadBatch (recvmmsg),
// which saved a few percent of CPU once sends were batched too, see
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
		return errInvalidDest
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

// WriteBatch implements BatchWriter: one sendmmsg per 64 datagrams on Linux.
// A datagram whose address sendmmsg cannot take as is (an IPv6 zone, say)
// goes through WriteTo, in its place in the order.
func (t *UDPTransport) WriteBatch(ms []Datagram) (int, error) { return t.writeBatch(ms) }

// ReadBatch implements BatchReader: one recvmmsg on Linux, which returns
// the datagrams already queued (at most 64); elsewhere one ReadFrom.
func (t *UDPTransport) ReadBatch(ms []Datagram) (int, error) { return t.readBatch(ms) }

// writeEach is WriteBatch without sendmmsg.
func (t *UDPTransport) writeEach(ms []Datagram) (int, error) {
	for i := range ms {
		if err := t.WriteTo(ms[i].B, ms[i].Addr); err != nil {
			return i, err
		}
	}
	return len(ms), nil
}

// readOne is ReadBatch without recvmmsg.
func (t *UDPTransport) readOne(ms []Datagram) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	n, from, err := t.ReadFrom(ms[0].B)
	if err != nil {
		return 0, err
	}
	ms[0].N, ms[0].Addr = n, from
	return 1, nil
}
