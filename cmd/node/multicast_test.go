//go:build unix

package main

import (
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// testGroup is the LAN discovery group on port, so that tests do not need
// the real port 1873.
func testGroup(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("239.255.18.73"), port)
}

// sendTo sends one datagram to group from a fresh socket, with multicast
// TTL 0: delivered to this host's members only, never put on the wire, so
// tests send nothing to the network.
func sendTo(t *testing.T, group netip.AddrPort, msg string) {
	t.Helper()
	s, err := net.ListenUDP("udp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_MULTICAST_TTL, 0)
	}); err != nil || serr != nil {
		t.Fatalf("setting multicast TTL 0: %v %v", err, serr)
	}
	if _, err := s.WriteToUDPAddrPort([]byte(msg), group); err != nil {
		t.Fatalf("sending to %v: %v (is there a multicast route?)", group, err)
	}
}

// TestJoinLANOwnSocket checks the default layout: the node's socket is on
// every address and the group's port, so it joins the group itself.
func TestJoinLANOwnSocket(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	group := testGroup(uint16(conn.LocalAddr().(*net.UDPAddr).Port))
	beacon, err := joinLAN(conn, group)
	if err != nil || beacon != nil {
		t.Fatalf("joinLAN = %v, %v; want nil, nil", beacon, err)
	}
	sendTo(t, group, "beacon")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 64)
	n, _, err := conn.ReadFromUDP(b)
	if err != nil || string(b[:n]) != "beacon" {
		t.Fatalf("read %q, %v; want the beacon", b[:n], err)
	}
}

// TestJoinLANSecondSocket checks the other layout: the node's socket is on
// another port, so a multicast listener is opened for the group.
func TestJoinLANSecondSocket(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	group := testGroup(freeUDPPort(t))
	beacon, err := joinLAN(conn, group)
	if err != nil || beacon == nil {
		t.Fatalf("joinLAN = %v, %v; want a transport", beacon, err)
	}
	defer beacon.Close()
	if beacon.LocalAddr().Port() != group.Port() {
		t.Errorf("listener on %v, want port %d", beacon.LocalAddr(), group.Port())
	}
	sendTo(t, group, "beacon")
	timer := time.AfterFunc(5*time.Second, func() { beacon.Close() }) // unblocks ReadFrom
	defer timer.Stop()
	b := make([]byte, 64)
	n, _, err := beacon.ReadFrom(b)
	if err != nil || string(b[:n]) != "beacon" {
		t.Fatalf("read %q, %v; want the beacon", b[:n], err)
	}
}

// TestJoinLANConflict checks that a node bound to one address on the group's
// port cannot open the listener, and says so (run logs it and carries on).
func TestJoinLANConflict(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	beacon, err := joinLAN(conn, testGroup(uint16(conn.LocalAddr().(*net.UDPAddr).Port)))
	if err == nil {
		beacon.Close()
		t.Fatal("joinLAN succeeded on a port held without SO_REUSEADDR")
	}
}

// freeUDPPort returns a UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}
