package proto

// A tiny msgpack subset, written by hand: appending allocates nothing, and
// the reader checks every length against its maximum and against the bytes
// left before it touches them. (msgpack.Decoder.Skip preallocates up to
// 1 MiB for a bin32 that claims 4 GiB, which is the allocation a hostile
// datagram must not be able to cause.) CheckMsgpack lends the reader's walk
// to the bodies of communities, which a general decoder reads. The format is
// the msgpack spec's: https://github.com/msgpack/msgpack/blob/master/spec.md

// msgpack format codes.
const (
	mpFixMap   = 0x80 // 0x80-0x8f: map of up to 15 entries
	mpFixArray = 0x90 // 0x90-0x9f: array of up to 15 values
	mpNil      = 0xc0
	mpBin8     = 0xc4
	mpBin16    = 0xc5
	mpBin32    = 0xc6
	mpUint8    = 0xcc
	mpUint16   = 0xcd
	mpUint32   = 0xce
	mpUint64   = 0xcf
	mpInt8     = 0xd0
	mpInt64    = 0xd3
	mpArray16  = 0xdc
	mpArray32  = 0xdd
	mpMap16    = 0xde
	mpMap32    = 0xdf
)

// appendMapLen appends a map header; walkie's maps have at most 15 entries.
func appendMapLen(b []byte, n int) []byte { return append(b, mpFixMap|byte(n)) }

// appendArrayLen appends an array header for n < 65536.
func appendArrayLen(b []byte, n int) []byte {
	if n < 16 {
		return append(b, mpFixArray|byte(n))
	}
	return append(b, mpArray16, byte(n>>8), byte(n))
}

// appendUint appends v in its shortest msgpack form, as msgpack encoders do.
func appendUint(b []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(b, byte(v))
	case v <= 0xff:
		return append(b, mpUint8, byte(v))
	case v <= 0xffff:
		return append(b, mpUint16, byte(v>>8), byte(v))
	case v <= 0xffffffff:
		return append(b, mpUint32, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(b, mpUint64, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// appendBin appends p as a msgpack bin for len(p) < 65536.
func appendBin(b []byte, p []byte) []byte {
	if len(p) < 256 {
		b = append(b, mpBin8, byte(len(p)))
	} else {
		b = append(b, mpBin16, byte(len(p)>>8), byte(len(p)))
	}
	return append(b, p...)
}

// reader reads msgpack values from a body without copying or allocating.
type reader struct {
	b     []byte
	off   int
	noExt bool // skip refuses extension values (see CheckMsgpack)
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) next() (byte, error) {
	if r.off >= len(r.b) {
		return 0, ErrShort
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) peek() (byte, error) {
	if r.off >= len(r.b) {
		return 0, ErrShort
	}
	return r.b[r.off], nil
}

// be reads an n-byte big-endian unsigned integer, n <= 8.
func (r *reader) be(n int) (uint64, error) {
	if r.left() < n {
		return 0, ErrShort
	}
	var v uint64
	for _, c := range r.b[r.off : r.off+n] {
		v = v<<8 | uint64(c)
	}
	r.off += n
	return v, nil
}

// count checks a length read off the wire: over limit is ErrLimit, and more
// than the bytes left can hold (each item takes at least minSize bytes) is
// ErrShort. Both are checked before the caller allocates anything.
func (r *reader) count(n uint64, limit, minSize int) (int, error) {
	if n > uint64(limit) {
		return 0, ErrLimit
	}
	if n*uint64(minSize) > uint64(r.left()) {
		return 0, ErrShort
	}
	return int(n), nil
}

// mapLen reads a map header of at most limit entries.
func (r *reader) mapLen(limit int) (int, error) {
	c, err := r.next()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c&0xf0 == mpFixMap:
		n = uint64(c & 0x0f)
	case c == mpMap16:
		n, err = r.be(2)
	case c == mpMap32:
		n, err = r.be(4)
	default:
		return 0, ErrBadBody
	}
	if err != nil {
		return 0, err
	}
	return r.count(n, limit, 2)
}

// arrayLen reads an array header of at most limit values, each at least
// minSize bytes long.
func (r *reader) arrayLen(limit, minSize int) (int, error) {
	c, err := r.next()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c&0xf0 == mpFixArray:
		n = uint64(c & 0x0f)
	case c == mpArray16:
		n, err = r.be(2)
	case c == mpArray32:
		n, err = r.be(4)
	default:
		return 0, ErrBadBody
	}
	if err != nil {
		return 0, err
	}
	return r.count(n, limit, minSize)
}

// bin reads a bin of at most limit bytes and returns it without copying:
// the caller copies what it keeps.
func (r *reader) bin(limit int) ([]byte, error) {
	c, err := r.next()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch c {
	case mpBin8:
		n, err = r.be(1)
	case mpBin16:
		n, err = r.be(2)
	case mpBin32:
		n, err = r.be(4)
	default:
		return nil, ErrBadBody
	}
	if err != nil {
		return nil, err
	}
	l, err := r.count(n, limit, 1)
	if err != nil {
		return nil, err
	}
	p := r.b[r.off : r.off+l : r.off+l]
	r.off += l
	return p, nil
}

// isInt reports whether c starts an integer.
func isInt(c byte) bool {
	return c < 0x80 || c >= 0xe0 || (c >= mpUint8 && c <= mpInt64)
}

// integer reads an integer in any msgpack form, since other encoders may
// pick a signed or a longer form than appendUint does. neg reports a
// negative value, which walkie never uses.
func (r *reader) integer() (v uint64, neg bool, err error) {
	c, err := r.next()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c < 0x80:
		return uint64(c), false, nil
	case c >= 0xe0:
		return 0, true, nil
	case c >= mpUint8 && c <= mpUint64:
		v, err = r.be(1 << (c - mpUint8))
		return v, false, err
	case c >= mpInt8 && c <= mpInt64:
		v, err = r.be(1 << (c - mpInt8))
		return v, v>>(8<<(c-mpInt8)-1) != 0, err
	}
	return 0, false, ErrBadBody
}

// uint reads a non-negative integer.
func (r *reader) uint() (uint64, error) {
	v, neg, err := r.integer()
	if err == nil && neg {
		err = ErrBadBody
	}
	return v, err
}

// skip skips one value of any type. It loops instead of recursing, so deep
// nesting costs no stack, and every value takes at least one byte, so the
// work is bounded by the length of the body.
func (r *reader) skip() error {
	for pending := 1; pending > 0; pending-- {
		c, err := r.next()
		if err != nil {
			return err
		}
		var size, items uint64 // bytes to skip, values nested in this one
		switch {
		case c < 0x80 || c >= 0xe0 || c == mpNil || c == 0xc2 || c == 0xc3:
			// fixint, nil, false, true: just the code.
		case c&0xf0 == mpFixMap:
			items = 2 * uint64(c&0x0f)
		case c&0xf0 == mpFixArray:
			items = uint64(c & 0x0f)
		case c&0xe0 == 0xa0: // fixstr
			size = uint64(c & 0x1f)
		default:
			switch c {
			case mpBin8, 0xd9: // bin8, str8
				size, err = r.be(1)
			case mpBin16, 0xda: // bin16, str16
				size, err = r.be(2)
			case mpBin32, 0xdb: // bin32, str32
				size, err = r.be(4)
			case 0xc7, 0xc8, 0xc9: // ext8, ext16, ext32: length, type, data
				if r.noExt {
					return ErrBadBody
				}
				size, err = r.be(1 << (c - 0xc7))
				size++
			case 0xca, 0xcb: // float32, float64
				size = 4 << (c - 0xca)
			case mpUint8, mpUint8 + 1, mpUint8 + 2, mpUint64:
				size = 1 << (c - mpUint8)
			case mpInt8, mpInt8 + 1, mpInt8 + 2, mpInt64:
				size = 1 << (c - mpInt8)
			case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1-16: type, data
				if r.noExt {
					return ErrBadBody
				}
				size = 1 + 1<<(c-0xd4)
			case mpArray16:
				items, err = r.be(2)
			case mpArray32:
				items, err = r.be(4)
			case mpMap16:
				items, err = r.be(2)
				items *= 2
			case mpMap32:
				items, err = r.be(4)
				items *= 2
			default: // 0xc1, never used
				return ErrBadBody
			}
			if err != nil {
				return err
			}
		}
		if size > uint64(r.left()) {
			return ErrShort
		}
		r.off += int(size)
		// The values still pending each need a byte.
		if items+uint64(pending-1) > uint64(r.left()) {
			return ErrShort
		}
		pending += int(items)
	}
	return nil
}

// CheckMsgpack checks that b is exactly one msgpack value of any type, with
// nothing after it, and that every length and count it declares fits in the
// bytes that follow. It is for bodies that a general msgpack decoder will
// read: msgpack/v5 sizes its buffers by declared lengths (a bin32 claiming
// 4 GiB gets a 4 GiB buffer, an array32 a slice of as many elements as it
// claims), so once b passes, what such a decoder allocates is bounded by
// len(b) times the size of the Go values it fills, never by what b claims.
//
// It refuses extension values (ext and fixext; msgpack/v5 writes time.Time
// as one): their payload is opaque bytes to this check, yet msgpack/v5 reads
// a map through an extension's header, so a map count or a bin length
// hidden in a payload would reach it unchecked (a 10-byte body allocating
// 4 GiB).
//
// It walks b without allocating and in time linear in len(b), nesting
// included. Errors, the package's sentinels: ErrTooLarge for b longer than
// MaxDatagram (no body is); ErrShort for b empty, cut inside a value, or
// declaring a length or count past its end; ErrBadBody for an extension
// value, the never-used code 0xc1 or bytes after the value. It checks
// structure only: types, ranges and semantic limits are the caller's.
func CheckMsgpack(b []byte) error {
	if len(b) > MaxDatagram {
		return ErrTooLarge
	}
	r := reader{b: b, noExt: true}
	if err := r.skip(); err != nil {
		return err
	}
	if r.left() != 0 {
		// Unlike a core body, whose map may be followed by padding: a
		// community body is the value, and trailing bytes that nothing
		// reads would be a second meaning for the same datagram.
		return ErrBadBody
	}
	return nil
}

// nilValue consumes a nil if one is next.
func (r *reader) nilValue() bool {
	if c, err := r.peek(); err == nil && c == mpNil {
		r.off++
		return true
	}
	return false
}

// key reads a map key. ok is false for a key that is not a non-negative
// integer: it has been skipped, and the caller skips its value.
func (r *reader) key() (k uint64, ok bool, err error) {
	c, err := r.peek()
	if err != nil {
		return 0, false, err
	}
	if !isInt(c) {
		return 0, false, r.skip()
	}
	k, neg, err := r.integer()
	return k, err == nil && !neg, err
}

// fields reads a map of at most maxFields entries. For each entry whose key
// is in known (a bit mask of keys below 64) and whose value is not nil it
// calls field, which must read the value; other entries are skipped, so
// unknown keys are ignored. A nil value counts as absent. A known key given
// twice is ErrBadBody: one meaning per datagram, no parser differentials.
// fields returns the mask of the keys that had a value.
func (r *reader) fields(known uint64, field func(key uint64) error) (present uint64, err error) {
	if len(r.b) > MaxDatagram {
		return 0, ErrTooLarge
	}
	n, err := r.mapLen(maxFields)
	if err != nil {
		return 0, err
	}
	var seen uint64
	for range n {
		k, ok, err := r.key()
		if err != nil {
			return 0, err
		}
		if !ok || k >= 64 || known&(1<<k) == 0 {
			if err := r.skip(); err != nil {
				return 0, err
			}
			continue
		}
		if seen&(1<<k) != 0 {
			return 0, ErrBadBody
		}
		seen |= 1 << k
		if r.nilValue() {
			continue
		}
		if err := field(k); err != nil {
			return 0, err
		}
		present |= 1 << k
	}
	return present, nil
}
