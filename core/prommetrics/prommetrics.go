// Package prommetrics implements core.Metrics for Prometheus.
//
// Every series of the metrics contract (docs/metrics.md) lives in one
// *Metrics, registered on a registry the caller owns: a node has its own
// registry and nothing is package-level, so many nodes can share a process
// (tests, the demo) without their numbers mixing.
//
// Label sets are bounded and created up front: every drop reason, both peer
// states, both puncture results and the members of every community this node
// runs are exported as 0 from the start, so a rate() over a series that has
// not moved yet is 0, not absent. Community messages are labelled with the
// communities given to New; any other name is counted as "other", so a
// label value never comes from the network.
//
// Add and Drop sit on the packet path. New resolves their counters into
// arrays indexed by core.Counter and core.DropReason, so a call is one
// bounds check and one atomic add, with no label lookup and no allocation.
package prommetrics

import (
	"math"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/walkie-p2p/walkie/core"
)

// OtherCommunity is the community label of messages of communities that
// New was not told about.
const OtherCommunity = "other"

// introRTTBuckets spans loopback (~100 µs) to a slow mobile path (seconds);
// the walker gives up on a request long before the last bucket.
var introRTTBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// Metrics is a core.Metrics that keeps Prometheus series. Create it with New.
type Metrics struct {
	counters  []prometheus.Counter // by core.Counter
	drops     []prometheus.Counter // by core.DropReason
	peers     [2]prometheus.Gauge  // verified, candidate
	punctures [2]prometheus.Counter
	firstPeer prometheus.Gauge
	introRTT  prometheus.Histogram
	members   map[string]prometheus.Gauge
	wan       *wanInfo

	// Community messages: one lazily created counter per community, type
	// and direction, so the 256 types of each community cost nothing until
	// used, yet a message never resolves labels twice.
	msgVec   *prometheus.CounterVec
	msgIndex map[string]int // community name -> index into msgs
	msgs     []*[256][2]atomic.Pointer[prometheus.Counter]
	msgNames []string // label values, by index; the last is OtherCommunity
}

var _ core.Metrics = (*Metrics)(nil)

// New creates the walkie series and registers them on reg. communities are
// the names of the communities the node runs: each gets its members gauge
// and its own community label. It panics if a series is already registered
// on reg, as prometheus.MustRegister does: that is a wiring mistake.
func New(reg prometheus.Registerer, communities []string) *Metrics {
	m := &Metrics{
		firstPeer: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "walkie_first_peer_seconds",
			Help: "Seconds from start to the first verified peer; NaN until there is one.",
		}),
		introRTT: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "walkie_introduction_rtt_seconds",
			Help:    "Round-trip time of introduction requests answered by a response.",
			Buckets: introRTTBuckets,
		}),
		members:  map[string]prometheus.Gauge{},
		wan:      newWANInfo(),
		msgIndex: map[string]int{},
	}
	m.firstPeer.Set(math.NaN())
	reg.MustRegister(m.firstPeer, m.introRTT, m.wan)

	for _, c := range core.Counters() {
		ctr := prometheus.NewCounter(prometheus.CounterOpts{Name: c.Name(), Help: counterHelp(c)})
		reg.MustRegister(ctr)
		m.counters = append(m.counters, ctr)
	}

	drops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "walkie_packets_dropped_total",
		Help: "Received packets dropped, by reason (a fixed set, see docs/metrics.md).",
	}, []string{"reason"})
	reg.MustRegister(drops)
	for _, r := range core.DropReasons() {
		m.drops = append(m.drops, drops.WithLabelValues(r.String()))
	}

	peers := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "walkie_peers",
		Help: "Peers in the table: verified (proved their address) and candidate (introduced, not yet verified).",
	}, []string{"state"})
	reg.MustRegister(peers)
	m.peers[0], m.peers[1] = peers.WithLabelValues("verified"), peers.WithLabelValues("candidate")

	punctures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "walkie_punctures_total",
		Help: "Introductions to an invitee, by outcome: success when the invitee became a verified peer in time.",
	}, []string{"result"})
	reg.MustRegister(punctures)
	m.punctures[0], m.punctures[1] = punctures.WithLabelValues("failure"), punctures.WithLabelValues("success")

	members := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "walkie_community_members",
		Help: "Verified peers that announce the community.",
	}, []string{"community"})
	reg.MustRegister(members)

	m.msgVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "walkie_community_messages_total",
		Help: "Community messages received (in) and sent (out), by community and message type.",
	}, []string{"community", "type", "direction"})
	reg.MustRegister(m.msgVec)

	for _, name := range communities {
		// A community called "other" would share its label with the
		// unknown ones; it keeps its members gauge, and its messages are
		// simply counted under "other".
		if _, dup := m.msgIndex[name]; dup || name == OtherCommunity {
			if m.members[name] == nil {
				m.members[name] = members.WithLabelValues(name)
			}
			continue
		}
		m.members[name] = members.WithLabelValues(name)
		m.msgIndex[name] = len(m.msgNames)
		m.msgNames = append(m.msgNames, name)
	}
	m.msgNames = append(m.msgNames, OtherCommunity)
	m.msgs = make([]*[256][2]atomic.Pointer[prometheus.Counter], len(m.msgNames))
	for i := range m.msgs {
		m.msgs[i] = new([256][2]atomic.Pointer[prometheus.Counter])
	}
	return m
}

// Add implements core.Metrics.
func (m *Metrics) Add(c core.Counter, n uint64) {
	if int(c) < len(m.counters) {
		m.counters[c].Add(float64(n))
	}
}

// Drop implements core.Metrics.
func (m *Metrics) Drop(r core.DropReason) {
	if int(r) < len(m.drops) {
		m.drops[r].Inc()
	}
}

// Peers implements core.Metrics.
func (m *Metrics) Peers(verified, candidates int) {
	m.peers[0].Set(float64(verified))
	m.peers[1].Set(float64(candidates))
}

// WAN implements core.Metrics. It replaces the one walkie_wan_address_info
// series; the change itself is counted by the core (WANAddressChanges).
func (m *Metrics) WAN(f core.Family, addr netip.AddrPort, nat core.NATType) {
	a := ""
	if addr.IsValid() {
		a = addr.String()
	}
	m.wan.set(f, a, nat.String())
}

// FirstPeer implements core.Metrics.
func (m *Metrics) FirstPeer(d time.Duration) { m.firstPeer.Set(d.Seconds()) }

// IntroRTT implements core.Metrics.
func (m *Metrics) IntroRTT(d time.Duration) { m.introRTT.Observe(d.Seconds()) }

// Puncture implements core.Metrics.
func (m *Metrics) Puncture(success bool) {
	if success {
		m.punctures[1].Inc()
	} else {
		m.punctures[0].Inc()
	}
}

// CommunityMessage implements core.Metrics. Names New was not given are
// counted as OtherCommunity.
func (m *Metrics) CommunityMessage(community string, typ uint8, d core.Direction) {
	i, ok := m.msgIndex[community]
	if !ok {
		i = len(m.msgNames) - 1
	}
	dir := 0
	if d == core.Outbound {
		dir = 1
	}
	slot := &m.msgs[i][typ][dir]
	c := slot.Load()
	if c == nil {
		// Two goroutines may race here; WithLabelValues returns the same
		// child to both, so either store is right.
		ctr := m.msgVec.WithLabelValues(m.msgNames[i], strconv.Itoa(int(typ)), d.String())
		slot.Store(&ctr)
		c = &ctr
	}
	(*c).Inc()
}

// Members implements core.Metrics. A community New was not given is
// ignored: its count would mix with others under one label.
func (m *Metrics) Members(community string, n int) {
	if g := m.members[community]; g != nil {
		g.Set(float64(n))
	}
}

// NewRegistry returns a registry with the Go runtime and process collectors,
// for one node: pass it to New and serve it with promhttp.HandlerFor.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// counterHelp is the HELP text of a core counter.
func counterHelp(c core.Counter) string {
	switch c {
	case core.IntroRequestsSent:
		return "Introduction requests sent (walks, keep-alives, bootstrap)."
	case core.IntroRequestsReceived:
		return "Introduction requests received and accepted for handling."
	case core.IntroResponsesSent:
		return "Introduction responses sent."
	case core.IntroResponsesReceived:
		return "Introduction responses received that answered one of our requests."
	case core.PunctureRequestsSent:
		return "Puncture requests sent to invitees on behalf of a requester."
	case core.PunctureRequestsReceived:
		return "Puncture requests received from a verified introducer."
	case core.PuncturesSent:
		return "Punctures sent toward a peer we were asked to puncture to."
	case core.PuncturesReceived:
		return "Punctures received from an expected invitee."
	case core.WANAddressChanges:
		return "Times the voted WAN address changed."
	case core.PortPredictionAttempts:
		return "Port prediction attempts started toward a peer behind (or from behind) a symmetric NAT."
	case core.PortPredictionSuccesses:
		return "Port prediction attempts in which a probe got through."
	case core.PortProbesSent:
		return "Probe datagrams sent by port prediction attempts (both sides, every socket)."
	}
	return "A walkie counter."
}

// wanInfo exports walkie_wan_address_info: one series per IP family the
// node votes in (IPv4 from the start; IPv6 once the node reports it), value
// 1, whose labels are the family, the current WAN address and NAT type. It
// is a collector rather than a GaugeVec so that a change swaps the labels
// atomically: a scrape never sees zero or two series of a family.
type wanInfo struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	fams [2]wanOf // by core.Family
}

// wanOf is one family's labels; set reports whether it was ever reported.
type wanOf struct {
	set       bool
	addr, nat string
}

func newWANInfo() *wanInfo {
	w := &wanInfo{
		desc: prometheus.NewDesc("walkie_wan_address_info",
			"The voted WAN address (\"\" while unknown or behind a symmetric NAT) and NAT type of an IP family; always 1.",
			[]string{"family", "address", "nat"}, nil),
	}
	w.fams[core.IPv4] = wanOf{set: true, nat: core.NATUnknown.String()}
	return w
}

func (w *wanInfo) set(f core.Family, addr, nat string) {
	if int(f) >= len(w.fams) {
		return
	}
	w.mu.Lock()
	w.fams[f] = wanOf{set: true, addr: addr, nat: nat}
	w.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (w *wanInfo) Describe(ch chan<- *prometheus.Desc) { ch <- w.desc }

// Collect implements prometheus.Collector.
func (w *wanInfo) Collect(ch chan<- prometheus.Metric) {
	w.mu.Lock()
	fams := w.fams
	w.mu.Unlock()
	for f, o := range fams {
		if o.set {
			ch <- prometheus.MustNewConstMetric(w.desc, prometheus.GaugeValue, 1, core.Family(f).String(), o.addr, o.nat)
		}
	}
}
