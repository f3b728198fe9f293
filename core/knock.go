package core

import (
	"net/netip"
	"time"
)

// Knocking: a peer we lost (it timed out: it moved, slept, restarted) may
// come back at its last address, behind a cone NAT that filters everyone
// it did not send to. If it knocks at our address and we knock at its, both
// NATs open. So for knockFor after losing a peer we send an introduction
// request to its last address: every knockFast for the first knockSoon,
// when a restart is likeliest, then every knockSlow; at most maxKnocks
// addresses at once (16 packets a minute at most after the first minutes).
const (
	knockFor  = 10 * time.Minute
	knockSoon = 2 * time.Minute
	knockFast = 5 * time.Second
	knockSlow = 30 * time.Second
	maxKnocks = 4
)

// knock is one lost peer's last address and how long we knock there.
type knock struct {
	addr               netip.AddrPort
	since, until, next time.Time
}

// knocks are the addresses we knock at, oldest loss first.
type knocks []knock

// lost starts knocking at the address of a peer that timed out.
func (ks *knocks) lost(addr netip.AddrPort, now time.Time) {
	for _, k := range *ks {
		if k.addr == addr {
			return
		}
	}
	if len(*ks) >= maxKnocks {
		*ks = (*ks)[1:] // the oldest loss gives way
	}
	*ks = append(*ks, knock{addr: addr, since: now, until: now.Add(knockFor), next: now.Add(knockFast)})
}

// tick knocks where it is due (ask sends the introduction request), and
// stops where the peer answered (it is in t, a peer again) or the time is
// up.
func (ks *knocks) tick(t *peerTable, ask func(to netip.AddrPort), now time.Time) {
	kept := (*ks)[:0]
	for _, k := range *ks {
		if now.After(k.until) || t.at(k.addr) != nil {
			continue
		}
		if !now.Before(k.next) {
			ask(k.addr)
			if now.Sub(k.since) < knockSoon {
				k.next = now.Add(knockFast)
			} else {
				k.next = now.Add(knockSlow)
			}
		}
		kept = append(kept, k)
	}
	*ks = kept
}
