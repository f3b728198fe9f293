//go:build !unix && !windows

package main

import (
	"errors"
	"net"
	"net/netip"
)

// joinGroup is not available on this platform.
func joinGroup(*net.UDPConn, netip.Addr) error {
	return errors.New("joining a multicast group on an open socket is not supported on this platform")
}
