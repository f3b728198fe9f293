// Package flood floods a walking node with random and malformed datagrams
// over real loopback UDP while honest nodes keep walking, and checks that
// the node never panics, stays bounded in memory, keeps serving its honest
// peers and counts every packet it drops by reason.
package flood

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/proto"
)

// socketDrops reads the drop counter of the UDP socket bound to addr from
// /proc/net/udp (Linux; loopback IPv4).
func socketDrops(t *testing.T, addr netip.AddrPort) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		t.Fatal(err)
	}
	a := addr.Addr().As4()
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], addr.Port())
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 13 && f[1] == local {
			n, err := strconv.ParseUint(f[len(f)-1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no socket %s in /proc/net/udp", local)
	return 0
}

// start runs an overlay on ip with its own Stats.
func start(t *testing.T, ip string, boot []netip.AddrPort) (*core.Overlay, *core.Stats) {
	t.Helper()
	tr, err := core.ListenUDP(ip + ":0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.DefaultLocalConfig()
	cfg.PeerID = proto.ID(uuid.New())
	cfg.Transport = tr
	cfg.Bootstrap = boot
	st := core.NewStats()
	cfg.Metrics = st
	o, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o.Start()
	t.Cleanup(func() { o.Close() })
	return o, st
}

// junk returns one hostile datagram of kind k, addressed to dest.
func junk(k int, dest netip.AddrPort, r *rand.Rand, id proto.ID) []byte {
	hdr := proto.Header{Type: proto.TypeIntroRequest, Community: proto.CoreCommunity(), Sender: id, Dest: dest}
	valid := hdr.AppendTo(nil)
	switch k {
	case 0: // random bytes
		b := make([]byte, r.IntN(1400))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	case 1: // a truncated header
		return valid[:r.IntN(len(valid))]
	case 2: // a huge msgpack length prefix: map32, then bin32 claiming 4 GiB
		return append(valid, 0xdf, 0xff, 0xff, 0xff, 0xff, 0x03, 0xc6, 0xff, 0xff, 0xff, 0xff)
	case 3: // an unknown community
		h := hdr
		binary.BigEndian.PutUint64(h.Community[:8], r.Uint64())
		return append(h.AppendTo(nil), 0x80)
	case 4: // a valid header with a garbage body
		b := valid
		for range 1 + r.IntN(200) {
			b = append(b, byte(r.Uint32()))
		}
		return b
	default: // over the datagram limit
		return append(valid, make([]byte, proto.MaxDatagram)...)
	}
}

// TestFlood: five honest nodes walk on 127.0.0.11-15; two flooders on
// 127.0.0.20-21 send hostile datagrams at node 0 as fast as they can for
// WALKIE_FLOOD_SECONDS (default 3; `make measure` runs 30).
func TestFlood(t *testing.T) {
	secs := 3
	if s := os.Getenv("WALKIE_FLOOD_SECONDS"); s != "" {
		secs, _ = strconv.Atoi(s)
	}
	victim, vs := start(t, "127.0.0.11", nil)
	boot := []netip.AddrPort{victim.LAN()}
	var hstats []*core.Stats // the honest nodes' counters
	for i := range 4 {
		_, s := start(t, fmt.Sprintf("127.0.0.%d", 12+i), boot)
		hstats = append(hstats, s)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(victim.VerifiedPeers()) < 4 {
		if time.Now().After(deadline) {
			t.Fatal("the honest nodes did not meet the victim")
		}
		time.Sleep(10 * time.Millisecond) // polling real processes' state
	}
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	answered := func() uint64 {
		var n uint64
		for _, s := range hstats {
			n += s.Count(core.IntroResponsesReceived)
		}
		return n
	}
	before := answered()

	var sent atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for f := range 2 {
		wg.Go(func() {
			tr, err := core.ListenUDP(fmt.Sprintf("127.0.0.%d:0", 20+f))
			if err != nil {
				t.Error(err)
				return
			}
			defer tr.Close()
			r := rand.New(rand.NewPCG(uint64(f), 1))
			id := proto.ID(uuid.New())
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if tr.WriteTo(junk(i%6, victim.LAN(), r, id), victim.LAN()) == nil {
					sent.Add(1)
				}
			}
		})
	}
	time.Sleep(time.Duration(secs) * time.Second) // the flood's length, not a synchronisation
	close(stop)
	wg.Wait()

	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	served := answered() - before
	var dropped uint64
	report := ""
	for _, r := range core.DropReasons() {
		if n := vs.Dropped(r); n > 0 {
			dropped += n
			report += fmt.Sprintf(" %s=%d", r, n)
		}
	}
	t.Logf("flood: %d datagrams in %d s (%.0f/s); victim dropped %d:%s", sent.Load(), secs, float64(sent.Load())/float64(secs), dropped, report)
	t.Logf("during the flood the victim answered %d introduction requests of honest nodes; heap %d -> %d KiB",
		served, m0.HeapInuse/1024, m1.HeapInuse/1024)
	if served < uint64(secs) {
		t.Errorf("honest nodes got %d answers in %d s of flood: not served", served, secs)
	}
	if len(victim.VerifiedPeers()) < 4 {
		t.Errorf("victim lost its honest peers: %d left", len(victim.VerifiedPeers()))
	}
	// Every hostile datagram that reached the node was counted. The kernel
	// drops the rest when the socket buffer is full, and says how many in
	// /proc/net/udp; loopback loses nothing else.
	kernel := socketDrops(t, victim.LAN())
	delivered := sent.Load() - kernel
	t.Logf("kernel dropped %d at the socket; %d delivered, %d counted by the node (%.2f%%)",
		kernel, delivered, dropped, 100*float64(dropped)/float64(delivered))
	// A few drops may be honest packets (a late, unsolicited answer), a few
	// hostile ones may still sit in the queue: 1% either way.
	if diff := int64(delivered) - int64(dropped); diff < -int64(delivered/100) || diff > int64(delivered/100) {
		t.Errorf("%d hostile datagrams delivered, %d counted as dropped: drops are not all counted", delivered, dropped)
	}
	for _, r := range []core.DropReason{core.DropTooLarge, core.DropUnknownCommunity, core.DropRateLimited} {
		if vs.Dropped(r) == 0 {
			t.Errorf("no drops counted as %v", r)
		}
	}
	if grow := int64(m1.HeapInuse) - int64(m0.HeapInuse); grow > 64<<20 {
		t.Errorf("heap grew by %d MiB during the flood", grow>>20)
	}
}
