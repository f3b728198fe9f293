package main

import (
	"context"
	"net"
	"net/netip"
	"os"
	"time"
)

// resolvConf is where Go's pure resolver reads the system's DNS servers.
const resolvConf = "/etc/resolv.conf"

// fallbackDNS is used when there is no -dns and no resolv.conf: Android
// has no /etc/resolv.conf, and a binary built without cgo cannot ask the
// phone's own resolver, so Go's resolver would ask 127.0.0.1:53 and fail.
// The user can always name their own server with -dns.
const fallbackDNS = "8.8.8.8:53"

// dnsLookup returns the function that resolves bootstrap host names: through
// server if it is valid, else the system resolver if resolv.conf exists, else
// fallbackDNS. IP literals never reach it (parseBootstrap keeps them).
func dnsLookup(server netip.AddrPort, confPath string) (lookupFunc, string) {
	r, via := dnsResolver(server, confPath)
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		return r.LookupNetIP(ctx, "ip", host)
	}, via
}

// dnsResolver returns the resolver dnsLookup uses, and where it asks.
func dnsResolver(server netip.AddrPort, confPath string) (*net.Resolver, string) {
	r := net.DefaultResolver
	via := "system"
	if !server.IsValid() {
		if _, err := os.Stat(confPath); err != nil {
			server = netip.MustParseAddrPort(fallbackDNS)
		}
	}
	if server.IsValid() {
		via = server.String()
		r = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				d := net.Dialer{Timeout: 5 * time.Second}
				return d.DialContext(ctx, network, server.String())
			},
		}
	}
	return r, via
}
