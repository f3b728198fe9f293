package chat

import "encoding/binary"

// reader decodes the few msgpack forms chat bodies use. It exists because a
// general decoder trusts declared lengths when it allocates (up to 1 MB for
// one bin or str), which would let a 1 KB datagram cost a megabyte; here
// every length is checked against the bytes actually left, and strings and
// binaries are sub-slices of the input. Any error sticks: callers check
// ok() once at the end.
type reader struct {
	b   []byte
	bad bool
}

// take returns the next n bytes, or nil (and marks the reader bad) if fewer
// are left.
func (r *reader) take(n int) []byte {
	if r.bad || n < 0 || n > len(r.b) {
		r.bad = true
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u8() byte {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

// arrayLen reads a fixarray header.
func (r *reader) arrayLen() int {
	c := r.u8()
	if c&0xf0 != 0x90 {
		r.bad = true
		return 0
	}
	return int(c & 0x0f)
}

// uint reads a non-negative integer of any width.
func (r *reader) uint() uint64 {
	c := r.u8()
	switch {
	case c <= 0x7f:
		return uint64(c)
	case c == 0xcc:
		return uint64(r.u8())
	case c == 0xcd:
		if p := r.take(2); p != nil {
			return uint64(binary.BigEndian.Uint16(p))
		}
	case c == 0xce:
		if p := r.take(4); p != nil {
			return uint64(binary.BigEndian.Uint32(p))
		}
	case c == 0xcf:
		if p := r.take(8); p != nil {
			return binary.BigEndian.Uint64(p)
		}
	default:
		r.bad = true
	}
	return 0
}

// length reads the 1- or 2-byte length after a bin8/str8 or bin16/str16 code.
func (r *reader) length(width int) int {
	if width == 1 {
		return int(r.u8())
	}
	if p := r.take(2); p != nil {
		return int(binary.BigEndian.Uint16(p))
	}
	return 0
}

// bin reads a bin8 or bin16 (chat never needs bin32).
func (r *reader) bin() []byte {
	switch r.u8() {
	case 0xc4:
		return r.take(r.length(1))
	case 0xc5:
		return r.take(r.length(2))
	}
	r.bad = true
	return nil
}

// str reads a fixstr, str8 or str16.
func (r *reader) str() string {
	c := r.u8()
	switch {
	case c&0xe0 == 0xa0:
		return string(r.take(int(c & 0x1f)))
	case c == 0xd9:
		return string(r.take(r.length(1)))
	case c == 0xda:
		return string(r.take(r.length(2)))
	}
	r.bad = true
	return ""
}

// ok reports whether everything decoded and nothing is left over.
func (r *reader) ok() bool { return !r.bad && len(r.b) == 0 }
