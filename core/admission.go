package core

import (
	"net/netip"
	"slices"
)

// Who gets a slot in the peer table, and who gives one up, in the spirit of
// Bitcoin's defences against eclipse attacks (Heilman et al., 2015: "new"
// and "tried" peers, network groups): an attacker has many addresses, but
// few networks, and it cannot make its peers older than ours.
//
//   - One network, an IPv4 /24 or IPv6 /48 (netGroup), holds at most
//     perPrefix verified peers: an attacker with 300 addresses in one /24
//     gets 16 slots of 256. A LAN (local-scope addresses) is not capped: it
//     holds neighbours, not strangers from the internet.
//   - A full table makes room for a newcomer rather than refusing it: an
//     attacker that filled an empty table must not keep honest newcomers out
//     (it did, until it left). The peer that goes is the youngest of the
//     network with the most peers that may go, if that network has two or
//     more, and only if the newcomer's network has fewer: a newcomer from a
//     crowded network cannot evict one from a sparse one, so diversity only
//     grows, and a table of peers from as many networks does not churn. An
//     attacker that fills an empty table from as many /24s as it has slots
//     still keeps newcomers out: that is 256 networks.
//   - The longest-lived half of the table may not go, at most
//     protectPerGroup of them per network: an attacker that arrives later,
//     from however many networks, cannot push out peers that have been with
//     us longer, and one network cannot shelter all of its peers.

// protectPerGroup is how many of one network's longest-lived peers the
// eviction spares.
const protectPerGroup = 2

// netGroup is the network an address belongs to for the caps: its IPv4 /24
// or IPv6 /48; ok is false for a local-scope address, which is not capped.
func netGroup(a netip.AddrPort) (netip.Prefix, bool) {
	ip := a.Addr().Unmap()
	if !ip.IsValid() || isLocalScope(ip) {
		return netip.Prefix{}, false
	}
	bits := 24
	if ip.Is6() {
		bits = 48
	}
	p, _ := ip.Prefix(bits)
	return p, true
}

// count adds d to the peers of addr's network.
func (t *peerTable) count(addr netip.AddrPort, d int) {
	g, ok := netGroup(addr)
	if !ok {
		return
	}
	if n := t.byPrefix[g] + d; n > 0 {
		t.byPrefix[g] = n
	} else {
		delete(t.byPrefix, g)
	}
}

// admit reports whether a new peer at addr may have a slot, making one by
// evicting a peer if the table is full and the newcomer adds diversity.
func (t *peerTable) admit(addr netip.AddrPort) bool {
	g, capped := netGroup(addr)
	if capped && t.perPrefix > 0 && t.byPrefix[g] >= t.perPrefix {
		return false
	}
	if len(t.order) < t.max {
		return true
	}
	victim := t.evictee(g, capped)
	if victim == nil {
		return false
	}
	t.remove(victim.id)
	return true
}

// evictee picks the peer that makes room for a newcomer from network g
// (uncapped: a LAN neighbour), or nil if none should.
func (t *peerTable) evictee(g netip.Prefix, capped bool) *peer {
	protected := t.protected()
	sizes := map[netip.Prefix]int{}
	youngest := map[netip.Prefix]*peer{}
	for _, p := range t.order {
		pg, ok := netGroup(p.addr)
		if !ok || protected[p] {
			continue // a LAN neighbour, or long-lived
		}
		sizes[pg]++
		if y := youngest[pg]; y == nil || p.added.After(y.added) {
			youngest[pg] = p
		}
	}
	var best netip.Prefix
	for pg, n := range sizes {
		if n > sizes[best] || (n == sizes[best] && youngest[pg].added.After(youngest[best].added)) {
			best = pg
		}
	}
	// Only a crowded network gives up a peer: honest peers from as many
	// networks as peers must not churn each other out. And a newcomer from
	// a network at least as crowded adds nothing.
	if sizes[best] < 2 || (capped && t.byPrefix[g] >= t.byPrefix[best]) {
		return nil
	}
	return youngest[best]
}

// protected returns the peers no newcomer may evict: the longest-lived
// half of the table, at most protectPerGroup per network.
func (t *peerTable) protected() map[*peer]bool {
	byAge := slices.Clone(t.order)
	slices.SortFunc(byAge, func(a, b *peer) int { return a.added.Compare(b.added) })
	out := make(map[*peer]bool, len(byAge)/2)
	per := map[netip.Prefix]int{}
	for _, p := range byAge {
		if len(out) >= len(byAge)/2 {
			break
		}
		g, _ := netGroup(p.addr)
		if per[g] < protectPerGroup {
			per[g]++
			out[p] = true
		}
	}
	return out
}
