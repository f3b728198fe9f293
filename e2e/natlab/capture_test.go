//go:build natlab

package natlab

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Counting a node's datagrams from outside it: nftables counters in its
// host namespace count every UDP datagram that leaves or arrives (the
// node's, its probe sockets', its communities'; loopback, where /status is
// served, excluded), and a packet socket times them, for the radio
// wake-ups that a count cannot show.

// countRules counts UDP in the host namespace, both ways.
const countRules = `table inet wkcount {
	counter sent { }
	counter received { }
	chain out {
		type filter hook output priority 0; policy accept;
		oifname != "lo" meta l4proto udp counter name "sent"
	}
	chain in {
		type filter hook input priority 0; policy accept;
		iifname != "lo" meta l4proto udp counter name "received"
	}
}
`

// udpCount is what the counters said.
type udpCount struct {
	sent, recv           uint64 // datagrams
	sentBytes, recvBytes uint64 // their IP lengths
}

// minus returns c - o, counter by counter.
func (c udpCount) minus(o udpCount) udpCount {
	return udpCount{c.sent - o.sent, c.recv - o.recv, c.sentBytes - o.sentBytes, c.recvBytes - o.recvBytes}
}

// countUDP installs the counters in namespace ns.
func countUDP(ns string) error { return inNS(ns, countRules, "nft", "-f", "-") }

// readCount reads the counters of namespace ns.
func readCount(ns string) (udpCount, error) {
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "-j", "list", "counters", "table", "inet", "wkcount").Output()
	if err != nil {
		return udpCount{}, fmt.Errorf("reading the counters of %s: %v", ns, err)
	}
	var doc struct {
		Nftables []struct {
			Counter *struct {
				Name    string `json:"name"`
				Packets uint64 `json:"packets"`
				Bytes   uint64 `json:"bytes"`
			} `json:"counter"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return udpCount{}, fmt.Errorf("the counters of %s: %v", ns, err)
	}
	var c udpCount
	found := 0
	for _, e := range doc.Nftables {
		switch {
		case e.Counter == nil:
		case e.Counter.Name == "sent":
			c.sent, c.sentBytes = e.Counter.Packets, e.Counter.Bytes
			found++
		case e.Counter.Name == "received":
			c.recv, c.recvBytes = e.Counter.Packets, e.Counter.Bytes
			found++
		}
	}
	if found != 2 {
		return c, fmt.Errorf("the counters of %s: found %d of 2 in %s", ns, found, out)
	}
	return c, nil
}

// packetAt is one UDP datagram seen by a capture: when, and which way.
type packetAt struct {
	at  time.Time
	out bool
}

// capture times the UDP datagrams on a namespace's interfaces (loopback
// excluded), from an AF_PACKET socket opened inside it.
type capture struct {
	fd      int
	mu      sync.Mutex
	seen    []packetAt
	stopped atomic.Bool
	done    chan struct{}
}

// Linux constants the syscall package lacks (linux/if_packet.h,
// linux/if_arp.h).
const (
	packetOutgoing = 4   // PACKET_OUTGOING: a datagram we sent
	arphrdLoopback = 772 // ARPHRD_LOOPBACK
)

// startCapture starts timing ns's UDP datagrams until the test ends.
func startCapture(t *testing.T, ns string) *capture {
	t.Helper()
	c := &capture{done: make(chan struct{})}
	proto := int(uint16(syscall.ETH_P_ALL)<<8 | uint16(syscall.ETH_P_ALL)>>8) // network byte order
	err := inNamespace(ns, func() error {
		var err error
		c.fd, err = syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, proto)
		return err
	})
	if err != nil {
		t.Fatalf("packet socket in %s: %v", ns, err)
	}
	// A receive timeout lets the reader notice close.
	tv := syscall.NsecToTimeval(int64(100 * time.Millisecond))
	syscall.SetsockoptTimeval(c.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	syscall.SetsockoptInt(c.fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1<<20)
	go c.read()
	t.Cleanup(c.close)
	return c
}

// read records every UDP datagram until close.
func (c *capture) read() {
	defer close(c.done)
	buf := make([]byte, 64) // the IP header is all we look at
	for !c.stopped.Load() {
		n, from, err := syscall.Recvfrom(c.fd, buf, 0)
		ll, ok := from.(*syscall.SockaddrLinklayer)
		if err != nil || !ok || ll.Hatype == arphrdLoopback || !isUDP(buf[:n]) {
			continue
		}
		c.mu.Lock()
		c.seen = append(c.seen, packetAt{at: time.Now(), out: ll.Pkttype == packetOutgoing})
		c.mu.Unlock()
	}
}

// isUDP reports whether an IP packet (no link header) carries UDP.
func isUDP(b []byte) bool {
	switch {
	case len(b) >= 10 && b[0]>>4 == 4:
		return b[9] == syscall.IPPROTO_UDP
	case len(b) >= 7 && b[0]>>4 == 6:
		return b[6] == syscall.IPPROTO_UDP
	}
	return false
}

// close stops the capture.
func (c *capture) close() {
	if c.stopped.Swap(true) {
		return
	}
	<-c.done
	syscall.Close(c.fd)
}

// window counts the datagrams sent and received in [from, to), and the
// wake-ups among them: datagrams (either way) after at least quiet without
// any. A phone's radio drops to idle some seconds after the last packet
// (LTE's inactivity timer is typically 5 to 10 s); each wake-up costs the
// ramp up and that tail again. longest is the longest time without a
// datagram in the window: below the radio's timer, it never sleeps.
func (c *capture) window(from, to time.Time, quiet time.Duration) (sent, recv, wakeups int, longest time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var prev time.Time
	last := from
	for _, p := range c.seen {
		if !p.at.Before(from) && p.at.Before(to) {
			if p.out {
				sent++
			} else {
				recv++
			}
			if prev.IsZero() || p.at.Sub(prev) >= quiet {
				wakeups++
			}
			longest = max(longest, p.at.Sub(last))
			last = p.at
		}
		prev = p.at
	}
	return sent, recv, wakeups, max(longest, to.Sub(last))
}
