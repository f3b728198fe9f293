package core

import (
	"crypto/ed25519"
	"encoding/hex"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// Status is a snapshot of the node, as served by GET /status. Its JSON field
// names are a contract: the status page and the e2e tests read them, and
// docs/metrics.md points here.
type Status struct {
	PeerID string `json:"peer_id"`
	// Key is the node's Ed25519 public key in hex ("" for a node without
	// one); PeerID derives from it.
	Key string `json:"key"`
	LAN string `json:"lan"`
	WAN string `json:"wan"` // "" while unknown, and behind a symmetric NAT
	// WANIP is our public IP once two observers agree on it (also behind a
	// symmetric NAT, whose ports differ); "" until then.
	WANIP string `json:"wan_ip"`
	// WANIPProvisional is the public IP that one observer reports, while
	// WANIP is "": the IP its two ports saw when it offers a second one
	// (discover.go), else the one IP every observer so far names. It
	// classifies the NAT and names our port prediction ticket; it never
	// becomes wan or wan_ip on its own (that takes two agreeing observers).
	WANIPProvisional string `json:"wan_ip_provisional"`
	// NAT is public, cone, symmetric or unknown: what the votes say, or
	// while they cannot tell, what one observer's two ports say.
	NAT string `json:"nat"`
	// NATReason says why NAT is "unknown" ("" otherwise): no_observers (no
	// node outside our subnet answered a request of ours yet), same_lan
	// (only nodes on our own LAN did: they see our LAN address, as on
	// loopback), one_observer (one did, and it offered no second port, or
	// that port did not answer), observers_disagree (two or more did, and
	// no majority names one address or IP).
	NATReason string `json:"nat_reason"`
	// LAN6, WAN6, WANIP6 and NAT6 are the same for IPv6, on a node that has
	// an IPv6 address: each family has its own vote, and LAN, WAN, WANIP
	// and NAT are IPv4's (IPv6's on an IPv6-only node, then the same as
	// these). "" when the node has no IPv6 address.
	LAN6   string `json:"lan6"`
	WAN6   string `json:"wan6"`
	WANIP6 string `json:"wan_ip6"`
	NAT6   string `json:"nat6"`
	// NAT64 is the prefix through which an IPv6-only node reaches IPv4
	// peers (Overlay.SetNAT64), "" when it has none or needs none.
	NAT64 string `json:"nat64"`
	// NATPorts is how a symmetric NAT moves its ports, as the votes say:
	// "sequential" or "random"; "" otherwise.
	NATPorts string `json:"nat_ports"`
	// PortPrediction counts this node's port prediction attempts.
	PortPrediction PortPredictionStatus `json:"port_prediction"`
	Peers          []PeerStatus         `json:"peers"`
	// SeedPeers are the nodes of the 2016 app's protocol that answered a
	// request of ours (seed.go): never in Peers, never community members,
	// never authenticated (the seed proves nothing).
	SeedPeers   []SeedPeerStatus  `json:"seed_peers"`
	Communities []CommunityStatus `json:"communities"`
	StartedAt   time.Time         `json:"started_at"`
	FirstPeerMS *int64            `json:"first_peer_ms"` // null until the first verified peer
	// PacketsSent counts the datagrams the overlay sent since start, and
	// PacketsPerMin those of the last full minute (0 in the first minute).
	PacketsSent   uint64 `json:"packets_sent"`
	PacketsPerMin uint64 `json:"packets_sent_per_min"`
}

// PortPredictionStatus is Status.PortPrediction: attempts started, those
// that got through, and the probe datagrams they all cost.
type PortPredictionStatus struct {
	Attempts  uint64 `json:"attempts"`
	Successes uint64 `json:"successes"`
	Probes    uint64 `json:"probes_sent"`
}

// PeerStatus is one entry of Status.Peers: a verified peer, or an introduced
// candidate that has not proved its address yet (Verified false).
type PeerStatus struct {
	ID       string `json:"id"`
	Addr     string `json:"addr"`
	LAN      string `json:"lan,omitempty"`
	Verified bool   `json:"verified"`
	// Authenticated: the peer proved its key (its peer ID derives from it),
	// and what we exchange with it is sealed. Peers of the previous release
	// never are.
	Authenticated bool     `json:"authenticated"`
	LastSeenMS    int64    `json:"last_seen_ms"` // milliseconds since we last heard from it
	Communities   []string `json:"communities"`
}

// SeedPeerStatus is one entry of Status.SeedPeers: a seed node whose
// address answered us.
type SeedPeerStatus struct {
	ID         string `json:"id"` // its seed peer_id: 8 hex digits
	Addr       string `json:"addr"`
	LastSeenMS int64  `json:"last_seen_ms"`
}

// CommunityStatus is one entry of Status.Communities.
type CommunityStatus struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Members int    `json:"members"` // verified peers that announce it
}

// Status returns a snapshot of the node. Peers are sorted: verified first,
// then by ID. It reads the view the worker last published, so it never
// waits for the worker.
func (o *Overlay) Status() Status {
	v := o.view.Load()
	now := time.Now()
	s := Status{
		PeerID:      o.cfg.PeerID.String(),
		Key:         keyString(o.cfg.Key),
		LAN:         v.lan.String(),
		NAT:         v.nat.String(),
		StartedAt:   v.started,
		Peers:       make([]PeerStatus, 0, len(v.peers)+len(v.cands)),
		Communities: make([]CommunityStatus, 0, len(o.comms.runners)),
		PacketsSent: o.out.sent.Load(), PacketsPerMin: v.perMin,
		PortPrediction: v.pp,
	}
	switch v.hint.Kind {
	case proto.NATRandom:
		s.NATPorts = "random"
	case proto.NATSequential:
		s.NATPorts = "sequential"
	}
	s.WAN, s.WANIP, s.NAT64 = addrString(v.wan), addrString(v.ip), addrString(v.nat64)
	s.WANIPProvisional, s.NATReason = addrString(v.prov), v.reason
	if v.v6.lan.IsValid() {
		s.LAN6, s.WAN6, s.WANIP6, s.NAT6 = v.v6.lan.String(), addrString(v.v6.wan), addrString(v.v6.ip), v.v6.nat.String()
	}
	if v.firstPeer > 0 {
		ms := v.firstPeer.Milliseconds()
		s.FirstPeerMS = &ms
	}
	for _, p := range v.peers {
		s.Peers = append(s.Peers, PeerStatus{
			ID: p.id.String(), Addr: p.addr.String(), LAN: addrString(p.lan), Verified: true, Authenticated: p.authenticated,
			LastSeenMS: now.Sub(time.Unix(0, p.seen.Load())).Milliseconds(), Communities: o.comms.names(p.communities),
		})
	}
	cands := make([]PeerStatus, 0, len(v.cands))
	for _, c := range v.cands {
		cands = append(cands, PeerStatus{
			ID: c.id.String(), Addr: addrString(pick(v.ip, c.lan, c.wan)), LAN: addrString(c.lan),
			LastSeenMS: now.Sub(c.added).Milliseconds(), Communities: []string{},
		})
	}
	slices.SortFunc(cands, func(a, b PeerStatus) int { return strings.Compare(a.ID, b.ID) })
	s.Peers = append(s.Peers, cands...)
	s.SeedPeers = make([]SeedPeerStatus, 0, len(v.seeds))
	for _, e := range v.seeds {
		s.SeedPeers = append(s.SeedPeers, SeedPeerStatus{ID: e.id, Addr: e.addr.String(), LastSeenMS: now.Sub(time.Unix(0, e.seen.Load())).Milliseconds()})
	}
	for i, r := range o.comms.runners {
		s.Communities = append(s.Communities, CommunityStatus{Name: r.name, ID: r.id.String(), Members: len(v.members[i])})
	}
	return s
}

// VerifiedPeers returns the IDs of the verified peers, sorted.
func (o *Overlay) VerifiedPeers() []proto.ID {
	v := o.view.Load()
	ids := make([]proto.ID, len(v.peers))
	for i, p := range v.peers {
		ids[i] = p.id
	}
	return ids
}

func addrString(a interface {
	IsValid() bool
	String() string
}) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// keyString is the hex of key's public half, "" without a key.
func keyString(key ed25519.PrivateKey) string {
	if key == nil {
		return ""
	}
	return hex.EncodeToString(key.Public().(ed25519.PublicKey))
}

// Contacts returns up to n addresses of verified peers, public ones first
// (their own LAN address is where we see them: they answer anyone), for a
// cache that gets the node back into the network when its bootstrap is
// gone. It reads the published view.
func (o *Overlay) Contacts(n int) []netip.AddrPort {
	v := o.view.Load()
	out := make([]netip.AddrPort, 0, min(n, len(v.peers)))
	for _, public := range []bool{true, false} {
		for _, p := range v.peers {
			if len(out) < n && (p.lan == p.addr) == public {
				out = append(out, p.addr)
			}
		}
	}
	return out
}
