package core_test

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// ceilingSize is the datagram size of the ceiling benchmark: about an
// introduction request's.
const ceilingSize = 128

// ceilingBatch is how many datagrams one sendmmsg or recvmmsg moves.
const ceilingBatch = 64

// BenchmarkUDPCeiling is what a Go program can move over loopback on this
// machine, with no protocol work at all: one sender goroutine floods a
// socket, one receiver goroutine reads b.N datagrams from it, and dgram/s is
// what the receiver got per second. "single" makes one syscall per datagram
// on each side (WriteToUDPAddrPort, ReadFromUDPAddrPort); "batch" makes one
// per 64 (x/net/ipv4 WriteBatch and ReadBatch: sendmmsg and recvmmsg). The
// sender is faster than the receiver, so the kernel drops the excess; what
// counts is what arrives. BenchmarkUDPIntroRequests is measured against the
// batch figure.
func BenchmarkUDPCeiling(b *testing.B) {
	b.Run("single", func(b *testing.B) { ceiling(b, false) })
	b.Run("batch", func(b *testing.B) { ceiling(b, true) })
}

func ceiling(b *testing.B, batch bool) {
	rc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	sc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	rc.SetReadBuffer(4 << 20)
	sc.SetWriteBuffer(4 << 20)
	to := rc.LocalAddr().(*net.UDPAddr)
	toAP := to.AddrPort()

	var stop atomic.Bool
	sent := make(chan struct{})
	go func() { // the sender floods until the receiver has enough
		defer close(sent)
		payload := make([]byte, ceilingSize)
		if !batch {
			for !stop.Load() {
				sc.WriteToUDPAddrPort(payload, toAP)
			}
			return
		}
		pc := ipv4.NewPacketConn(sc)
		ms := make([]ipv4.Message, ceilingBatch)
		for i := range ms {
			ms[i].Buffers = [][]byte{payload}
			ms[i].Addr = to
		}
		for !stop.Load() {
			pc.WriteBatch(ms, 0)
		}
	}()
	defer func() { stop.Store(true); <-sent }()

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	got := 0
	if !batch {
		buf := make([]byte, 2048)
		for got < b.N {
			if _, _, err := rc.ReadFromUDPAddrPort(buf); err != nil {
				b.Fatal(err)
			}
			got++
		}
	} else {
		pc := ipv4.NewPacketConn(rc)
		ms := make([]ipv4.Message, ceilingBatch)
		for i := range ms {
			ms[i].Buffers = [][]byte{make([]byte, 2048)}
		}
		for got < b.N {
			n, err := pc.ReadBatch(ms, 0)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(got)/el.Seconds(), "dgram/s")
}
