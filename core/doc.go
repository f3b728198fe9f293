// Package core is the walkie overlay: one Overlay per node walks the network,
// punctures NATs for its peers, votes on its own public (WAN) address and keeps
// a bounded table of verified peers.
//
// The moving parts, each in its own file:
//
//   - transport.go, udp.go: the Transport seam (netip.AddrPort in and out) and
//     its UDP implementation; core/memnet is the in-memory one used in tests.
//   - reader.go: one goroutine per transport that only parses the fixed header,
//     applies a per-source rate limit and queues the packet. It never blocks
//     on the worker: a full queue drops the packet and counts it.
//   - overlay.go, walker.go, handle.go: a single worker goroutine owns all
//     state (peer table, outstanding requests, votes) and runs the walk.
//   - token.go: stateless return-routability tokens (keyed MAC over address
//     and time bucket).
//   - vote.go: WAN address voting and NAT classification.
//   - peers.go: the peer table.
//   - dispatch.go: the communities (Config.Communities). Each gets its own
//     bounded queue and goroutine, an Env to send with, and only messages of
//     its declared types and sizes from verified members.
//
// The protocol, in the lineage of Tribler's Dispersy: A sends an introduction
// request to B; B answers with a few peers it knows and one invitee C, and
// sends C a puncture request naming A; C sends A a puncture, which opens C's
// NAT for A. A sends C an introduction request at the same moment, which
// opens A's NAT for C. What walkie adds: tokens so that a spoofed request
// can never turn a node into an amplifier, responses accepted only for
// outstanding requests, punctures only from announced invitees, a WAN vote
// that one liar cannot flip, and an immediate first request to every
// bootstrap address.
package core
