package core

import (
	"crypto/ed25519"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// view is what the worker publishes for every other goroutine: the
// communities' delivery checks and Env, Status, VerifiedPeers. It is
// immutable once published (atomic.Pointer), so a reader never waits for the
// worker, however long the worker's batch or a blocked write takes. The
// worker republishes after a batch that changed something a view shows, and
// before that batch's datagrams leave: a peer that reacts to our answer finds
// itself in the view already.
type view struct {
	lan       netip.AddrPort
	v6        fam6         // IPv6's, on a dual-stack node (on an IPv6-only one: the first family's)
	nat64     netip.Prefix // the NAT64 prefix an IPv6-only node reaches IPv4 through
	wan       netip.AddrPort
	ip        netip.Addr
	nat       NATType
	hint      proto.NATHint
	prov      netip.Addr  // wan_ip_provisional
	reason    string      // nat_reason
	seeds     []seedView  // verified seed nodes, sorted by ID
	peers     []*peerView // verified, sorted by ID
	byID      map[proto.ID]*peerView
	byAddr    map[netip.AddrPort]*peerView
	cands     []candView
	members   [][]community.Peer // by community index, sorted by ID
	started   time.Time          // zero until Start
	firstPeer time.Duration      // 0 until the first verified peer
	perMin    uint64             // datagrams sent in the last full minute
	pp        PortPredictionStatus
}

// peerView is a verified peer as a view shows it. communities is shared with
// the peer table, which replaces rather than changes it.
type peerView struct {
	id            proto.ID
	addr, lan     netip.AddrPort
	communities   []proto.ID
	seen          *atomic.Int64     // the peer's, kept current by the worker
	key           ed25519.PublicKey // nil until it proved one
	authenticated bool
}

// member reports whether the peer announces community cid.
func (p *peerView) member(cid proto.ID) bool { return slices.Contains(p.communities, cid) }

// candView is an introduced candidate as a view shows it.
type candView struct {
	id       proto.ID
	lan, wan netip.AddrPort
	added    time.Time
}

// stamp is what decides whether the view is stale: a cheap comparison at the
// end of every batch instead of a rebuild.
type stamp struct {
	lan       netip.AddrPort
	v6        fam6
	nat64     netip.Prefix
	table     uint64
	wan       netip.AddrPort
	ip        netip.Addr
	nat       NATType
	hint      proto.NATHint
	prov      netip.Addr
	reason    string
	seedVer   uint64
	started   time.Time
	firstPeer time.Duration
	perMin    uint64
	pp        PortPredictionStatus
}

// publish builds and stores a new view if anything it shows changed since
// the last one. Worker only (and New, before any goroutine runs).
func (o *Overlay) publish() {
	st := stamp{
		lan: o.lan, v6: o.fam6(), nat64: o.out.nat64, table: o.table.ver, wan: o.votes.wan, ip: o.votes.ip, nat: o.natType(), hint: o.votedHint(),
		prov: o.provisionalIP(), reason: o.natReason(), seedVer: o.seedVer(),
		started: o.started, firstPeer: o.firstPeer, perMin: o.sentPerMin, pp: o.punch.stats(),
	}
	if o.published != nil && st == *o.published {
		return
	}
	o.published = &st
	v := &view{
		lan: st.lan, v6: st.v6, nat64: st.nat64, wan: st.wan, ip: st.ip, nat: st.nat, hint: st.hint, prov: st.prov, reason: st.reason, started: st.started, firstPeer: st.firstPeer, perMin: st.perMin, pp: st.pp,
		peers:   make([]*peerView, 0, o.table.len()),
		byID:    make(map[proto.ID]*peerView, o.table.len()),
		byAddr:  make(map[netip.AddrPort]*peerView, o.table.len()),
		members: make([][]community.Peer, len(o.comms.runners)),
	}
	for _, p := range o.table.peers() {
		pv := &peerView{id: p.id, addr: p.addr, lan: p.lan, communities: p.communities, seen: &p.seen,
			key: p.key, authenticated: p.authenticated()}
		v.peers = append(v.peers, pv)
		v.byID[p.id] = pv
		v.byAddr[p.addr] = pv
		for i, r := range o.comms.runners {
			if pv.member(r.id) && (pv.authenticated || !r.authOnly) {
				v.members[i] = append(v.members[i], community.Peer{ID: p.id, Addr: p.addr, Key: p.key, Authenticated: pv.authenticated})
			}
		}
	}
	v.cands = o.table.candidateViews()
	v.seeds = o.seedViews()
	o.view.Store(v)
}

// fam6 is what a view shows of IPv6: its LAN address, WAN address and IP,
// and NAT type.
type fam6 struct {
	lan, wan netip.AddrPort
	ip       netip.Addr
	nat      NATType
}

// fam6 returns the IPv6 family's state: a dual-stack node's own vote, or an
// IPv6-only node's first one; nothing on an IPv4-only node.
func (o *Overlay) fam6() fam6 {
	switch {
	case o.votes6 != nil:
		return fam6{lan: o.lan6, wan: o.votes6.wan, ip: o.votes6.ip, nat: o.votes6.nat}
	case familyOf(o.lan.Addr()) == IPv6:
		return fam6{lan: o.lan, wan: o.votes.wan, ip: o.votes.ip, nat: o.votes.nat}
	}
	return fam6{}
}
