package memnet

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

func TestLatencyExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const latency = 50 * time.Millisecond
		n := New(Config{Latency: latency})
		defer n.Close()
		nat := n.NAT(FullCone(ipNAT1))
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		in1 := listen(t, nat.Host(priv1), 5000)
		in2 := listen(t, nat.Host(priv2), 5000)
		buf := make([]byte, 10)
		for _, tc := range []struct {
			name     string
			from, to *Conn
			want     time.Duration
		}{
			{"internet", a, b, latency},
			{"NAT to internet", in1, a, latency},
			{"LAN", in1, in2, latency / 10},
		} {
			start := time.Now()
			send(t, tc.from, "x", tc.to.LocalAddr())
			synctest.Wait()
			if s := n.Stats(); s.InFlight != 1 {
				t.Fatalf("%s: InFlight = %d, want 1 before the latency elapsed", tc.name, s.InFlight)
			}
			if _, _, err := tc.to.ReadFrom(buf); err != nil {
				t.Fatal(err)
			}
			if got := time.Since(start); got != tc.want {
				t.Errorf("%s: arrived after %v, want exactly %v", tc.name, got, tc.want)
			}
		}
	})
}

func TestJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const latency, jitter = 10 * time.Millisecond, 5 * time.Millisecond
		n := New(Config{Latency: latency, Jitter: jitter, Seed: 1})
		defer n.Close()
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		start := time.Now()
		for i := range 100 {
			send(t, a, fmt.Sprint(i), b.LocalAddr())
		}
		delays := map[time.Duration]bool{}
		reordered := false
		buf := make([]byte, 10)
		for i := range 100 {
			k, _, err := b.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			if d < latency || d >= latency+jitter {
				t.Fatalf("datagram arrived after %v, want in [%v, %v)", d, latency, latency+jitter)
			}
			delays[d] = true
			reordered = reordered || string(buf[:k]) != fmt.Sprint(i)
		}
		if len(delays) < 10 || !reordered {
			t.Errorf("%d distinct delays, reordered %v: jitter has no effect", len(delays), reordered)
		}
	})
}

func TestOrderWithoutJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{Latency: 10 * time.Millisecond})
		defer n.Close()
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		for i := range 100 {
			send(t, a, fmt.Sprint(i), b.LocalAddr())
		}
		buf := make([]byte, 10)
		for i := range 100 {
			k, _, err := b.ReadFrom(buf)
			if err != nil || string(buf[:k]) != fmt.Sprint(i) {
				t.Fatalf("datagram %d: got %q, %v", i, buf[:k], err)
			}
		}
	})
}

// lossPattern sends count datagrams with the given loss and seed and
// returns which ones were delivered.
func lossPattern(t *testing.T, loss float64, seed uint64, count int) []bool {
	var got []bool
	synctest.Test(t, func(t *testing.T) {
		n := New(Config{Loss: loss, Seed: seed, QueueLen: count})
		defer n.Close()
		a := listen(t, n.Host(ipA), 4000)
		b := listen(t, n.Host(ipB), 4000)
		for i := range count {
			send(t, a, fmt.Sprint(i), b.LocalAddr())
		}
		s := checkStats(t, n)
		if s.Lost+s.Delivered != uint64(count) {
			t.Fatalf("stats = %+v, want %d lost or delivered", s, count)
		}
		got = make([]bool, count)
		buf := make([]byte, 10)
		for range s.Delivered {
			k, _, err := b.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			var i int
			fmt.Sscan(string(buf[:k]), &i)
			got[i] = true
		}
	})
	return got
}

func TestLoss(t *testing.T) {
	const count = 10000
	p := lossPattern(t, 0.2, 42, count)
	delivered := 0
	for _, ok := range p {
		if ok {
			delivered++
		}
	}
	// Binomial standard deviation is 40 datagrams; allow 7 of them.
	if f := float64(delivered) / count; f < 0.77 || f > 0.83 {
		t.Errorf("delivered fraction %.4f, want 0.8 +- 0.03", f)
	}
	for _, loss := range []float64{0, 1} {
		for i, ok := range lossPattern(t, loss, 42, 100) {
			if ok != (loss == 0) {
				t.Fatalf("loss %v: datagram %d delivered = %v", loss, i, ok)
			}
		}
	}
}

func TestLossDeterministic(t *testing.T) {
	const count = 1000
	p1 := lossPattern(t, 0.5, 7, count)
	p2 := lossPattern(t, 0.5, 7, count)
	p3 := lossPattern(t, 0.5, 8, count)
	same, differ := true, false
	for i := range count {
		same = same && p1[i] == p2[i]
		differ = differ || p1[i] != p3[i]
	}
	if !same {
		t.Error("same seed, same sends: different datagrams lost")
	}
	if !differ {
		t.Error("different seeds: same datagrams lost")
	}
}
