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
// BenchmarkUDPCeiling/batch, BenchmarkUDPEcho/inline (a server that does no
// work: the bound for this load generator) and BenchmarkUDPIntroRequests in
// turn, WALKIE_RATIO_PAIRS times (default 10), and prints every round and
// the medians. Alternating matters on a shared machine, whose speed drifts by
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
	var ratios, echoes []float64
	fmt.Printf("| round | ceiling, batched (dgram/s) | echo (resp/s) | node (resp/s) | node loss | echo/ceiling | node/ceiling |\n|---|---|---|---|---|---|---|\n")
	for i := range pairs {
		c := testing.Benchmark(func(b *testing.B) { ceiling(b, true) })
		e := testing.Benchmark(func(b *testing.B) { echo(b, false) })
		n := testing.Benchmark(BenchmarkUDPIntroRequests)
		dg, es, rs := c.Extra["dgram/s"], e.Extra["resp/s"], n.Extra["resp/s"]
		if dg == 0 || es == 0 || rs == 0 {
			t.Fatalf("round %d: a benchmark failed (ceiling %v, echo %v, node %v)", i+1, c, e, n)
		}
		ratios, echoes = append(ratios, rs/dg), append(echoes, es/dg)
		fmt.Printf("| %d | %.0f | %.0f | %.0f | %.3f%% | %.1f%% | %.1f%% |\n", i+1, dg, es, rs, n.Extra["loss%"], 100*es/dg, 100*rs/dg)
	}
	lo, med, hi := spread(ratios)
	fmt.Printf("node: median %.1f%%, lowest %.1f%%, highest %.1f%% of the batched ceiling (goal: 60%%)\n", 100*med, 100*lo, 100*hi)
	lo, med, hi = spread(echoes)
	fmt.Printf("echo: median %.1f%%, lowest %.1f%%, highest %.1f%%\n", 100*med, 100*lo, 100*hi)
}

// spread returns the lowest, median and highest of xs, which it sorts.
func spread(xs []float64) (lo, med, hi float64) {
	slices.Sort(xs)
	med = xs[len(xs)/2]
	if len(xs)%2 == 0 {
		med = (xs[len(xs)/2-1] + med) / 2
	}
	return xs[0], med, xs[len(xs)-1]
}
