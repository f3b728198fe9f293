// Package seed is the wire format of walkie's ancestor, the 2016 Android
// prototype "app-to-app-communicator" (the seed app): one bencoded dict per
// UDP datagram, with string keys such as "type", "peer_id" and
// "destination". It decodes the seed's four messages into Go values and
// encodes walkie's answers so that an unmodified seed takes them.
//
// The package is pure: no I/O, no goroutines, no package state. The core
// uses it to speak to seed phones on walkie's own socket ([IsSeed] tells
// the two protocols apart by their first byte; core/seed.go).
//
// # Two decoders
//
// [Decode] is walkie's reader, bounded where the seed's is not: at most
// [MaxDatagram] bytes, every length and count checked against its maximum
// and against the bytes left before anything is allocated, nesting at most
// [MaxDepth] deep, integers 64-bit with overflow refused. It is lenient
// where the seed's encoder is non-canonical (dict keys come in Java HashMap
// order, so any order is accepted) and strict where that costs a seed
// nothing (duplicate keys, trailing bytes and non-canonical numbers are
// refused; the seed never writes them). Every error is one of a few
// sentinels, and [Reason] maps it to a fixed label for drop counting.
//
// [Check] is a model of the seed's own decoder, for what walkie sends. That
// decoder dies or spins on inputs that are easy to produce by accident: a
// missing required key, a value of the wrong type, a byte of 0x80 or more
// where it expects a digit or a letter, or a string whose declared length
// runs past the datagram's end. [Append] writes only datagrams that Check
// accepts, keys in the very order the seed's own encoder writes them, so
// that walkie's bytes are the seed's bytes for the same message; a test
// holds every encoder output to Check. docs/protocol.md ("The seed
// protocol") describes the format byte by byte, with golden datagrams made
// by the seed's own encoder.
package seed
