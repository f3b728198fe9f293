// Package core is the walkie overlay: one Overlay per node walks the network,
// punctures NATs for its peers, votes on its own public (WAN) address and keeps
// a bounded table of verified peers.
//
// One goroutine, the worker, owns all protocol state and is the only writer
// to the sockets; the Overlay composes it from components that each keep
// their own state, in files of their own. A packet's way reads in one
// direction:
//
//   - reader.go, handoff.go (inbound): one goroutine per socket parses only
//     the fixed header, applies a per-source rate limit and queues the
//     packet, for the worker or for its community. It never waits: a full
//     queue drops the packet and counts it.
//   - overlay.go (the worker): takes what is queued, runs the walk timer,
//     publishes a view for everyone else (view.go), and ends each batch with
//     one batched write.
//   - handle.go, walker.go: the protocol: what the worker does with a core
//     packet, and the walk.
//   - peers.go (peer table), vote.go (WAN address and NAT type), token.go
//     (stateless return-routability tokens), punch.go and nathint.go (port
//     prediction): the components the protocol consults.
//   - sender.go: the one writer: encoding, batches (sendmmsg), and the probe
//     sockets kept as routes.
//   - dispatch.go (communities): each community has a bounded queue and a
//     goroutine for its inbound messages, which it checks against the view,
//     and a bounded queue for what Env.Send asks to send, which the worker
//     writes with its own datagrams.
//   - transport.go, transport_linux.go: the Transport seam (netip.AddrPort
//     in and out) and its UDP implementation; core/memnet is the in-memory
//     one used in tests.
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
