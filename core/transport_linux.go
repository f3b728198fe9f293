//go:build linux

package core

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgLen is how many datagrams one sendmmsg or recvmmsg moves at most;
// longer batches take several calls.
const mmsgLen = 64

// mmsg is a UDPTransport's sendmmsg and recvmmsg state. It calls x/sys/unix
// directly rather than x/net's ipv4/ipv6 PacketConn, whose batches build a
// net.UDPAddr per datagram: here the headers, iovecs and sockaddrs are
// allocated once and reused, so a batch allocates nothing.
type mmsg struct {
	rc     syscall.RawConn // nil: no batching; the loops over WriteTo and ReadFrom stand in
	family int             // the socket's: AF_INET, or AF_INET6 (which may be dual-stack)
	wmu    sync.Mutex      // a Transport has one writer, but UDPTransport is exported
	w      mmsgCall
	rmu    sync.Mutex
	r      mmsgCall
	zones  map[uint32]string // interface names by index, for link-local sources; under rmu
}

// mmsgCall is the storage of one direction's calls. run, the callback for
// RawConn.Read or Write, is made once: a closure made per call would be
// allocated every time.
type mmsgCall struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // large enough for an IPv4 sockaddr too
	n     int                     // headers in use
	done  int                     // headers sent, or datagrams received
	errno syscall.Errno
	run   func(fd uintptr) bool
}

// init finds the socket's family. Anything unexpected leaves batching off.
func (m *mmsg) init(c *net.UDPConn) {
	if c == nil {
		return
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	family := -1
	if err := rc.Control(func(fd uintptr) {
		if f, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN); err == nil {
			family = f
		}
	}); err != nil || (family != unix.AF_INET && family != unix.AF_INET6) {
		return
	}
	m.rc, m.family = rc, family
}

// prepare allocates a call's storage on first use, so that a transport
// that never batches (or only writes) pays nothing for it.
func (c *mmsgCall) prepare(run func(*mmsgCall, uintptr) bool) {
	if c.hdrs != nil {
		return
	}
	c.hdrs = make([]unix.Mmsghdr, mmsgLen)
	c.iovs = make([]unix.Iovec, mmsgLen)
	c.names = make([]unix.RawSockaddrInet6, mmsgLen)
	for i := range c.hdrs {
		h := &c.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&c.names[i]))
		h.Iov = &c.iovs[i]
		h.SetIovlen(1)
	}
	c.run = func(fd uintptr) bool { return run(c, fd) }
}

// writeBatch implements WriteBatch with sendmmsg.
func (t *UDPTransport) writeBatch(ms []Datagram) (int, error) {
	m := &t.mm
	if m.rc == nil {
		return t.writeEach(ms)
	}
	m.wmu.Lock()
	defer m.wmu.Unlock()
	w := &m.w
	w.prepare((*mmsgCall).send)
	sent := 0
	for sent < len(ms) {
		k := 0
		for k < mmsgLen && sent+k < len(ms) && m.fill(k, &ms[sent+k]) {
			k++
		}
		if k == 0 {
			// An address sendmmsg cannot take as is (a zone, the wrong
			// family, none at all): WriteTo sends it or says why not.
			if err := t.WriteTo(ms[sent].B, ms[sent].Addr); err != nil {
				return sent, err
			}
			sent++
			continue
		}
		w.n, w.done, w.errno = k, 0, 0
		err := m.rc.Write(w.run)
		sent += w.done
		if err != nil {
			return sent, err
		}
		if w.errno != 0 {
			return sent, os.NewSyscallError("sendmmsg", w.errno)
		}
	}
	return sent, nil
}

// fill sets write header k to d, or reports that d needs WriteTo.
func (m *mmsg) fill(k int, d *Datagram) bool {
	a := d.Addr.Addr()
	if !d.Addr.IsValid() || a.Zone() != "" {
		return false
	}
	w := &m.w
	sa := &w.names[k]
	switch {
	case m.family == unix.AF_INET && (a.Is4() || a.Is4In6()):
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
		setPort(&sa4.Port, d.Addr.Port())
		w.hdrs[k].Hdr.Namelen = unix.SizeofSockaddrInet4
	case m.family == unix.AF_INET6:
		*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()}
		setPort(&sa.Port, d.Addr.Port())
		w.hdrs[k].Hdr.Namelen = unix.SizeofSockaddrInet6
	default:
		return false
	}
	w.iovs[k].Base = unsafe.SliceData(d.B)
	w.iovs[k].SetLen(len(d.B))
	return true
}

// send is the RawConn callback of writeBatch: it sends headers done..n,
// again after a partial send (the kernel reports the error of the first
// datagram it did not send on the next call), and waits for the socket on
// EAGAIN, as WriteTo does.
func (c *mmsgCall) send(fd uintptr) bool {
	for c.done < c.n {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&c.hdrs[c.done])), uintptr(c.n-c.done), 0, 0, 0)
		switch e {
		case 0:
			c.done += int(r)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			c.errno = e
			return true
		}
	}
	return true
}

// readBatch implements ReadBatch with recvmmsg.
func (t *UDPTransport) readBatch(ms []Datagram) (int, error) {
	m := &t.mm
	if m.rc == nil || len(ms) == 0 {
		return t.readOne(ms)
	}
	m.rmu.Lock()
	defer m.rmu.Unlock()
	r := &m.r
	r.prepare((*mmsgCall).recv)
	k := min(len(ms), mmsgLen)
	for i := range k {
		r.iovs[i].Base = unsafe.SliceData(ms[i].B)
		r.iovs[i].SetLen(len(ms[i].B))
		r.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
	}
	r.n, r.done, r.errno = k, 0, 0
	if err := m.rc.Read(r.run); err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, os.NewSyscallError("recvmmsg", r.errno)
	}
	for i := range r.done {
		ms[i].N = int(r.hdrs[i].Len) // the copied length: a longer datagram was truncated
		ms[i].Addr = m.source(&r.names[i])
	}
	return r.done, nil
}

// recv is the RawConn callback of readBatch: one recvmmsg that takes what
// is waiting (the socket does not block), or waits for the socket.
func (c *mmsgCall) recv(fd uintptr) bool {
	for {
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&c.hdrs[0])), uintptr(c.n), 0, 0, 0)
		switch e {
		case 0:
			c.done = int(r)
			return true
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			c.errno = e
			return true
		}
	}
}

// source decodes a received sockaddr as ReadFrom does: IPv4-mapped
// addresses unmapped, a link-local address with its interface as zone.
func (m *mmsg) source(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), getPort(&sa4.Port))
	case unix.AF_INET6:
		a := netip.AddrFrom16(sa.Addr)
		if a.Is4In6() {
			return netip.AddrPortFrom(a.Unmap(), getPort(&sa.Port))
		}
		if sa.Scope_id != 0 {
			a = a.WithZone(m.zone(sa.Scope_id))
		}
		return netip.AddrPortFrom(a, getPort(&sa.Port))
	}
	return netip.AddrPort{}
}

// zone names an interface by index, as the net package does: its name, or
// the number if it has none. Cached, since net.InterfaceByIndex allocates.
func (m *mmsg) zone(i uint32) string {
	if z, ok := m.zones[i]; ok {
		return z
	}
	z := strconv.FormatUint(uint64(i), 10)
	if ifi, err := net.InterfaceByIndex(int(i)); err == nil {
		z = ifi.Name
	}
	if m.zones == nil || len(m.zones) >= 64 {
		m.zones = map[uint32]string{} // bounded: interfaces come and go
	}
	m.zones[i] = z
	return z
}

// setPort and getPort access a sockaddr's port, which is in network byte
// order.
func setPort(p *uint16, port uint16) {
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(p))[:], port)
}

func getPort(p *uint16) uint16 {
	return binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(p))[:])
}
