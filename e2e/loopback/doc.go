// Package loopback holds end-to-end tests of the real walkie binary on the
// loopback network: its TestMain builds ./cmd/node once, and each test starts
// real processes on 127.0.0.1 to 127.0.0.5 (on Linux the whole of 127/8 is
// loopback) and talks to them through their flags, signals, stderr and
// GET /status, as a user would.
//
// TestMedianFirstPeer and TestRSSWith256Peers are measurements, not tests:
// they are built only with -tags measure (make measure).
package loopback
