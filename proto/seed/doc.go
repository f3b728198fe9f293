// Package seed is the wire format of walkie's ancestor, the 2016 Android
// prototype "app-to-app-communicator" (the seed app): one bencoded dict per
// UDP datagram, with string keys such as "type", "peer_id" and
// "destination".
//
// The package is pure: no I/O, no goroutines, no package state. Its reader
// is bounded where the seed's own is not: at most [MaxDatagram] bytes,
// every length and count checked against its maximum and against the bytes
// left before anything is allocated, nesting at most [MaxDepth] deep,
// integers 64-bit with overflow refused. Every error is one of a few
// sentinels, and [Reason] maps it to a fixed label for drop counting.
package seed
