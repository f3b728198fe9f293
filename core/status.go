package core

import (
	"slices"
	"strings"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// Status is a snapshot of the node, as served by GET /status. Its JSON field
// names are a contract (design.md section 7).
type Status struct {
	PeerID string `json:"peer_id"`
	LAN    string `json:"lan"`
	WAN    string `json:"wan"` // "" while unknown, and behind a symmetric NAT
	WANIP  string `json:"wan_ip"`
	NAT    string `json:"nat"`
	// NATPorts is how a symmetric NAT moves its ports, as the votes say:
	// "sequential" or "random"; "" otherwise.
	NATPorts string `json:"nat_ports"`
	// PortPrediction counts this node's port prediction attempts.
	PortPrediction PortPredictionStatus `json:"port_prediction"`
	Peers          []PeerStatus         `json:"peers"`
	Communities    []CommunityStatus    `json:"communities"`
	StartedAt      time.Time            `json:"started_at"`
	FirstPeerMS    *int64               `json:"first_peer_ms"` // null until the first verified peer
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
	ID          string   `json:"id"`
	Addr        string   `json:"addr"`
	LAN         string   `json:"lan,omitempty"`
	Verified    bool     `json:"verified"`
	LastSeenMS  int64    `json:"last_seen_ms"` // milliseconds since we last heard from it
	Communities []string `json:"communities"`
}

// CommunityStatus is one entry of Status.Communities.
type CommunityStatus struct {
	Name    string `json:"name"`
	ID      string `json:"id"`
	Members int    `json:"members"` // verified peers that announce it
}

// Status returns a snapshot of the node. Peers are sorted: verified first,
// then by ID.
func (o *Overlay) Status() Status {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	s := Status{
		PeerID:      o.cfg.PeerID.String(),
		LAN:         o.cfg.LAN.String(),
		NAT:         o.votes.nat.String(),
		StartedAt:   o.started,
		Peers:       make([]PeerStatus, 0, o.table.len()+len(o.table.cands)),
		Communities: make([]CommunityStatus, 0, len(o.runners)),
		PacketsSent: o.sent, PacketsPerMin: o.sentPerMin,
		PortPrediction: PortPredictionStatus{Attempts: o.punch.attempts, Successes: o.punch.successes, Probes: o.punch.probes},
	}
	switch o.votes.hint().Kind {
	case proto.NATRandom:
		s.NATPorts = "random"
	case proto.NATSequential:
		s.NATPorts = "sequential"
	}
	if o.votes.wan.IsValid() {
		s.WAN = o.votes.wan.String()
	}
	if o.votes.ip.IsValid() {
		s.WANIP = o.votes.ip.String()
	}
	if o.firstPeer > 0 {
		ms := o.firstPeer.Milliseconds()
		s.FirstPeerMS = &ms
	}
	for _, p := range o.table.order {
		s.Peers = append(s.Peers, PeerStatus{
			ID: p.id.String(), Addr: p.addr.String(), LAN: addrString(p.lan), Verified: true,
			LastSeenMS: now.Sub(p.lastHeard).Milliseconds(), Communities: o.names(p.communities),
		})
	}
	var cands []PeerStatus
	for _, c := range o.table.cands {
		cands = append(cands, PeerStatus{
			ID: c.id.String(), Addr: addrString(o.pick(c.lan, c.wan)), LAN: addrString(c.lan),
			LastSeenMS: now.Sub(c.added).Milliseconds(), Communities: []string{},
		})
	}
	slices.SortFunc(cands, func(a, b PeerStatus) int { return strings.Compare(a.ID, b.ID) })
	s.Peers = append(s.Peers, cands...)
	for _, r := range o.runners {
		s.Communities = append(s.Communities, CommunityStatus{Name: r.name, ID: r.id.String(), Members: len(r.members())})
	}
	return s
}

// VerifiedPeers returns the IDs of the verified peers, sorted.
func (o *Overlay) VerifiedPeers() []proto.ID {
	o.mu.Lock()
	defer o.mu.Unlock()
	ids := make([]proto.ID, len(o.table.order))
	for i, p := range o.table.order {
		ids[i] = p.id
	}
	return ids
}

// names maps community IDs to the names we know (the ID otherwise).
func (o *Overlay) names(ids []proto.ID) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		name := id.String()
		if r := o.byCID[id]; r != nil {
			name = r.name
		}
		out = append(out, name)
	}
	return out
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
