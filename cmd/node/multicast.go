package main

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/walkie-p2p/walkie/core"
)

// joinLAN makes the node hear LAN discovery beacons sent to group, for a node
// whose socket is conn. It returns the transport to pass as
// core.Config.Beacon, or nil if conn itself now hears the group.
//
// The usual way is a second socket, net.ListenMulticastUDP, which binds
// 0.0.0.0:PORT with SO_REUSEADDR so that several nodes on one host can
// listen. That bind fails when the node's own socket holds 0.0.0.0:PORT
// without SO_REUSEADDR, which is the default configuration (-listen
// 0.0.0.0:1873, group port 1873). In that case conn joins the group itself:
// a socket bound to every address on the group's port receives the group's
// datagrams once it has joined.
func joinLAN(conn *net.UDPConn, group netip.AddrPort) (core.Transport, error) {
	bound := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	if bound.Port() == group.Port() && bound.Addr().Unmap().IsUnspecified() {
		if err := joinGroup(conn, group.Addr()); err != nil {
			return nil, fmt.Errorf("joining %s on the node's socket: %w", group.Addr(), err)
		}
		return nil, nil
	}
	mc, err := net.ListenMulticastUDP("udp4", nil, net.UDPAddrFromAddrPort(group))
	if err != nil {
		return nil, err
	}
	return core.NewUDPTransport(mc), nil
}
