package game

import "encoding/binary"

// checkLengths walks the msgpack values in b without allocating and
// rejects any string, binary, extension, array or map whose declared length
// is more than the bytes left. The msgpack library sizes its buffers by the
// declared length (up to 1 MiB for a str32 claiming 4 GiB), so this check
// runs first: after it, decoding a body never allocates more than the body.
func checkLengths(b []byte) error {
	pending := 1 // values still to read
	for off := 0; pending > 0; pending-- {
		if off >= len(b) {
			return errMalformed
		}
		c := b[off]
		off++
		var n, size int // n: bytes of payload; size: bytes of the length field
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3: // fixint, nil, bool
		case c >= 0x80 && c <= 0x8f: // fixmap
			pending += 2 * int(c&0x0f)
		case c >= 0x90 && c <= 0x9f: // fixarray
			pending += int(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf: // fixstr
			n = int(c & 0x1f)
		case c == 0xc4 || c == 0xd9: // bin8, str8
			size = 1
		case c == 0xc5 || c == 0xda: // bin16, str16
			size = 2
		case c == 0xc6 || c == 0xdb: // bin32, str32
			size = 4
		case c == 0xcc || c == 0xd0: // uint8, int8
			n = 1
		case c == 0xcd || c == 0xd1:
			n = 2
		case c == 0xce || c == 0xd2 || c == 0xca: // 32-bit ints, float32
			n = 4
		case c == 0xcf || c == 0xd3 || c == 0xcb:
			n = 8
		case c >= 0xd4 && c <= 0xd8: // fixext 1..16
			n = 1 + 1<<(c-0xd4)
		case c == 0xdc || c == 0xdd, c == 0xde || c == 0xdf: // array16/32, map16/32
			w := 2
			if c == 0xdd || c == 0xdf {
				w = 4
			}
			if off+w > len(b) {
				return errMalformed
			}
			cnt := readBE(b[off:off+w], w)
			off += w
			if cnt > uint64(len(b)-off) { // every element takes a byte at least
				return errMalformed
			}
			if c >= 0xde {
				cnt *= 2
			}
			pending += int(cnt)
		case c == 0xc7 || c == 0xc8 || c == 0xc9: // ext8/16/32: length, then type byte
			size = 1 << (c - 0xc7)
			if c == 0xc9 {
				size = 4
			}
			n = 1
		default: // 0xc1, never used
			return errMalformed
		}
		if size > 0 {
			if off+size > len(b) {
				return errMalformed
			}
			l := readBE(b[off:off+size], size)
			off += size
			if l > uint64(len(b)-off) {
				return errMalformed
			}
			n += int(l)
		}
		if n > len(b)-off {
			return errMalformed
		}
		off += n
	}
	return nil
}

func readBE(b []byte, w int) uint64 {
	switch w {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	}
	return uint64(binary.BigEndian.Uint32(b))
}
