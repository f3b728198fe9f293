package core

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestUDPTransportMmsg: on Linux, IPv4 and dual-stack sockets batch with
// sendmmsg and recvmmsg (the batch tests would pass on the fallback loops
// too), each with its family's sockaddrs.
func TestUDPTransportMmsg(t *testing.T) {
	for addr, family := range map[string]int{"127.0.0.1:0": unix.AF_INET, "[::]:0": unix.AF_INET6} {
		tr := listen(t, addr)
		if tr.mm.rc == nil || tr.mm.family != family {
			t.Errorf("%s: batching %v, family %d; want on, %d", addr, tr.mm.rc != nil, tr.mm.family, family)
		}
	}
}
