package core

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestUDPTransport(t *testing.T) {
	a, err := ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ListenUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WriteTo([]byte("hello"), b.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, from, err := b.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "hello" || from != a.LocalAddr() {
		t.Fatalf("got %q from %v (err %v), want hello from %v", buf[:n], from, err, a.LocalAddr())
	}
	if err := a.WriteTo([]byte("x"), netip.AddrPort{}); err == nil {
		t.Fatal("write to the zero address succeeded")
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := b.ReadFrom(buf)
		done <- err
	}()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("ReadFrom after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadFrom")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
