package fleet

// Kind is a family's Prometheus type.
type Kind uint8

// The kinds a reported family may have.
const (
	Counter Kind = iota
	Gauge
)

// String is the kind as the text format's TYPE line says it.
func (k Kind) String() string {
	if k == Counter {
		return "counter"
	}
	return "gauge"
}

// Family is one metric family a report may carry: the wire names it by its
// index in Families, so a report carries no series names.
type Family struct {
	Name   string
	Kind   Kind
	Labels []string // label names, in the order a series carries their values
	Help   string
}

// MaxFamilies bounds the index of a family on the wire. Families has fewer;
// a newer reporter may name families this node does not know, and the
// collector skips them.
const MaxFamilies = 1024

// Families returns the families a report may carry, by wire index: the
// walkie_ series of the contract (docs/metrics.md) and the puncture
// outcomes. Wire constants: append only, never renumber or rename. The
// introduction RTT histogram (bulky), community messages (up to 512 series
// per community) and plugin counters are not reported.
func Families() []Family {
	c := func(name, help string, labels ...string) Family { return Family{name, Counter, labels, help} }
	g := func(name, help string, labels ...string) Family { return Family{name, Gauge, labels, help} }
	return []Family{
		0:  c("walkie_introduction_requests_sent_total", "Introduction requests sent (walks, keep-alives, bootstrap)."),
		1:  c("walkie_introduction_requests_received_total", "Introduction requests received and accepted for handling."),
		2:  c("walkie_introduction_responses_sent_total", "Introduction responses sent."),
		3:  c("walkie_introduction_responses_received_total", "Introduction responses received that answered one of our requests."),
		4:  c("walkie_puncture_requests_sent_total", "Puncture requests sent to invitees on behalf of a requester."),
		5:  c("walkie_puncture_requests_received_total", "Puncture requests received from a verified introducer."),
		6:  c("walkie_punctures_sent_total", "Punctures sent toward a peer we were asked to puncture to."),
		7:  c("walkie_punctures_received_total", "Punctures received from an expected invitee."),
		8:  c("walkie_wan_address_changes_total", "Times the voted WAN address changed."),
		9:  c("walkie_port_prediction_attempts_total", "Port prediction attempts started."),
		10: c("walkie_port_prediction_successes_total", "Port prediction attempts in which a probe got through."),
		11: c("walkie_port_probes_sent_total", "Probe datagrams sent by port prediction attempts."),
		12: c("walkie_handshakes_started_total", "Handshakes started as the initiator."),
		13: c("walkie_handshakes_completed_total", "Handshakes completed: a peer proved its key."),
		14: c("walkie_packets_dropped_total", "Packets dropped, by reason.", "reason"),
		15: g("walkie_peers", "Peers in the table: verified and candidate.", "state"),
		16: g("walkie_wan_address_info", "The voted WAN address and NAT type, per address family; always 1.", "family", "address", "nat"),
		17: g("walkie_first_peer_seconds", "Seconds from start to the first verified peer; NaN until there is one."),
		18: g("walkie_community_members", "Verified peers that announce the community.", "community"),
		19: c("walkie_punctures_total", "Introductions to an invitee, by outcome.", "result"),
		20: c("walkie_seed_messages_received_total", "Seed protocol datagrams (the 2016 app's) decoded and taken."),
		21: c("walkie_seed_messages_sent_total", "Seed protocol datagrams sent."),
	}
}
