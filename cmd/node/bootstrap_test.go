package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeDNS answers lookups from a table; a name fails until its number of
// failures is used up.
type fakeDNS struct {
	mu       sync.Mutex
	answers  map[string][]netip.Addr
	failures map[string]int // failures before the answer; -1: fail forever
	calls    map[string]int
}

// lookup is the fakeDNS lookupFunc.
func (d *fakeDNS) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls[host]++
	if n := d.failures[host]; n != 0 {
		if n > 0 {
			d.failures[host]--
		}
		return nil, fmt.Errorf("lookup %s: no such host", host)
	}
	return d.answers[host], nil
}

// safeBuffer is a bytes.Buffer for concurrent writers.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// setRecorder records the calls of SetBootstrap and their fake times.
type setRecorder struct {
	mu    sync.Mutex
	start time.Time
	sets  [][]netip.AddrPort
	at    []time.Duration
}

// set is the SetBootstrap stand-in.
func (r *setRecorder) set(addrs []netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sets = append(r.sets, addrs)
	r.at = append(r.at, time.Since(r.start))
}

// aps parses addresses.
func aps(ss ...string) []netip.AddrPort {
	out := make([]netip.AddrPort, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddrPort(s)
	}
	return out
}

// mustBootstrap parses a -bootstrap value that must be valid.
func mustBootstrap(t *testing.T, s string) []bootstrapEntry {
	t.Helper()
	e, err := parseBootstrap(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestResolverRetries checks the retries with backoff, the one warn line per
// failure, and that SetBootstrap gets the whole set each time it grows.
func TestResolverRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := &fakeDNS{
			answers: map[string][]netip.Addr{
				"a.test": {netip.MustParseAddr("::ffff:10.0.0.1")}, // mapped: must be unmapped
				"b.test": {netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("10.0.0.2")},
			},
			failures: map[string]int{"a.test": 2},
			calls:    map[string]int{},
		}
		var logs safeBuffer
		rec := &setRecorder{start: time.Now()}
		r := newResolver(mustBootstrap(t, "192.0.2.9:1873,a.test:1873,b.test:7"), netip.MustParseAddrPort("0.0.0.0:1873"),
			rec.set, slog.New(slog.NewTextHandler(&logs, nil)))
		r.lookup = dns.lookup
		r.run(context.Background()) // returns once every name resolved

		// The whole set, in entry order, each time it grows: b.test at
		// once; a.test after failures at 0 and 1 s and retries 1 s and 2 s
		// later.
		wantSets := [][]netip.AddrPort{aps("192.0.2.9:1873", "10.0.0.2:7"), aps("192.0.2.9:1873", "10.0.0.1:1873", "10.0.0.2:7")}
		wantAt := []time.Duration{0, 3 * time.Second}
		if !slices.EqualFunc(rec.sets, wantSets, slices.Equal) || !slices.Equal(rec.at, wantAt) {
			t.Errorf("sets %v at %v, want %v at %v", rec.sets, rec.at, wantSets, wantAt)
		}
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		var warns []string
		for _, l := range lines {
			if strings.Contains(l, "level=WARN") {
				warns = append(warns, l)
			}
		}
		if len(warns) != 2 || !strings.Contains(warns[0], `msg="bootstrap a.test:1873 not resolved, retrying in 1s" err="lookup a.test: no such host"`) ||
			!strings.Contains(warns[1], "retrying in 2s") {
			t.Errorf("warn lines:\n%s", strings.Join(warns, "\n"))
		}
		if dns.calls["a.test"] != 3 || dns.calls["b.test"] != 1 {
			t.Errorf("lookups %v, want a.test 3 and b.test 1", dns.calls)
		}
	})
}

// TestResolverBackoffCap checks that the retry interval doubles up to 30 s
// and that cancelling the context stops the resolver.
func TestResolverBackoffCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := &fakeDNS{failures: map[string]int{"never.test": -1}, calls: map[string]int{}}
		var logs safeBuffer
		r := newResolver(mustBootstrap(t, "never.test:1873"), netip.MustParseAddrPort("0.0.0.0:1873"),
			func([]netip.AddrPort) { t.Error("SetBootstrap called with nothing resolved") },
			slog.New(slog.NewTextHandler(&logs, nil)))
		r.lookup = dns.lookup
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.run(ctx); close(done) }()
		// In the bubble, Sleep advances the fake clock exactly: lookups at
		// 0, 1, 3, 7, 15, 31, 61 and 91 s fall within 2 minutes.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		cancel()
		<-done
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			_, after, _ := strings.Cut(l, "retrying in ")
			d, _, _ := strings.Cut(after, `"`)
			got = append(got, d)
		}
		want := []string{"1s", "2s", "4s", "8s", "16s", "30s", "30s", "30s"}
		if !slices.Equal(got, want) {
			t.Errorf("retry intervals %v, want %v", got, want)
		}
	})
}

// TestResolverTimeoutAndFamilies checks the 5 s lookup timeout and the
// choice of addresses: IPv4 preferred, the socket's IP version only, at most
// maxAddrsPerName.
func TestResolverTimeoutAndFamilies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := func(ctx context.Context, host string) ([]netip.Addr, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		r := newResolver(mustBootstrap(t, "slow.test:1"), netip.MustParseAddrPort("0.0.0.0:0"), nil, slog.New(slog.DiscardHandler))
		r.lookup = hang
		start := time.Now()
		_, err := r.resolve(context.Background(), r.entries[0])
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != lookupTimeout {
			t.Errorf("err %v after %v, want a deadline after %v", err, time.Since(start), lookupTimeout)
		}
	})
	many := []netip.Addr{netip.MustParseAddr("2001:db8::1")}
	for i := range 6 {
		many = append(many, netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}))
	}
	tests := []struct {
		listen string
		ips    []netip.Addr
		want   []netip.AddrPort // nil: an error
	}{
		{"0.0.0.0:0", many, aps("10.0.0.1:9", "10.0.0.2:9", "10.0.0.3:9", "10.0.0.4:9")},
		{"0.0.0.0:0", many[:1], aps("[2001:db8::1]:9")},
		{"127.0.0.1:0", many[:1], nil},
		{"[::1]:0", many[:3], aps("[2001:db8::1]:9")},
		{"[::]:0", []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.1")}, aps("10.0.0.1:9")},
		{"0.0.0.0:0", nil, nil},
	}
	for _, tt := range tests {
		r := newResolver(mustBootstrap(t, "x.test:9"), netip.MustParseAddrPort(tt.listen), nil, slog.New(slog.DiscardHandler))
		r.lookup = func(context.Context, string) ([]netip.Addr, error) { return tt.ips, nil }
		got, err := r.resolve(context.Background(), r.entries[0])
		if (err != nil) != (tt.want == nil) || !slices.Equal(got, tt.want) {
			t.Errorf("listen %s, ips %v: got %v, %v; want %v", tt.listen, tt.ips, got, err, tt.want)
		}
	}
}

// TestLiterals checks that IP literals are collected without duplicates and
// that names are left to the resolver.
func TestLiterals(t *testing.T) {
	e := mustBootstrap(t, " 10.0.0.1:1873 ,n.test:1,10.0.0.1:1873,[::ffff:10.0.0.2]:5")
	if got, want := literals(e), aps("10.0.0.1:1873", "10.0.0.2:5"); !slices.Equal(got, want) {
		t.Errorf("literals = %v, want %v", got, want)
	}
	r := &resolver{entries: e}
	if !r.hasNames() || !slices.Equal(r.pending(nil), []int{1}) {
		t.Errorf("hasNames %v, pending %v", r.hasNames(), r.pending(nil))
	}
	if e, _ := parseBootstrap(" "); e != nil {
		t.Errorf("parseBootstrap(blank) = %v", e)
	}
}
