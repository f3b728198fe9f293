package memnet_test

import (
	"fmt"
	"net/netip"

	"github.com/walkie-p2p/walkie/core/memnet"
)

// A host behind a port-restricted-cone NAT contacts a public server, which
// sees the NAT's public address and can answer. With zero latency, datagrams
// are queued before WriteTo returns, so this runs without testing/synctest.
func Example() {
	n := memnet.New(memnet.Config{})
	defer n.Close()

	server, _ := n.Host(netip.MustParseAddr("203.0.113.1")).Listen(3478)
	nat := n.NAT(memnet.PortRestrictedCone(netip.MustParseAddr("198.51.100.7")))
	client, _ := nat.Host(netip.MustParseAddr("10.0.0.2")).Listen(5000)

	client.WriteTo([]byte("hello"), server.LocalAddr())
	buf := make([]byte, 1500)
	k, from, _ := server.ReadFrom(buf)
	fmt.Printf("server got %q from %v\n", buf[:k], from)

	server.WriteTo([]byte("welcome"), from)
	k, from, _ = client.ReadFrom(buf)
	fmt.Printf("client got %q from %v\n", buf[:k], from)

	// Output:
	// server got "hello" from 198.51.100.7:5000
	// client got "welcome" from 203.0.113.1:3478
}
