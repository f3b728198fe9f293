package core_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// sent sums the datagrams a node sent, by the counters.
func sent(o *core.Overlay) uint64 {
	s := stats(o)
	return s.Count(core.IntroRequestsSent) + s.Count(core.IntroResponsesSent) +
		s.Count(core.PunctureRequestsSent) + s.Count(core.PuncturesSent)
}

// TestMobileProfileSendsLess: in a 30-node network, a node on the mobile
// profile sends far fewer packets per minute in steady state than one on
// the default profile, and still keeps at least 8 peers.
func TestMobileProfileSendsLess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New(memnet.Config{Latency: 40 * time.Millisecond, Seed: 7})
		defer n.Close()
		boot := node(t, n.Host(ip("198.51.100.1")), nil)
		bs := []netip.AddrPort{boot.LAN()}
		for i := range 28 {
			nat := n.NAT(memnet.PortRestrictedCone(netip.AddrFrom4([4]byte{203, 0, byte(10 + i), 1}))) // one network each, as on the internet
			node(t, nat.Host(ip("10.0.0.2")), bs)
		}
		desk := node(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.200.1"))).Host(ip("10.0.0.2")), bs)
		phone := node(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.201.1"))).Host(ip("10.0.0.2")), bs, mobile)
		time.Sleep(5 * time.Minute) // settle
		d0, p0 := sent(desk), sent(phone)
		time.Sleep(10 * time.Minute)
		dRate, pRate := float64(sent(desk)-d0)/10, float64(sent(phone)-p0)/10
		t.Logf("steady state: default profile %.1f packets/min, mobile %.1f packets/min (%.0f/hour); peers %d and %d",
			dRate, pRate, 60*pRate, len(desk.VerifiedPeers()), len(phone.VerifiedPeers()))
		if st := phone.Status(); float64(st.PacketsPerMin) > 1.5*pRate || float64(st.PacketsPerMin) < pRate/1.5 {
			t.Errorf("/status says %d packets/min, the counters %.1f", st.PacketsPerMin, pRate)
		}
		if pRate > 0.4*dRate {
			t.Errorf("mobile sends %.1f packets/min, default %.1f: want at most 40%%", pRate, dRate)
		}
		if k := len(phone.VerifiedPeers()); k < 8 || k > 16 {
			t.Errorf("mobile node has %d peers, want 8..16", k)
		}
	})
}
