// Package proto is walkie's wire format: the fixed header in front of every
// datagram and the msgpack bodies of the core overlay messages.
//
// The package is pure: it does no I/O, starts no goroutines and keeps no
// mutable state, so the core can call it from any goroutine. Decoders never
// panic, check every length and count against its maximum before allocating,
// and never retain the input slice (the reader reuses its buffers).
//
// # Header
//
// Every datagram starts with a 43-byte (IPv4 destination) or 55-byte (IPv6
// destination) header; all integers are big endian:
//
//	 0       1       2       3       4                              20
//	+-------+-------+-------+-------+-------------- ... -----------+
//	|  'W'  |  'K'  |version| type  |     community ID (16 bytes)  |
//	| 0x57  | 0x4B  |  0x01 |       |                              |
//	+-------+-------+-------+-------+-------------- ... -----------+
//	20                             36      37
//	+-------------- ... -----------+-------+------- ... -------+---------+
//	|   sender peer ID (16 bytes)  |family | dest address      |dest port|
//	|                              | 4 / 6 | 4 or 16 bytes     | 2 bytes |
//	+-------------- ... -----------+-------+------- ... -------+---------+
//	                                        37                 41|53     43|55
//
// The magic rejects stray traffic cheaply; the version lets a future format
// coexist; the community scopes the type (each community has its own type
// space, and the core overlay uses [CoreCommunity]); the sender ID names the
// peer without a handshake; and the destination is the receiver's address
// as the sender sees it, which the receiver counts as a vote for its public
// (WAN) address.
//
// # Body
//
// The body is a msgpack map with small unsigned integer keys. Keys share one
// space across messages (1 nonce, 2 lan, 3 token, 4 communities, 5 peers,
// 6 invitee, 7 target), so a key means the same thing wherever it appears.
// Unknown keys are skipped, which lets newer peers add fields; a known key
// given twice is an error. Bytes after the map are ignored, which is what
// makes [Pad] invisible. docs/protocol.md describes every message and has
// golden vectors for each.
//
// The bodies of other communities are opaque to the core. [CheckMsgpack]
// is the reader's walk made public for them: it bounds every declared
// length by the bytes left, so that a general msgpack decoder can read the
// body afterwards (community.Decode does both).
package proto
