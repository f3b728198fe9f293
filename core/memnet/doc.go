// Package memnet is an in-memory datagram network with NAT routers, for
// testing peer-to-peer code without sockets.
//
// # Model
//
// A [Network] is made of address realms. The public realm is "the internet":
// it holds the hosts created with [Network.Host] and the public IPs of the NAT
// routers created with [Network.NAT]. Each [NAT] owns one private realm holding
// the hosts created with [NAT.Host]. Realms are independent address spaces:
// 10.0.0.2 behind one NAT and 10.0.0.2 behind another are different hosts.
// NATs are not nested (there is no NAT inside a private realm).
//
// A [Host] binds datagram sockets ([Conn]) with [Host.Listen]. A datagram sent
// by a conn to an address X is routed as follows:
//
//   - From a private realm, if X's IP is a host of the same realm, the
//     datagram stays on the LAN and is delivered to X directly, untranslated.
//   - Otherwise it leaves through the NAT, which finds or creates a mapping
//     for the sender's private address (see [Mapping]) and rewrites the source
//     to the NAT's public IP and the mapping's public port. If X is the NAT's
//     own public IP, the datagram is hairpinned back inside when
//     [NATConfig.Hairpin] is set, and dropped otherwise.
//   - On the internet, X is either a public host's conn, or a NAT's public IP.
//     For a NAT, the datagram is delivered to the private conn of the mapping
//     owning X's port, if that mapping is alive and its [Filtering] rule admits
//     the datagram's (translated) source. Otherwise the NAT drops it.
//
// Receivers always see the translated source address, as in the real world,
// and [Conn.LocalAddr] reports the private address.
//
// # NAT behaviour (RFC 4787)
//
// [Mapping] is RFC 4787 section 4.1: whether the public port chosen for an
// internal socket depends on the remote endpoint. [Filtering] is section 5:
// which remote endpoints may send to a mapping. A filtering permission for a
// remote is created by an outbound datagram to that remote and, like the
// mapping itself, expires after [NATConfig.Timeout] without outbound traffic
// to it (a per-remote "pinhole", as connection-tracking routers do). Inbound
// traffic never refreshes mappings or permissions (RFC 4787 REQ-6 allows
// only outbound refresh to be relied upon). [PortAlloc] chooses public ports.
// The helpers [FullCone], [RestrictedCone], [PortRestrictedCone] and
// [Symmetric] name the classic combinations.
//
// # Timing, loss and determinism
//
// Every datagram is dropped with probability [Config.Loss], once, when sent,
// and otherwise delivered after [Config.Latency] plus a uniform jitter in
// [0, [Config.Jitter]) (a tenth of that on a LAN or hairpin path). Filtering
// is applied when the datagram reaches the destination NAT, so two peers
// punching a hole at the same instant both get through when Latency > 0.
// With a zero delay the datagram is queued at the receiver before WriteTo
// returns. All randomness (loss, jitter, port choice) comes from one
// generator seeded by [Config.Seed], so a given sequence of calls produces
// the same outcome.
//
// # Use with testing/synctest
//
// memnet is built to run inside a [testing/synctest] bubble: it starts no
// goroutine of its own besides the callback of a single delivery timer
// ([time.AfterFunc]), blocks only on channels, and measures time with
// [time.Now], so latencies and NAT timeouts follow the bubble's fake clock.
// Create the Network and its conns inside the bubble that uses them. Once
// every conn is closed, no memnet goroutine is blocked (a pending delivery
// timer may still fire once and return at once); once the Network is closed,
// its timer is stopped too. The package has no global state: networks are
// independent.
package memnet
