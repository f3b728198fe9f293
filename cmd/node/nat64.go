package main

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/core"
)

// nat64Flag is -nat64: "auto" (discover the prefix on every IPv6-only
// network, RFC 7050), "off", or a fixed prefix.
type nat64Flag struct {
	off    bool
	prefix netip.Prefix // fixed; zero with auto and off
}

// parseNAT64 parses -nat64.
func parseNAT64(s string) (nat64Flag, error) {
	switch s {
	case "auto":
		return nat64Flag{}, nil
	case "off":
		return nat64Flag{off: true}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return nat64Flag{}, badFlag("nat64", s, "want auto, off, or the NAT64's IPv6 prefix, for example 64:ff9b::/96")
	}
	if err := core.ValidNAT64(p); err != nil {
		return nat64Flag{}, badFlag("nat64", s, "%v", err)
	}
	return nat64Flag{prefix: p}, nil
}

// ipv4onlyArpa is the name whose only addresses are 192.0.0.170 and
// 192.0.0.171: a DNS64 resolver synthesizes IPv6 addresses for it inside
// its NAT64 prefix, which reveals the prefix (RFC 7050).
const ipv4onlyArpa = "ipv4only.arpa"

// Discovery asks a few times, since the first query on a new network may
// go out before the network is quite up.
const (
	nat64Tries   = 3
	nat64Timeout = 3 * time.Second
	nat64Retry   = 2 * time.Second
)

// lookupAAAA returns the IPv6 addresses of a name.
type lookupAAAA func(ctx context.Context, host string) ([]netip.Addr, error)

// findNAT64 tells the node (set) the NAT64 prefix of every network it is
// on: none while it has IPv4, else -nat64's prefix, or the one the DNS64
// reveals (auto). nets carries the node's LAN addresses (lan, lan6) at the
// start and after every move; only the latest counts. It ends with ctx.
func findNAT64(ctx context.Context, f nat64Flag, nets <-chan [2]netip.AddrPort, lookup lookupAAAA, set func(netip.Prefix) error, log *slog.Logger) {
	for {
		var lans [2]netip.AddrPort
		select {
		case <-ctx.Done():
			return
		case lans = <-nets:
		}
		var p netip.Prefix
		if ipv6Only := lans[0].Addr().Is6() && !lans[1].IsValid(); ipv6Only && !f.off {
			p = f.prefix
			if !p.IsValid() {
				p = discoverNAT64(ctx, lookup, log)
			}
		}
		if err := set(p); err != nil {
			log.Warn("NAT64 prefix refused", "prefix", p, "err", err) // parseNAT64 and FindNAT64 check it: not expected
		}
	}
}

// discoverNAT64 asks the DNS for ipv4only.arpa's IPv6 addresses and
// returns the NAT64 prefix they reveal, or none.
func discoverNAT64(ctx context.Context, lookup lookupAAAA, log *slog.Logger) netip.Prefix {
	var err error
	for i := range nat64Tries {
		if i > 0 {
			select {
			case <-ctx.Done():
				return netip.Prefix{}
			case <-time.After(nat64Retry):
			}
		}
		lctx, cancel := context.WithTimeout(ctx, nat64Timeout)
		var addrs []netip.Addr
		addrs, err = lookup(lctx, ipv4onlyArpa)
		cancel()
		if err != nil {
			continue
		}
		if p, ok := core.FindNAT64(addrs); ok {
			log.Info("NAT64 prefix found: IPv4 peers are reached through it", "prefix", p)
			return p
		}
		break // an answer, but not a synthesized one: no DNS64
	}
	log.Info("IPv6-only network without a NAT64 that DNS reveals: IPv4 peers are out of reach (give -nat64 PREFIX if there is one)", "lookup_err", err)
	return netip.Prefix{}
}
