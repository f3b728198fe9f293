package core_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
)

// idleCost runs a phone with 8 peers on the default profile (a public
// bootstrap and 7 nodes behind port-restricted cone NATs), lets it settle
// for a minute, and returns the datagrams per minute it sends over the
// next ten, and whether every peer still had it at the end.
func idleCost(t *testing.T, profile func(*core.Config)) (perMin float64, kept bool) {
	n := memnet.New(memnet.Config{Latency: 20 * time.Millisecond, Seed: 7})
	defer n.Close()
	boot := keyed(t, n.Host(ip("198.51.100.1")), nil)
	peers := []*core.Overlay{boot}
	for i := range 7 {
		nat := n.NAT(memnet.PortRestrictedCone(netip.AddrFrom4([4]byte{203, 0, byte(10 + i), 1})))
		peers = append(peers, keyed(t, nat.Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()}))
	}
	phone := keyed(t, n.NAT(memnet.PortRestrictedCone(ip("203.0.201.1"))).Host(ip("10.0.0.2")), []netip.AddrPort{boot.LAN()}, profile)
	time.Sleep(time.Minute)
	p0 := phone.Status().PacketsSent
	time.Sleep(10 * time.Minute)
	perMin = float64(phone.Status().PacketsSent-p0) / 10
	kept = len(phone.VerifiedPeers()) == 8
	for _, p := range peers {
		kept = kept && authenticated(p, phone)
	}
	return perMin, kept
}

// mobile applies MobileConfig's walk settings to a test node's config.
func mobile(c *core.Config) {
	m := core.MobileConfig()
	c.WalkInterval, c.MaxPeers, c.KeepAlive, c.PeerTimeout, c.BeaconInterval, c.Quiet =
		m.WalkInterval, m.MaxPeers, m.KeepAlive, m.PeerTimeout, m.BeaconInterval, m.Quiet
}

// A phone on the mobile profile, idle with 8 peers on the default profile,
// sends at most 40% of what it sends on the default profile, and keeps
// every peer. Before the quiet mode it sent about as much (its peers
// walked to it and it introduced them to each other; it answered every
// keep-alive; it rekeyed half its sessions, with tokens often too old).
func TestQuietPhoneIdleCost(t *testing.T) {
	var def, mob float64
	for _, c := range []struct {
		name    string
		profile func(*core.Config)
		rate    *float64
	}{{"default", func(*core.Config) {}, &def}, {"mobile", mobile, &mob}} {
		synctest.Test(t, func(t *testing.T) {
			var kept bool
			*c.rate, kept = idleCost(t, c.profile)
			if !kept {
				t.Errorf("%s profile: the phone lost peers while idle", c.name)
			}
		})
	}
	t.Logf("idle with 8 peers: default %.1f datagrams/min, mobile %.1f (%.0f%%)", def, mob, 100*mob/def)
	if mob > 0.4*def {
		t.Errorf("mobile sends %.1f datagrams/min, default %.1f: want at most 40%%", mob, def)
	}
}
