//go:build ratio

package core_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
)

// TestUDPRatio measures the performance issue's goal, the node's answers per
// second as a share of the batched ceiling, in one process: it runs
// BenchmarkUDPCeiling/batch and BenchmarkUDPIntroRequests alternately,
// WALKIE_RATIO_PAIRS times (default 10), and prints every pair and the
// median. Alternating matters on a shared machine, whose speed drifts by
// more than the differences measured: a ceiling taken minutes before the
// node is not the same machine. `make ratio` runs it; it is not part of
// `make test` because it takes a minute of both cores.
func TestUDPRatio(t *testing.T) {
	pairs := 10
	if s := os.Getenv("WALKIE_RATIO_PAIRS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("WALKIE_RATIO_PAIRS=%q: want a count", s)
		}
		pairs = n
	}
	var ratios []float64
	fmt.Printf("| pair | ceiling, batched (dgram/s) | node (resp/s) | node loss | ratio |\n|---|---|---|---|---|\n")
	for i := range pairs {
		c := testing.Benchmark(func(b *testing.B) { ceiling(b, true) })
		n := testing.Benchmark(BenchmarkUDPIntroRequests)
		dg, rs := c.Extra["dgram/s"], n.Extra["resp/s"]
		if dg == 0 || rs == 0 {
			t.Fatalf("pair %d: a benchmark failed (ceiling %v, node %v)", i+1, c, n)
		}
		ratios = append(ratios, rs/dg)
		fmt.Printf("| %d | %.0f | %.0f | %.3f%% | %.1f%% |\n", i+1, dg, rs, n.Extra["loss%"], 100*rs/dg)
	}
	slices.Sort(ratios)
	med := ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		med = (ratios[len(ratios)/2-1] + med) / 2
	}
	fmt.Printf("median %.1f%%, lowest %.1f%%, highest %.1f%% of the batched ceiling (goal: 60%%)\n",
		100*med, 100*ratios[0], 100*ratios[len(ratios)-1])
}
