//go:build unix

package main

import (
	"net"
	"net/netip"
	"syscall"
)

// joinGroup joins the IPv4 multicast group on conn, on the interface the
// kernel picks for it (as net.ListenMulticastUDP with a nil interface does).
// It works on IPv4 sockets and on dual-stack IPv6 ones.
func joinGroup(conn *net.UDPConn, group netip.Addr) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	mreq := &syscall.IPMreq{Multiaddr: group.As4()}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptIPMreq(int(fd), syscall.IPPROTO_IP, syscall.IP_ADD_MEMBERSHIP, mreq)
	}); err != nil {
		return err
	}
	return serr
}
