//go:build race

package fleet_test

// raceOn: the race detector is on. Its runtime has failed an internal check
// (ThreadSanitizer "CHECK failed: tsan_rtl.cpp:346") with a thousand keyed
// nodes in one process on two busy cores, so the biggest tests run smaller
// under it; make test runs them again at full size without it.
const raceOn = true
