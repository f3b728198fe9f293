package seed

// Wire limits. The seed set none of its own beyond its buffers; these bound
// what walkie reads and writes, and every one is far above what a seed sends.
const (
	// Port is the seed's UDP port, which walkie's default listen port
	// shares.
	Port = 1873

	// MaxDatagram is the seed's receive and send buffer. A longer datagram
	// reaches it cut to this length, and a cut inside a string makes it
	// spin, so walkie never sends more and refuses more.
	MaxDatagram = 2048

	// MaxDepth bounds nesting: the seed's deepest value is an address dict
	// in the pex list in the message dict (3); one more level is left for
	// unknown values.
	MaxDepth = 4

	// MaxKeys bounds the keys of one dict, known and unknown; the seed's
	// largest has 8.
	MaxKeys = 16

	// MaxString bounds any string, key or value, read or skipped.
	MaxString = 256

	// MaxOperator bounds network_operator, a carrier name such as
	// "T-Mobile" (UTF-8 bytes).
	MaxOperator = 64

	// MaxPex bounds the pex list, and any list. A seed lists the peers it
	// heard from, of at most about 30 it keeps.
	MaxPex = 32

	// maxKey bounds a dict key; the longest the seed uses,
	// "network_operator", has 16 bytes.
	maxKey = 32

	// maxIntDigits is the most digits an int64 needs; 19 digits never
	// overflow a uint64, so the accumulator is checked once at the end.
	maxIntDigits = 19
)
