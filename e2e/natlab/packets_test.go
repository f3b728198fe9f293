//go:build natlab

package natlab

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/e2e/internal/e2etest"
)

// packetWindow says how long the phone's counts let the network settle and
// then measure. CI: 30 s and 2 minutes, so that the test, setup included
// (about 18 s), stays within the 3 minutes a lab scenario may add to CI
// (issue 15). Not less than 2 minutes: every session is rekeyed about every
// 2 minutes (core/session.go), 2 datagrams of the phone per peer at once,
// and a shorter window that holds all 8 peers' rekeys counts them as more
// than they are (90 s gave the mobile profile 19-24 a minute, up to 36% of
// default). NATLAB_PACKETS_FULL=1 (make natlab-phones): 1 minute and 3, as
// issue 15 asks for the figures in docs/android.md.
func packetWindow() (settle, measure time.Duration) {
	if os.Getenv("NATLAB_PACKETS_FULL") != "" {
		return time.Minute, 3 * time.Minute
	}
	return 30 * time.Second, 2 * time.Minute
}

// Wake-ups are counted after at least this much quiet (either way): the
// low and high ends of a cellular radio's tail.
const (
	quietShort = 5 * time.Second
	quietLong  = 10 * time.Second
)

// traffic is what one node sent and received over a measurement.
type traffic struct {
	network, node, profile string
	measured               time.Duration
	count                  udpCount // nftables, in the node's namespace
	statusSent             uint64   // the node's own packets_sent over the same time
	kinds                  []uint64 // what it sent, by sendKinds, from its /metrics
	wake5, wake10          int      // wake-ups after 5 s and 10 s of quiet
	longest                time.Duration
}

// sendKinds are the node's /metrics counters of what it sends
// (docs/metrics.md), to break a count down by kind; what they leave out
// (handshake answers, ...) is "other".
var sendKinds = []struct{ name, series string }{
	{"requests", "walkie_introduction_requests_sent_total"},
	{"responses", "walkie_introduction_responses_sent_total"},
	{"puncture requests", "walkie_puncture_requests_sent_total"},
	{"punctures", "walkie_punctures_sent_total"},
	{"probes", "walkie_port_probes_sent_total"},
	{"handshakes", "walkie_handshakes_started_total"},
	{"community", `walkie_community_messages_total{direction="out"}`}, // summed over communities and types
}

// sentByKind reads n's /metrics and returns its sendKinds counters.
func sentByKind(n *node) ([]uint64, error) {
	b, err := e2etest.Get(n.client, "http://"+httpAddr+"/metrics")
	if err != nil {
		return nil, err
	}
	out := make([]uint64, len(sendKinds))
	for _, line := range strings.Split(string(b), "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		for i, k := range sendKinds {
			name, label, _ := strings.Cut(k.series, "{")
			if series == name || strings.HasPrefix(series, name+"{") && label != "" && strings.Contains(series, strings.TrimSuffix(label, "}")) {
				out[i] += uint64(v)
			}
		}
	}
	return out, nil
}

// breakdown renders the kinds of what r's node sent, per minute.
func (r traffic) breakdown() string {
	var parts []string
	var known uint64
	for i, k := range sendKinds {
		if r.kinds[i] > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f", k.name, r.perMin(r.kinds[i])))
		}
		known += r.kinds[i]
	}
	if r.count.sent > known {
		parts = append(parts, fmt.Sprintf("other %.1f", r.perMin(r.count.sent-known)))
	}
	return strings.Join(parts, ", ")
}

// perMin returns n per minute of the measurement.
func (r traffic) perMin(n uint64) float64 { return float64(n) / r.measured.Minutes() }

// perHour returns n per hour of the measurement.
func (r traffic) perHour(n uint64) float64 { return float64(n) / r.measured.Hours() }

// measureTraffic counts what each node sends and receives for d, from
// outside (nftables, a capture) and from its /status.
func measureTraffic(t *testing.T, network, profile string, d time.Duration, nodes []*node, caps []*capture) []traffic {
	t.Helper()
	type mark struct {
		count udpCount
		sent  uint64
		kinds []uint64
	}
	read := func(n *node) mark {
		c, err := readCount(n.site.host)
		if err != nil {
			t.Fatal(err)
		}
		s, err := n.status()
		if err != nil {
			t.Fatalf("%s: /status: %v", n.site.name, err)
		}
		k, err := sentByKind(n)
		if err != nil {
			t.Fatalf("%s: /metrics: %v", n.site.name, err)
		}
		return mark{c, s.PacketsSent, k}
	}
	from := time.Now()
	start := make([]mark, len(nodes))
	for i, n := range nodes {
		start[i] = read(n)
	}
	waitAlive(t, d, nodes...)
	to := time.Now()
	out := make([]traffic, len(nodes))
	for i, n := range nodes {
		end := read(n)
		r := traffic{network: network, node: n.site.name, profile: profile, measured: to.Sub(from),
			count: end.count.minus(start[i].count), statusSent: end.sent - start[i].sent, kinds: make([]uint64, len(sendKinds))}
		for k := range sendKinds {
			r.kinds[k] = end.kinds[k] - start[i].kinds[k]
		}
		_, _, r.wake5, _ = caps[i].window(from, to, quietShort)
		sent, recv, wake10, longest := caps[i].window(from, to, quietLong)
		r.wake10, r.longest = wake10, longest
		t.Logf("%s, %s (%s profile), %v: sent %d (%.1f/min; /status packets_sent %d, capture %d), received %d (capture %d), %d+%d bytes, wake-ups %d (5 s quiet) %d (10 s quiet), longest quiet %v",
			network, n.site.name, profile, r.measured.Round(time.Second), r.count.sent, r.perMin(r.count.sent), r.statusSent, sent,
			r.count.recv, recv, r.count.sentBytes, r.count.recvBytes, r.wake5, r.wake10, longest.Round(10*time.Millisecond))
		t.Logf("%s sent per minute: %s", n.site.name, r.breakdown())
		out[i] = r
	}
	return out
}

// counted prepares namespace name for counting: nftables counters and a
// capture, before its node starts.
func counted(t *testing.T, l *lab, name string) *capture {
	t.Helper()
	if err := countUDP(l.byName[name].host); err != nil {
		t.Fatal(err)
	}
	return startCapture(t, l.byName[name].host)
}

// TestPacketsPerMinute counts, outside the node, every datagram it sends
// (community traffic, probes and all). Routers have 30 s UDP timeouts.
//
//   - phone/default, phone/mobile: the phone of TestHandover, idle with
//     its 8 peers (chat and game running, as by default), on each profile,
//     its peers on the default one; counted over 2 minutes after 30 s
//     of settling (3 minutes after 1 with NATLAB_PACKETS_FULL=1). The nft count and
//     the node's packets_sent must agree within 2% (+5), and the phone must
//     still have its 8 peers at the end. Then: mobile at most 40% of
//     default (issue 15).
//   - three-nodes: a bootstrap and two hosts behind cone NATs, each at most
//     60 datagrams a minute in the second minute: settled within 2 minutes.
//
// NATLAB_WRITE_DOC=1 (make natlab-phones) writes the figures into
// docs/android.md.
func TestPacketsPerMinute(t *testing.T) {
	t.Parallel()
	settle, measure := packetWindow()
	var mu sync.Mutex
	var rows []traffic
	keep := func(rs ...traffic) {
		mu.Lock()
		rows = append(rows, rs...)
		mu.Unlock()
	}
	t.Run("group", func(t *testing.T) {
		for _, profile := range []string{"default", "mobile"} {
			t.Run("phone/"+profile, func(t *testing.T) {
				t.Parallel()
				keep(phoneTraffic(t, profile, settle, measure))
			})
		}
		t.Run("three-nodes", func(t *testing.T) {
			t.Parallel()
			keep(threeNodes(t)...)
		})
	})
	sort.Slice(rows, func(i, j int) bool {
		return rows[i].network+rows[i].node+rows[i].profile < rows[j].network+rows[j].node+rows[j].profile
	})
	table := trafficTable(rows)
	t.Logf("datagrams per node, counted by nftables in its namespace:\n%s", table)
	if os.Getenv("NATLAB_WRITE_DOC") != "" {
		if err := writePhonesDoc(table, settle, measure); err != nil {
			t.Fatal(err)
		}
		t.Log("wrote the table into docs/android.md")
	}
	var def, mob *traffic
	for i := range rows {
		switch {
		case rows[i].network == phoneNetwork && rows[i].profile == "default":
			def = &rows[i]
		case rows[i].network == phoneNetwork && rows[i].profile == "mobile":
			mob = &rows[i]
		}
	}
	if def == nil || mob == nil {
		t.Fatal("no figures for both profiles to compare (see the failures above)")
	}
	d, m := def.perMin(def.count.sent), mob.perMin(mob.count.sent)
	if m > 0.4*d {
		t.Errorf("mobile profile: the phone sends %.1f datagrams a minute, the default profile %.1f: %.0f%% of default, want at most 40%% (issue 15)", m, d, 100*m/d)
	} else {
		t.Logf("mobile profile: %.1f datagrams a minute, %.0f%% of the default profile's %.1f", m, 100*m/d, d)
	}
}

// phoneNetwork names the phone's network in the figures.
const phoneNetwork = "phone + 8 peers"

// phoneTraffic measures the phone of a lab like TestHandover's on profile.
func phoneTraffic(t *testing.T, profile string, settle, measure time.Duration) traffic {
	l := newLab(t, topology(Cone, phonePeers...)+" ph:cone", options{carrier: true})
	capPh := counted(t, l, "ph")
	ph, all := startPhone(t, l, "-profile", profile)
	waitAlive(t, time.Until(ph.started.Add(settle)), all...)
	r := measureTraffic(t, phoneNetwork, profile, measure, []*node{ph}, []*capture{capPh})[0]
	// The node's own count, cross-checked: the two are read a moment
	// apart, so a few datagrams may differ.
	if diff := int64(r.count.sent) - int64(r.statusSent); max(diff, -diff) > 5+int64(r.count.sent)/50 {
		t.Errorf("the phone's packets_sent grew by %d while nftables counted %d UDP datagrams leaving its namespace", r.statusSent, r.count.sent)
	}
	w := newWatch(time.Now(), all...)
	if ok, _ := w.until(time.Second, func(w *watch) bool { return w.meshed(all) }); !ok {
		t.Errorf("%s profile: after the measurement the phone and its peers are no full mesh:\n%s", profile, strings.Join(w.missing(all), "\n"))
	}
	return r
}

// threeNodes measures a bootstrap and two cone hosts in their second
// minute: issue 15 asks that such a network settle to at most 60 datagrams
// a minute per node within 2 minutes.
func threeNodes(t *testing.T) []traffic {
	const limit = 60
	l := newLab(t, "boot:public c1:cone c2:cone", options{carrier: true})
	caps := []*capture{counted(t, l, "boot"), counted(t, l, "c1"), counted(t, l, "c2")}
	boot := l.start("boot", "")
	nodes, t0 := l.startGroup([]string{"c1", "c2"}, l.bootAddr("boot"))
	all := append([]*node{boot}, nodes...)
	w := newWatch(t0, all...)
	if ok, _ := w.until(10*time.Second, func(w *watch) bool { return w.meshed(all) }); !ok {
		t.Fatalf("no mesh of three within 10 s:\n%s", strings.Join(w.missing(all), "\n"))
	}
	waitAlive(t, time.Until(t0.Add(time.Minute)), all...)
	rs := measureTraffic(t, "bootstrap + 2 cone", "default", time.Minute, all, caps)
	for _, r := range rs {
		if pm := r.perMin(r.count.sent); pm > limit {
			t.Errorf("%s sends %.1f datagrams a minute in the second minute of a 3-node network, want at most %d", r.node, pm, limit)
		}
	}
	return rs
}

// trafficTable renders the figures as a Markdown table, per node: per
// minute as measured, per hour as it would add up.
func trafficTable(rows []traffic) string {
	var b strings.Builder
	b.WriteString("| network | node | profile | sent / min | received / min | sent / hour | KB / hour (both ways) | longest quiet | wake-ups / hour (5 s quiet) | wake-ups / hour (10 s quiet) | sent / min by kind |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.1f | %.0f | %.0f | %.1f s | %.0f | %.0f | %s |\n", r.network, r.node, r.profile,
			r.perMin(r.count.sent), r.perMin(r.count.recv), r.perHour(r.count.sent), r.perHour(r.count.sentBytes+r.count.recvBytes)/1000,
			r.longest.Seconds(), r.perHour(uint64(r.wake5)), r.perHour(uint64(r.wake10)), r.breakdown())
	}
	return b.String()
}

// Markers around the generated table in docs/android.md.
const (
	phonesBegin = "<!-- natlab-phones:begin (make natlab-phones writes this table) -->"
	phonesEnd   = "<!-- natlab-phones:end -->"
)

// writePhonesDoc replaces the table between the markers of docs/android.md.
func writePhonesDoc(table string, settle, measure time.Duration) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	path := filepath.Join(root, "docs", "android.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	before, rest, ok1 := strings.Cut(string(doc), phonesBegin)
	_, after, ok2 := strings.Cut(rest, phonesEnd)
	if !ok1 || !ok2 {
		return fmt.Errorf("%s: markers %q and %q not found", path, phonesBegin, phonesEnd)
	}
	stamp := fmt.Sprintf("Measured %s by `make natlab-phones` on %s (%d cores): the phone counted over %v after %v of settling, "+
		"the 3-node network over its second minute; routers with 30 s UDP timeouts.\n\n",
		time.Now().UTC().Format("2006-01-02"), cpuModel(), runtime.NumCPU(), measure, settle)
	return os.WriteFile(path, []byte(before+phonesBegin+"\n"+stamp+table+phonesEnd+after), 0o644)
}

// cpuModel returns the machine's CPU, as lscpu's "Model name" says it.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "an unknown CPU"
}
