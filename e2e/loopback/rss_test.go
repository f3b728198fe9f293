//go:build measure

package loopback

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/proto"
)

// TestRSSWith256Peers measures the resident memory of a real bin/walkie
// process whose table is full: 256 verified peers (in-process overlays in
// this test, each on its own UDP socket on 127.0.1.x and 127.0.2.x).
func TestRSSWith256Peers(t *testing.T) {
	n := startNode(t, "node", nodeArgs(t.TempDir(), "127.0.0.1")...)
	boot := []netip.AddrPort{netip.MustParseAddrPort(n.lan)}
	base := rss(t, n.cmd.Process.Pid)
	for i := range 256 {
		tr, err := core.ListenUDP(fmt.Sprintf("127.0.%d.%d:0", 1+i/250, 1+i%250))
		if err != nil {
			t.Fatal(err)
		}
		cfg := core.DefaultLocalConfig()
		cfg.PeerID = proto.ID(uuid.New())
		cfg.Transport = tr
		cfg.Bootstrap = boot
		cfg.TargetPeers = 1 // keep the helpers quiet once they know the node
		o, err := core.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		o.Start()
		t.Cleanup(func() { o.Close() })
	}
	if !poll(30*time.Second, func() bool {
		s, err := n.status()
		return err == nil && len(s.verified()) == 256
	}) {
		t.Fatal("the node did not reach 256 verified peers")
	}
	time.Sleep(5 * time.Second) // a few walks and keep-alives: steady state, not a synchronisation
	full := rss(t, n.cmd.Process.Pid)
	t.Logf("bin/walkie resident memory: %d KiB alone, %d KiB with 256 peers (%.1f KiB per peer)",
		base, full, float64(full-base)/256)
}

// rss reads VmRSS of pid in KiB.
func rss(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
