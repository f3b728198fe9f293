//go:build sim

package core_test

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// natKind is a node's place in the simulated internet.
type natKind int

const (
	kindPublic    natKind = iota // public address, or a full-cone NAT
	kindCone                     // port-restricted cone NAT: the common home router
	kindSymmetric                // symmetric NAT: carrier-grade and corporate
	numKinds
)

func (k natKind) String() string {
	return [...]string{"public/full-cone", "port-restricted", "symmetric"}[k]
}

// kindOf deals the realistic mix of the performance issue: 30% public or
// full cone, 50% port-restricted cone, 20% symmetric.
func kindOf(i int) natKind {
	switch i % 10 {
	case 0, 1, 2:
		return kindPublic
	case 3, 4, 5, 6, 7:
		return kindCone
	}
	return kindSymmetric
}

// TestSimulation runs networks of the sizes in WALKIE_SIM_SIZES (default
// 1000,10000) for WALKIE_SIM_MINUTES virtual minutes (default 3) and prints
// how they grow: time until 99% of nodes know 8 peers, links by NAT pair,
// packets per node per minute, memory per node. `make sim` runs it.
func TestSimulation(t *testing.T) {
	sizes := []int{1000, 10000}
	if s := os.Getenv("WALKIE_SIM_SIZES"); s != "" {
		sizes = nil
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	minutes := 3
	if s := os.Getenv("WALKIE_SIM_MINUTES"); s != "" {
		minutes, _ = strconv.Atoi(s)
	}
	fmt.Printf("| nodes | 99%% know 8 peers | mean peers | packets/node/min | heap/node | stacks/node | goroutines/node | wall time |\n|---|---|---|---|---|---|---|---|\n")
	for _, n := range sizes {
		start := time.Now() // real time: outside the bubble
		rows := simulate(t, n, time.Duration(minutes)*time.Minute)
		fmt.Printf(rows[0]+"\n", time.Since(start).Round(time.Second))
		for _, r := range rows[1:] {
			fmt.Println(r)
		}
	}
}

// simulate runs one network and returns the report: a table row (with a %v
// for the wall time, which only the caller can measure) and detail lines.
func simulate(t *testing.T, total int, length time.Duration) (rows []string) {
	synctest.Test(t, func(t *testing.T) {
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		goroutines := runtime.NumGoroutine()
		net := memnet.New(memnet.Config{Latency: 30 * time.Millisecond, Jitter: 20 * time.Millisecond, Loss: 0.01, Seed: uint64(total)})
		boot := simNode(t, net.Host(ip("198.51.100.1")), nil)
		nodes := []*core.Overlay{boot}
		kinds := []natKind{kindPublic}
		for i := 1; i < total; i++ {
			pub := netip.AddrFrom4([4]byte{100, byte(64 + i>>16), byte(i >> 8), byte(i)})
			k := kindOf(i)
			var h *memnet.Host
			switch k {
			case kindPublic:
				h = net.NAT(memnet.FullCone(pub)).Host(ip("192.168.1.2"))
			case kindCone:
				h = net.NAT(memnet.PortRestrictedCone(pub)).Host(ip("192.168.1.2"))
			default:
				h = net.NAT(memnet.Symmetric(pub)).Host(ip("192.168.1.2"))
			}
			nodes = append(nodes, simNode(t, h, []netip.AddrPort{boot.LAN()}))
			kinds = append(kinds, k)
		}
		start := time.Now()
		reached := time.Duration(-1)
		for time.Since(start) < length {
			time.Sleep(time.Second)
			if reached < 0 {
				ok := 0
				for _, o := range nodes {
					if len(o.VerifiedPeers()) >= 8 {
						ok++
					}
				}
				if ok*100 >= total*99 {
					reached = time.Since(start)
				}
			}
		}
		sentBefore := net.Stats().Sent
		time.Sleep(time.Minute) // steady state: count one more minute
		perNodeMin := float64(net.Stats().Sent-sentBefore) / float64(total)

		index := map[string]natKind{}
		for i, o := range nodes {
			index[o.ID().String()] = kinds[i]
		}
		var links [numKinds][numKinds]int
		var succ, fail [numKinds]uint64
		sum := 0
		for i, o := range nodes {
			st := o.Status()
			for _, p := range st.Peers {
				if p.Verified {
					links[kinds[i]][index[p.ID]]++
					sum++
				}
			}
			s, f := stats(o).Punctures()
			succ[kinds[i]] += s
			fail[kinds[i]] += f
		}
		var after runtime.MemStats
		runtime.GC() // live heap only: closed probe sockets are garbage, and the
		runtime.GC() // buffer pool keeps what their readers held until a second GC
		runtime.ReadMemStats(&after)
		heap := float64(after.HeapInuse-min(before.HeapInuse, after.HeapInuse)) / float64(total) / 1024
		stacks := float64(after.StackInuse-min(before.StackInuse, after.StackInuse)) / float64(total) / 1024
		perNode := float64(runtime.NumGoroutine()-goroutines) / float64(total)
		r := "not reached"
		if reached >= 0 {
			r = reached.String()
		}
		rows = append(rows, fmt.Sprintf("| %d | %s | %.1f | %.0f | %.0f KiB | %.0f KiB | %.1f | %%v |",
			total, r, float64(sum)/float64(total), perNodeMin, heap, stacks, perNode))
		for a := range numKinds {
			line := fmt.Sprintf("    links from %-16s:", a)
			for b := range numKinds {
				line += fmt.Sprintf(" to %s %d;", b, links[a][b])
			}
			ratio := float64(succ[a]) / max(1, float64(succ[a]+fail[a]))
			rows = append(rows, fmt.Sprintf("%s punctures as requester: %d ok, %d failed (%.0f%%)", line, succ[a], fail[a], 100*ratio))
		}
		var pp core.PortPredictionStatus
		for _, o := range nodes {
			st := o.Status().PortPrediction
			pp.Attempts, pp.Successes, pp.Probes = pp.Attempts+st.Attempts, pp.Successes+st.Successes, pp.Probes+st.Probes
		}
		rows = append(rows, fmt.Sprintf("    port prediction (both sides count): %d attempts, %d got through, %d probes (%.0f per node)",
			pp.Attempts, pp.Successes, pp.Probes, float64(pp.Probes)/float64(total)))
		for _, o := range nodes {
			o.Close()
		}
		net.Close()
	})
	return rows
}

// simNode starts a node that can open probe sockets for port prediction
// (WALKIE_SIM_PREDICTION=off turns it off, for comparison).
func simNode(t *testing.T, h *memnet.Host, boot []netip.AddrPort) *core.Overlay {
	return node(t, h, boot, func(c *core.Config) {
		c.ListenProbe = func() (core.Transport, error) { return h.Listen(0) }
		c.NoPortPrediction = os.Getenv("WALKIE_SIM_PREDICTION") == "off"
	})
}
