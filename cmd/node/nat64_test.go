package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseNAT64(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    nat64Flag
		wantErr string
	}{
		{"auto", nat64Flag{}, ""},
		{"off", nat64Flag{off: true}, ""},
		{"64:ff9b::/96", nat64Flag{prefix: netip.MustParsePrefix("64:ff9b::/96")}, ""},
		{"2001:db8:64::/64", nat64Flag{prefix: netip.MustParsePrefix("2001:db8:64::/64")}, ""},
		{"yes", nat64Flag{}, `-nat64 "yes": want auto, off, or the NAT64's IPv6 prefix`},
		{"64:ff9b::/95", nat64Flag{}, "/32, /40, /48, /56, /64 or /96"},
		{"10.0.0.0/8", nat64Flag{}, "an IPv6 prefix"},
	} {
		got, err := parseNAT64(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("parseNAT64(%q) = %v, want an error with %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseNAT64(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

// findNAT64 sets no prefix on a network with IPv4, the configured one or
// the discovered one on an IPv6-only network, and none when the DNS does
// not reveal one (after a few tries).
func TestFindNAT64(t *testing.T) {
	v4 := [2]netip.AddrPort{netip.MustParseAddrPort("192.168.1.2:1873"), netip.MustParseAddrPort("[2001:db8::2]:1873")}
	v6 := [2]netip.AddrPort{netip.MustParseAddrPort("[2001:db8::2]:1873"), {}}
	synth := []netip.Addr{netip.MustParseAddr("2001:db8:64::c000:aa"), netip.MustParseAddr("2001:db8:64::c000:ab")}
	pre := netip.MustParsePrefix("2001:db8:64::/96")
	fixed := netip.MustParsePrefix("64:ff9b::/96")
	for _, c := range []struct {
		name    string
		flag    nat64Flag
		net     [2]netip.AddrPort
		answer  []netip.Addr
		err     error
		want    netip.Prefix
		lookups int
	}{
		{"dual-stack", nat64Flag{}, v4, synth, nil, netip.Prefix{}, 0},
		{"ipv6-only, DNS64", nat64Flag{}, v6, synth, nil, pre, 1},
		{"ipv6-only, no DNS64", nat64Flag{}, v6, []netip.Addr{netip.MustParseAddr("2001:db8::99")}, nil, netip.Prefix{}, 1},
		{"ipv6-only, DNS fails", nat64Flag{}, v6, nil, errors.New("timeout"), netip.Prefix{}, nat64Tries},
		{"ipv6-only, fixed", nat64Flag{prefix: fixed}, v6, synth, nil, fixed, 0},
		{"ipv6-only, off", nat64Flag{off: true}, v6, synth, nil, netip.Prefix{}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				nets := make(chan [2]netip.AddrPort, 1)
				nets <- c.net
				lookups := 0
				lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
					if host != ipv4onlyArpa {
						t.Errorf("looked up %q", host)
					}
					lookups++
					return c.answer, c.err
				}
				var got []netip.Prefix
				done := make(chan struct{})
				go func() {
					defer close(done)
					findNAT64(ctx, c.flag, nets, lookup, func(p netip.Prefix) error { got = append(got, p); return nil }, slog.New(slog.NewTextHandler(io.Discard, nil)))
				}()
				time.Sleep(time.Minute) // past every retry
				cancel()
				<-done
				if len(got) != 1 || got[0] != c.want || lookups != c.lookups {
					t.Errorf("set %v after %d lookups, want [%v] after %d", got, lookups, c.want, c.lookups)
				}
			})
		})
	}
}
