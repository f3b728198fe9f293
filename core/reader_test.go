package core

import (
	"net/netip"
	"testing"
	"time"
)

// The per-source bucket: a burst, then the rate, per source IP, with time
// that may stand still or step back (one clock per batch) and never grow
// the bucket past its burst.
func TestSourceLimiter(t *testing.T) {
	l := newSourceLimiter(10, 5)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	t0 := time.Unix(1000, 0)
	l.now = t0
	allowed := func(ip netip.Addr, n int) (k int) {
		for range n {
			if l.allow(ip) {
				k++
			}
		}
		return k
	}
	if k := allowed(a, 20); k != 5 {
		t.Fatalf("burst: %d of 20 allowed, want 5", k)
	}
	if k := allowed(b, 20); k != 5 {
		t.Fatalf("another source shares the bucket: %d of 20, want 5", k)
	}
	l.now = t0.Add(time.Second) // 10 tokens' worth, capped at the burst
	if k := allowed(a, 20); k != 5 {
		t.Fatalf("after 1 s: %d allowed, want the burst of 5", k)
	}
	l.now = t0.Add(time.Second + 300*time.Millisecond)
	if k := allowed(a, 20); k != 3 {
		t.Fatalf("after 0.3 s more: %d allowed, want 3", k)
	}
	l.now = t0 // the clock steps back: no tokens, no panic
	if k := allowed(a, 5); k != 0 {
		t.Fatalf("back in time: %d allowed, want 0", k)
	}
	if k := allowed(netip.MustParseAddr("192.0.2.3"), 1); k != 1 {
		t.Fatal("a new source gets no burst")
	}
}
