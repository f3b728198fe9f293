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

// watchRoute tells the node (moved) when a LAN address of its changes,
// each family's: every routeCheckEvery, and at once when poke says that a
// send failed (a phone that lost its network sees that first). It ends
// when ctx does.
func watchRoute(ctx context.Context, bound, lan, lan6 netip.AddrPort, poke <-chan struct{}, moved func(lan, lan6 netip.AddrPort), log *slog.Logger) {
	t := time.NewTicker(routeCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-poke:
		}
		now, now6, how := lanAddrs(bound)
		if how == "fallback" {
			continue // no route at all (offline) is not a move yet
		}
		if now != lan || now6 != lan6 {
			log.Info("network changed", "lan", now, "lan6", now6, "was", lan, "was6", lan6, "from", how)
			lan, lan6 = now, now6
			moved(now, now6)
		}
	}
}
