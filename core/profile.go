package core

import "time"

// MobileConfig returns the configuration for a phone: the radio and the
// battery pay for every packet, so once the table is healthy the node walks
// once a minute instead of every 5 s, keeps at most 16 peers (every peer
// costs keep-alives, ours and its own), and sends keep-alives at 25 s, just inside the ~30 s
// that carrier NATs keep an idle UDP mapping. A keep-alive is skipped for a
// peer that already heard from us (our answers to its requests count), so
// two mobile peers share one exchange per period. While the table is small
// it walks every 500 ms like any node: finding peers fast is what makes the
// app feel alive.
func MobileConfig() Config {
	c := DefaultConfig()
	c.WalkInterval = time.Minute
	c.MaxPeers = 16
	c.KeepAlive = 25 * time.Second
	c.PeerTimeout = 75 * time.Second // three missed keep-alives
	c.BeaconInterval = 30 * time.Second
	c.Quiet = true
	return c
}
