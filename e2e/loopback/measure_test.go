//go:build measure

package loopback

import (
	"slices"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/e2e/internal/e2etest"
)

// TestMedianFirstPeer measures the time to the first verified peer of a
// fresh node against a running bootstrap, over 20 starts, and prints the
// median and the 90th percentile. It is a measurement, not a test: it is
// built only with -tags measure (make measure).
func TestMedianFirstPeer(t *testing.T) {
	const starts = 20
	boot := startNode(t, "bootstrap", nodeArgs(t.TempDir(), "127.0.0.1")...)
	var (
		ms    []int64         // first_peer_ms from /status
		exact []time.Duration // the same, from the node's "first peer" log line
	)
	for i := range starts {
		n := startNode(t, "node", nodeArgs(t.TempDir(), "127.0.0.2", "-bootstrap", boot.lan)...)
		var first *int64
		if !poll(10*time.Second, func() bool {
			s, err := n.status()
			if err == nil {
				first = s.FirstPeerMS
			}
			return first != nil
		}) {
			t.Fatalf("start %d: no first peer within 10 s", i+1)
		}
		ms = append(ms, *first)
		after, err := time.ParseDuration(e2etest.LogField(n.waitLine(`msg="first peer"`, time.Second), "after"))
		if err != nil {
			t.Fatalf("start %d: first peer line: %v", i+1, err)
		}
		exact = append(exact, after)
		if code := n.stop(5 * time.Second); code != 0 {
			t.Fatalf("start %d: exit code %d", i+1, code)
		}
	}
	slices.Sort(ms)
	slices.Sort(exact)
	p90 := (starts*9+9)/10 - 1 // nearest rank
	t.Logf("first_peer_ms over %d starts: %v", starts, ms)
	t.Logf("first_peer_ms: median %.1f, p90 %d, max %d", float64(ms[starts/2-1]+ms[starts/2])/2, ms[p90], ms[starts-1])
	t.Logf("from the logs: median %v, p90 %v, max %v", (exact[starts/2-1]+exact[starts/2])/2, exact[p90], exact[starts-1])
}
