package seed

// A model of the seed's decoder, to hold what walkie sends to it. The seed
// reads a datagram through a hand-written InputStream over its receive
// buffer and a bencode library (com.hypirion:bencode 0.1.0) behind a
// PushbackInputStream, then casts the values it wants out of a HashMap.
// Four of its habits decide whether it survives a datagram:
//
//   - its stream returns each byte as a signed Java byte, so 0x80..0xfe
//     read as negative numbers and 0xff as -1, the end of the stream;
//   - the library's error messages format the byte they choke on with
//     "%c", which throws an unchecked exception for a negative number;
//   - the library reads a string's bytes until it has them all, and the
//     stream answers 0, never -1, once the buffer is empty;
//   - the listener catches only the library's checked exceptions and its
//     own MessageException: a ClassCastException, a NullPointerException
//     or an IllegalArgumentException from a cast or an address ends it.
//
// The model follows the library's reads byte for byte and the message
// classes' casts in their order. It also notes what the seed would take
// but walkie never sends, so that Check holds walkie to its own profile.

import (
	"errors"
	"math"
	"unicode/utf8"
)

// Verdicts of [Check].
var (
	ErrWouldKill    = errors.New("seed: the seed's listener would die on this datagram")
	ErrWouldHang    = errors.New("seed: the seed's listener would spin forever on this datagram")
	ErrWouldDrop    = errors.New("seed: the seed would drop this datagram")
	ErrOutOfProfile = errors.New("seed: outside what walkie sends, though the seed may take it")
)

// Check reports what the seed's decoder would do with the datagram b. It
// returns nil if the seed decodes and handles b and b is within what walkie
// sends; ErrWouldKill if b would end the seed's listen thread (that phone
// hears nothing until restarted); ErrWouldHang if the seed would spin
// forever reading it; ErrWouldDrop if the seed would drop it unread (no
// harm, but a datagram walkie sends is meant to be read); ErrOutOfProfile
// if the seed may take it but walkie never sends such bytes: trailing
// bytes, duplicate or unknown keys, non-canonical numbers, missing
// "peer_id" or "network_operator", names instead of dotted quads (the seed
// would look them up on its listen thread), port 0, values over this
// package's limits. Every datagram [Append] writes passes. Check allocates,
// in proportion to len(b); it is for tests and for what walkie sends, not
// for the receive path.
func Check(b []byte) error {
	if len(b) > MaxDatagram {
		// The seed receives the first MaxDatagram bytes and loses the rest.
		if err := Check(b[:MaxDatagram]); err != nil && err != ErrOutOfProfile {
			return err
		}
		return ErrOutOfProfile
	}
	j := jreader{b: b, pb: -1}
	d, err := j.readDict(1)
	if err != nil {
		return err
	}
	if j.off != len(b) {
		j.odd = true // read no further: ignored by the seed
	}
	c := checker{odd: j.odd}
	if err := c.message(d); err != nil {
		return err
	}
	if c.odd {
		return ErrOutOfProfile
	}
	return nil
}

// jreader reads bencode as the seed does, into the values the library
// makes: int64 (Long), string (String), []any (ArrayList) and
// map[string]any (HashMap).
type jreader struct {
	b   []byte
	off int
	pb  int  // the byte pushed back (0..255), or -1
	odd bool // outside walkie's profile, though the seed reads on
}

// read is PushbackInputStream.read over the seed's stream: a pushed-back
// byte comes back unsigned, a fresh one signed, and -1 at the end.
func (j *jreader) read() int {
	if j.pb >= 0 {
		v := j.pb
		j.pb = -1
		return v
	}
	if j.off >= len(j.b) {
		return -1
	}
	v := int(int8(j.b[j.off]))
	j.off++
	return v
}

// forceRead throws EOFException at the end: an IOException, which the
// seed catches.
func (j *jreader) forceRead() (int, error) {
	v := j.read()
	if v == -1 {
		return 0, ErrWouldDrop
	}
	return v, nil
}

func (j *jreader) peek() (int, error) {
	v, err := j.forceRead()
	if err == nil {
		j.pb = v & 0xff // unread keeps the low 8 bits
	}
	return v, err
}

// complain is BencodeReadException("... '%c'", c): caught, unless c is
// negative, which "%c" refuses with an unchecked exception.
func complain(c int) error {
	if c < 0 {
		return ErrWouldKill
	}
	return ErrWouldDrop
}

// value is the library's read(): null at the end of the stream, which its
// callers turn into EOFException.
func (j *jreader) value(depth int) (any, error) {
	t := j.read()
	if t == -1 {
		return nil, ErrWouldDrop
	}
	j.pb = t & 0xff
	switch t {
	case 'i':
		return j.readLong()
	case 'l':
		return j.readList(depth)
	case 'd':
		return j.readDict(depth)
	}
	return j.readString()
}

// digits tracks a number's digits for the profile: canonical, within max.
type digits struct {
	n    int
	zero bool   // the first digit is 0
	mag  uint64 // saturates above max
}

func (d *digits) add(c int, max uint64) {
	if d.n == 0 && c == '0' {
		d.zero = true
	}
	d.n++
	if d.mag > max/10 {
		d.mag = max + 1 // over max, for good
		return
	}
	d.mag = d.mag*10 + uint64(c-'0') // at most max+9: no overflow for max <= 1<<63
}

func (d *digits) canonical(neg bool, max uint64) bool {
	return !(d.zero && (d.n > 1 || neg)) && d.mag <= max
}

func (j *jreader) readLong() (int64, error) {
	if c, err := j.forceRead(); err != nil {
		return 0, err
	} else if c != 'i' {
		return 0, complain(c)
	}
	var (
		v   int64 // wraps as Java's long does
		neg bool
		d   digits
	)
	for {
		c, err := j.forceRead()
		switch {
		case err != nil:
			return 0, err
		case c == '-' && !neg && d.n == 0:
			neg = true
		case c >= '0' && c <= '9':
			v = v*10 + int64(c-'0')
			d.add(c, math.MaxInt64+1)
		case c == 'e' && d.n > 0:
			limit := uint64(math.MaxInt64)
			if neg {
				limit++ // -(1<<63) is an int64 too
			}
			if !d.canonical(neg, limit) {
				j.odd = true
			}
			if neg {
				v = -v
			}
			return v, nil
		case c == 'e':
			return 0, ErrWouldDrop // no digit: a message without "%c"
		default:
			return 0, complain(c)
		}
	}
}

// readLen reads a string's length as the library does, into a Java int.
func (j *jreader) readLen() (int32, error) {
	var (
		v int32
		d digits
	)
	for {
		c, err := j.forceRead()
		switch {
		case err != nil:
			return 0, err
		case c >= '0' && c <= '9':
			v = v*10 + int32(c-'0')
			d.add(c, MaxString)
		case c == ':' && d.n > 0:
			if !d.canonical(false, MaxString) {
				j.odd = true
			}
			return v, nil
		case c == ':':
			return 0, ErrWouldDrop
		default:
			return 0, complain(c)
		}
	}
}

func (j *jreader) readString() (string, error) {
	n, err := j.readLen()
	switch {
	case err != nil:
		return "", err
	case n < 0:
		return "", ErrWouldKill // new byte[n]: NegativeArraySizeException
	case n == 0:
		return "", nil
	}
	// The library reads until it has n bytes; past the end the stream
	// answers 0 bytes, forever. (A length too large to allocate kills the
	// seed instead; either way it is lost.)
	have := len(j.b) - j.off
	if j.pb >= 0 {
		have++
	}
	if int(n) > have {
		return "", ErrWouldHang
	}
	s := make([]byte, 0, n)
	if j.pb >= 0 {
		s = append(s, byte(j.pb))
		j.pb = -1
	}
	rest := int(n) - len(s)
	s = append(s, j.b[j.off:j.off+rest]...)
	j.off += rest
	if !utf8.Valid(s) {
		j.odd = true // Java would read U+FFFD
	}
	return string(s), nil
}

func (j *jreader) readList(depth int) ([]any, error) {
	if depth > MaxDepth {
		return nil, ErrOutOfProfile // the seed recurses without bound; walkie never nests deeper
	}
	if c, err := j.forceRead(); err != nil {
		return nil, err
	} else if c != 'l' {
		return nil, complain(c)
	}
	var l []any
	for {
		if c, err := j.peek(); err != nil {
			return nil, err
		} else if c == 'e' {
			break
		}
		v, err := j.value(depth + 1)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	j.pb = -1 // the 'e'
	if len(l) > MaxPex {
		j.odd = true
	}
	return l, nil
}

func (j *jreader) readDict(depth int) (map[string]any, error) {
	if depth > MaxDepth {
		return nil, ErrOutOfProfile
	}
	if c, err := j.forceRead(); err != nil {
		return nil, err
	} else if c != 'd' {
		return nil, complain(c)
	}
	d := map[string]any{}
	for {
		if c, err := j.peek(); err != nil {
			return nil, err
		} else if c == 'e' {
			break
		}
		k, err := j.readString()
		if err != nil {
			return nil, err
		}
		v, err := j.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, dup := d[k]; dup {
			j.odd = true // the HashMap keeps the last
		}
		d[k] = v
	}
	j.pb = -1 // the 'e'
	return d, nil
}
