package main

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// serveDNS answers A queries for name with ip from a UDP socket on
// loopback, and returns its address and how many queries it saw.
func serveDNS(t *testing.T, name string, ip netip.Addr) (netip.AddrPort, <-chan string) {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	seen := make(chan string, 16)
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			select {
			case seen <- q.Name.String():
			default:
			}
			resp := dnsmessage.Message{Header: dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true}, Questions: []dnsmessage.Question{q}}
			if q.Type == dnsmessage.TypeA && q.Name.String() == name {
				resp.Answers = []dnsmessage.Resource{{
					Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
					Body:   &dnsmessage.AResource{A: ip.As4()},
				}}
			}
			out, err := resp.Pack()
			if err == nil {
				pc.WriteToUDPAddrPort(out, from)
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort(), seen
}

// -dns sends bootstrap lookups to the named server, not the system's.
func TestDNSFlagServer(t *testing.T) {
	want := netip.MustParseAddr("198.51.100.7")
	server, seen := serveDNS(t, "boot.walkie.test.", want)
	lookup, via := dnsLookup(server, "/etc/resolv.conf")
	if via != server.String() {
		t.Fatalf("via %q, want %v", via, server)
	}
	got, err := lookup(context.Background(), "boot.walkie.test")
	if err != nil || len(got) != 1 || got[0] != want {
		t.Fatalf("lookup = %v, %v; want [%v]", got, err, want)
	}
	if q := <-seen; q != "boot.walkie.test." {
		t.Fatalf("server saw %q", q)
	}
}

// Without -dns and without resolv.conf (Android), the fallback server is
// used; with resolv.conf, the system resolver.
func TestDNSFallbackWithoutResolvConf(t *testing.T) {
	if _, via := dnsLookup(netip.AddrPort{}, filepath.Join(t.TempDir(), "missing")); via != fallbackDNS {
		t.Fatalf("no resolv.conf: via %q, want %s", via, fallbackDNS)
	}
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := writeFile(conf, "nameserver 192.0.2.53\n"); err != nil {
		t.Fatal(err)
	}
	if _, via := dnsLookup(netip.AddrPort{}, conf); via != "system" {
		t.Fatalf("with resolv.conf: via %q, want system", via)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
