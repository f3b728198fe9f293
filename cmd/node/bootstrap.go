package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Resolution of -bootstrap host names.
const (
	lookupTimeout     = 5 * time.Second  // one DNS lookup
	resolveBackoffMin = 1 * time.Second  // first retry of an unresolved name
	resolveBackoffMax = 30 * time.Second // retries never wait longer
	maxAddrsPerName   = 4                // addresses used from one name
)

// bootstrapEntry is one -bootstrap entry: an IP literal, which never touches
// DNS, or a host name that the resolver looks up.
type bootstrapEntry struct {
	text string         // as given on the command line
	addr netip.AddrPort // valid for an IP literal
	host string         // a host name, for the resolver
	port uint16
}

// parseBootstrap splits -bootstrap into entries. Every entry needs a numeric
// port; the empty string means no bootstrap nodes.
func parseBootstrap(s string) ([]bootstrapEntry, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []bootstrapEntry
	for text := range strings.SplitSeq(s, ",") {
		text = strings.TrimSpace(text)
		if text == "" {
			return nil, badFlag("bootstrap", s, "empty entry in the list")
		}
		e, err := parseEntry("bootstrap", text, text)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// parseEntry parses one host:port of flag, whose value was raw, into an
// entry.
func parseEntry(flag, raw, text string) (bootstrapEntry, error) {
	host, port, err := net.SplitHostPort(text)
	if err != nil {
		return bootstrapEntry{}, badFlag(flag, raw, "want host:port, for example 203.0.113.7:1873")
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return bootstrapEntry{}, badFlag(flag, raw, "port %q is not a number from 1 to 65535", port)
	}
	if host == "" {
		return bootstrapEntry{}, badFlag(flag, raw, "host is missing")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return bootstrapEntry{text: text, addr: netip.AddrPortFrom(ip.Unmap(), uint16(p))}, nil
	}
	return bootstrapEntry{text: text, host: host, port: uint16(p)}, nil
}

// checkFamilies rejects IP literals that a socket bound to listen cannot
// reach: an IPv6 peer from a socket bound to one IPv4 address, or the
// reverse. A socket bound to every address (0.0.0.0 or ::) reaches both.
func checkFamilies(listen netip.AddrPort, entries []bootstrapEntry) error {
	ip := listen.Addr()
	if ip.IsUnspecified() {
		return nil
	}
	for _, e := range entries {
		if e.addr.IsValid() && e.addr.Addr().Is4() != ip.Is4() {
			return badFlag("bootstrap", e.text, "cannot be reached from -listen %s (other IP version)", listen)
		}
	}
	return nil
}

// literals returns the addresses of the IP literal entries.
func literals(entries []bootstrapEntry) []netip.AddrPort {
	var out []netip.AddrPort
	for _, e := range entries {
		if e.addr.IsValid() && !slices.Contains(out, e.addr) {
			out = append(out, e.addr)
		}
	}
	return out
}

// lookupFunc resolves a host name to addresses, like
// net.DefaultResolver.LookupNetIP(ctx, "ip", host).
type lookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// resolver looks up the host names among the bootstrap entries in the
// background. While a name is unresolved it retries, backing off from
// resolveBackoffMin to resolveBackoffMax, and logs each failure as one warn
// line. Whenever the set of addresses grows it hands the whole set (IP
// literals first) to set. A name that resolved is not looked up again.
type resolver struct {
	entries []bootstrapEntry
	lookup  lookupFunc
	set     func([]netip.AddrPort) // typically (*core.Overlay).SetBootstrap
	log     *slog.Logger
	// want4 and want6 say which IP versions the node's socket can reach;
	// IPv4 is preferred when a name has both.
	want4, want6 bool
}

// newResolver returns a resolver for a node whose UDP socket is bound to
// listen, using the system resolver.
func newResolver(entries []bootstrapEntry, listen netip.AddrPort, set func([]netip.AddrPort), log *slog.Logger) *resolver {
	ip := listen.Addr()
	return &resolver{
		entries: entries,
		lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		},
		set:   set,
		log:   log,
		want4: ip.IsUnspecified() || ip.Is4(),
		want6: ip.IsUnspecified() || ip.Is6(),
	}
}

// hasNames reports whether any entry needs DNS.
func (r *resolver) hasNames() bool {
	return slices.ContainsFunc(r.entries, func(e bootstrapEntry) bool { return !e.addr.IsValid() })
}

// run resolves until every name is resolved or ctx is done.
func (r *resolver) run(ctx context.Context) {
	resolved := make(map[int][]netip.AddrPort)
	backoff := resolveBackoffMin
	for {
		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			grew bool
		)
		for _, i := range r.pending(resolved) {
			e := r.entries[i]
			wg.Go(func() {
				addrs, err := r.resolve(ctx, e)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					r.log.Warn(fmt.Sprintf("bootstrap %s not resolved, retrying in %v", e.text, backoff), "err", err)
					return
				}
				r.log.Info("bootstrap resolved", "bootstrap", e.text, "addrs", addrs)
				mu.Lock()
				resolved[i], grew = addrs, true
				mu.Unlock()
			})
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		if grew {
			r.set(r.all(resolved))
		}
		if len(r.pending(resolved)) == 0 {
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, resolveBackoffMax)
	}
}

// pending returns the indexes of the names not resolved yet.
func (r *resolver) pending(resolved map[int][]netip.AddrPort) []int {
	var out []int
	for i, e := range r.entries {
		if !e.addr.IsValid() && resolved[i] == nil {
			out = append(out, i)
		}
	}
	return out
}

// resolve looks up one name and keeps the addresses the socket can reach,
// IPv4 first.
func (r *resolver) resolve(ctx context.Context, e bootstrapEntry) ([]netip.AddrPort, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	ips, err := r.lookup(ctx, e.host)
	if err != nil {
		return nil, err
	}
	var v4, v6 []netip.AddrPort
	for _, ip := range ips {
		ip = ip.Unmap() // the resolver may answer ::ffff:a.b.c.d
		ap := netip.AddrPortFrom(ip, e.port)
		switch {
		case ip.Is4() && r.want4 && !slices.Contains(v4, ap):
			v4 = append(v4, ap)
		case ip.Is6() && r.want6 && !slices.Contains(v6, ap):
			v6 = append(v6, ap)
		}
	}
	out := v4
	if len(out) == 0 {
		out = v6
	}
	if len(out) == 0 {
		return nil, errors.New("no address of a usable IP version")
	}
	return out[:min(len(out), maxAddrsPerName)], nil
}

// all returns the literals and the resolved addresses, without duplicates,
// in the order of the entries.
func (r *resolver) all(resolved map[int][]netip.AddrPort) []netip.AddrPort {
	out := literals(r.entries)
	for i := range r.entries {
		for _, a := range resolved[i] {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}
