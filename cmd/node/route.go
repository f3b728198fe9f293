package main

import (
	"context"
	"log/slog"
	"net/netip"
	"time"
)

// routeCheckEvery is how often the node asks the kernel which address its
// route uses. The check sends no packet (a UDP "dial" only picks a route)
// and needs no netlink, which Android 11 and later forbid, so a phone that
// changes networks learns it within a second.
const routeCheckEvery = time.Second

// watchRoute tells the node (moved) when its LAN address changes: every
// routeCheckEvery, and at once when poke says that a send failed (a phone
// that lost its network sees that first). It ends when ctx does.
func watchRoute(ctx context.Context, bound, lan netip.AddrPort, poke <-chan struct{}, moved func(netip.AddrPort), log *slog.Logger) {
	t := time.NewTicker(routeCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-poke:
		}
		now, how := lanAddr(bound)
		if now == lan || how == "fallback" {
			continue // no route at all (offline) is not a move yet
		}
		log.Info("network changed", "lan", now, "was", lan, "from", how)
		lan = now
		moved(now)
	}
}
