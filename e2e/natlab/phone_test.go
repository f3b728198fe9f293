//go:build natlab

package natlab

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The phone scenarios (issue 15, "Phones in motion") run with carrier-like
// routers: every router forgets an idle UDP mapping after 30 s
// (options.carrier), as mobile carriers' NATs do, so a node keeps its
// mappings only by its own keep-alives.

// phoneListen is the phone's -listen: every address, as a phone binds,
// since its address changes when it moves; a socket bound to one address
// could not follow it.
const phoneListen = "0.0.0.0:1873"

// phonePeers are the phone's peers besides the public bootstrap: seven
// hosts behind cone NATs, so that it has 8.
var phonePeers = names("c", 7)

// startPhone starts the bootstrap, the seven cone hosts and then the phone
// ("ph", with extra node flags) of a lab built from topology(Cone,
// phonePeers...) plus a phone site, and fails unless all nine are a full
// mesh, WAN addresses right, within 10 s. It returns the phone and all nine.
func startPhone(t *testing.T, l *lab, flags ...string) (*node, []*node) {
	t.Helper()
	boot := l.start("boot", "")
	peers, _ := l.startGroup(phonePeers, l.bootAddr("boot"))
	ph := l.launchWith("ph", "", runner{listen: phoneListen, args: flags}, l.bootAddr("boot"))
	ph.waitReady(t)
	all := append(append([]*node{boot}, peers...), ph)
	w := newWatch(ph.started, all...)
	ok, at := w.until(10*time.Second, func(w *watch) bool { return w.meshed(all) && len(w.wanProblems(all)) == 0 })
	if !ok {
		t.Fatalf("the phone and its 8 peers are no full mesh 10 s after its start:\n%s",
			strings.Join(append(w.missing(all), w.wanProblems(all)...), "\n"))
	}
	t.Logf("phone (%s) in a full mesh with its 8 peers %.2fs after its start", strings.Join(flags, " "), at.Seconds())
	return ph, all
}

// replug moves host name from its router's LAN to router to's, as a phone
// moves from one network to another: its veth is deleted (link, address
// and routes go at once) and a new one from to's router takes its place,
// with the next free address of that LAN and a default route through it.
// The old router stays, unreachable from the host. The host keeps the port
// of its node on the new router (nobody else there sends from it).
func (l *lab) replug(name, to string) error {
	s, dst := l.byName[name], l.byName[to]
	if err := ip("-n", s.router, "link", "del", s.port); err != nil {
		return err
	}
	lan, lan6 := l.freeAddrs(dst)
	s.router, s.kind, s.public, s.gw, s.gw6, s.wan6 = dst.router, dst.kind, dst.public, dst.gw, dst.gw6, dst.wan6
	s.lan, s.lan6, s.shared = lan, lan6, 0
	return plug(s, "m-"+name)
}

// TestHandover: a phone behind cone router A, in a full mesh with 8 peers
// (a public bootstrap and seven cone hosts, on the default profile), idle
// for 35 s (longer than the routers' 30 s UDP timeout: only what the
// keep-alives refresh is left), moves to cone router B: its link is
// re-plugged, with a new LAN address and default route. It must notice by
// itself (cmd/node checks its route every second). Within 5 s of the move,
// its /status has lan = its new address and wan = router B's public
// address and port, it has heard from all 8 peers since the move, and all
// 8 list it, verified and authenticated, at its new address. Run with the
// phone on the default and on the mobile profile.
func TestHandover(t *testing.T) {
	t.Parallel()
	for _, profile := range []string{"default", "mobile"} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			handover(t, profile)
		})
	}
}

// handoverIdle is how long the phone rests in its first network.
const handoverIdle = 35 * time.Second

// handoverLimit is how long after the move the phone may take.
const handoverLimit = 5 * time.Second

// handover runs TestHandover with the phone on profile.
func handover(t *testing.T, profile string) {
	l := newLab(t, topology(Cone, phonePeers...)+" ph:cone rb:cone", options{carrier: true})
	if err := countUDP(l.byName["ph"].host); err != nil { // what the move costs the phone
		t.Fatal(err)
	}
	ph, all := startPhone(t, l, "-profile", profile)
	peers := all[:len(all)-1]

	// Idle, and still a mesh after it: the keep-alives beat the carrier
	// timeout.
	rested := time.Now().Add(handoverIdle)
	waitAlive(t, time.Until(rested), all...)
	w := newWatch(time.Now(), all...)
	if ok, _ := w.until(time.Second, func(w *watch) bool { return w.meshed(all) }); !ok {
		t.Fatalf("after %v idle with 30 s router timeouts the mesh broke:\n%s", handoverIdle, strings.Join(w.missing(all), "\n"))
	}

	oldLAN, oldWAN := ph.site.listen(), ph.site.wantWAN()
	unplugged := time.Now()
	if err := l.replug("ph", "rb"); err != nil {
		t.Fatal(err)
	}
	moved := time.Now()
	before, err := readCount(ph.site.host)
	if err != nil {
		t.Fatal(err)
	}
	newLAN, newWAN := ph.site.listen(), ph.site.wantWAN()
	t.Logf("moved the phone from %s (WAN %s) to %s (WAN %s); re-plugging took %v", oldLAN, oldWAN, newLAN, newWAN, moved.Sub(unplugged).Round(time.Millisecond))

	// Three conditions, each timed: the phone knows its new addresses, it
	// has heard from every peer since the move, every peer has it at its
	// new address.
	since := func(s *status, id string) bool {
		for _, p := range s.Peers {
			if p.ID == id {
				return time.Duration(p.LastSeenMS)*time.Millisecond < time.Since(moved)
			}
		}
		return false
	}
	conds := []struct {
		name     string
		problems func(w *watch) []string
	}{
		{"phone's lan and wan", func(w *watch) []string {
			s := w.last[ph]
			if s == nil {
				return []string{"ph: no /status"}
			}
			if s.LAN != newLAN.String() || s.WAN != newWAN.String() {
				return []string{fmt.Sprintf("ph: lan=%q wan=%q nat=%q, want lan=%q wan=%q", s.LAN, s.WAN, s.NAT, newLAN, newWAN)}
			}
			return nil
		}},
		{"phone heard from its 8 peers", func(w *watch) []string {
			var out []string
			for _, p := range peers {
				if s := w.last[ph]; s == nil || !reaches(s, ph, p) || !since(s, p.peerID) {
					out = append(out, "ph has not heard from "+p.site.name+" since the move")
				}
			}
			return out
		}},
		{"8 peers have it at its new address", func(w *watch) []string {
			var out []string
			for _, p := range peers {
				if s := w.last[p]; s == nil || !reaches(s, p, ph) {
					out = append(out, w.missing([]*node{p, ph})...)
				}
			}
			return out
		}},
	}
	okAt := make([]time.Duration, len(conds))
	w = newWatch(moved, all...)
	ok, _ := w.until(handoverLimit, func(w *watch) bool {
		done := true
		for i, c := range conds {
			if okAt[i] == 0 && len(c.problems(w)) == 0 {
				okAt[i] = time.Since(moved)
			}
			done = done && okAt[i] != 0
		}
		return done
	})
	if s := w.last[ph]; s != nil {
		t.Logf("phone /status at the end: lan=%s wan=%s nat=%s", s.LAN, s.WAN, s.NAT)
	}
	var problems []string
	for i, c := range conds {
		if okAt[i] != 0 {
			t.Logf("%s profile: %s %.2fs after the move", profile, c.name, okAt[i].Seconds())
		} else {
			problems = append(problems, c.problems(w)...)
		}
	}
	if !ok {
		t.Fatalf("%s profile: the phone is not back %v after its move:\n%s", profile, handoverLimit, strings.Join(problems, "\n"))
	}
	done := slices.Max(okAt)
	after, err := readCount(ph.site.host)
	if err != nil {
		t.Fatal(err)
	}
	c := after.minus(before)
	t.Logf("%s profile: handover complete %.2fs after the move (%.2fs after the unplug); the phone sent %d datagrams (%d bytes) and received %d meanwhile",
		profile, done.Seconds(), (done + moved.Sub(unplugged)).Seconds(), c.sent, c.sentBytes, c.recv)
}

// waitAlive waits d, and fails if any of nodes exits meanwhile.
func waitAlive(t *testing.T, d time.Duration, nodes ...*node) {
	t.Helper()
	end := time.After(d)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-end:
			return
		case <-tick.C:
			for _, n := range nodes {
				select {
				case <-n.exited:
					t.Fatalf("%s exited (%v); log:\n%s", n.site.name, n.cmd.ProcessState, n.tail(25))
				default:
				}
			}
		}
	}
}
