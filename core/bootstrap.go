package core

import (
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"
)

// bootstraps is the fallback of a node that has no peers: the bootstrap
// addresses and the backoff between rounds of requests to them. It owns
// that state; the requests go through the worker's ask, and a retry also
// tries the addresses in the seed protocol (seeds).
type bootstraps struct {
	pending  atomic.Pointer[[]netip.AddrPort] // the latest SetBootstrap, until the worker takes it
	addrs    []netip.AddrPort
	min, max time.Duration // Config.BootstrapBackoffMin and Max
	backoff  time.Duration
	next     time.Time // zero: the next round is the first, and due at once
	ask      func(to netip.AddrPort, now time.Time)
	seeds    *seedService
	log      *slog.Logger
}

// reset makes the next round a first one, due at once, with the shortest
// backoff after it: the node has peers again, or moved.
func (b *bootstraps) reset() { b.backoff, b.next = b.min, time.Time{} }

// take applies a SetBootstrap that is waiting, and reports whether there
// was one.
func (b *bootstraps) take() bool {
	list := b.pending.Swap(nil)
	if list == nil {
		return false
	}
	b.addrs = *list
	return true
}

// contact sends an introduction request to every bootstrap address when
// the backoff allows, and doubles the backoff (up to its maximum).
func (b *bootstraps) contact(now time.Time) {
	if len(b.addrs) == 0 || now.Before(b.next) {
		return
	}
	retry := !b.next.IsZero()
	if retry {
		b.log.Info("no peers yet; retrying bootstrap", "addrs", b.addrs, "next_retry", b.backoff)
	}
	for _, a := range b.addrs {
		b.ask(a, now)
	}
	if retry {
		b.seeds.bootstrap(b.addrs, now) // unanswered in walkie: it may be a seed node
	}
	b.next = now.Add(b.backoff)
	b.backoff = min(2*b.backoff, b.max)
}
