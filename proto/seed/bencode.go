package seed

// A bounded bencode reader, written by hand: it reads in place, allocates
// nothing, checks every declared length against its maximum and against the
// bytes left before it touches them, and recurses at most MaxDepth deep.
// The grammar is BEP 3's: i<decimal>e, <length>:<bytes>, l<values>e,
// d<key value ...>e with string keys. Numbers must be canonical (no leading
// zeros, no "-0"), as every bencode encoder writes them.

import "bytes"

type reader struct {
	b   []byte
	off int
}

// peek returns the next byte without consuming it.
func (r *reader) peek() (byte, error) {
	if r.off >= len(r.b) {
		return 0, ErrShort
	}
	return r.b[r.off], nil
}

// wrongType is the error for a value that starts with c where another type
// was due: the wrong type for its key if c starts a value at all.
func wrongType(c byte) error {
	if c == 'i' || c == 'l' || c == 'd' || c >= '0' && c <= '9' {
		return ErrBadMessage
	}
	return ErrBadBencode
}

// open consumes the opening byte of a list or dict.
func (r *reader) open(kind byte) error {
	c, err := r.peek()
	if err != nil {
		return err
	}
	if c != kind {
		return wrongType(c)
	}
	r.off++
	return nil
}

// more reports whether a list or dict has another entry, consuming its 'e'
// when it has not.
func (r *reader) more() (bool, error) {
	c, err := r.peek()
	if err != nil {
		return false, err
	}
	if c == 'e' {
		r.off++
		return false, nil
	}
	return true, nil
}

// int reads an integer.
func (r *reader) int() (int64, error) {
	c, err := r.peek()
	if err != nil {
		return 0, err
	}
	if c != 'i' {
		return 0, wrongType(c)
	}
	r.off++
	neg := r.off < len(r.b) && r.b[r.off] == '-'
	if neg {
		r.off++
	}
	start := r.off
	var v uint64
	for {
		if r.off >= len(r.b) {
			return 0, ErrShort
		}
		c := r.b[r.off]
		if c == 'e' {
			break
		}
		if c < '0' || c > '9' {
			return 0, ErrBadBencode
		}
		if r.off-start == maxIntDigits {
			return 0, ErrLimit
		}
		v = v*10 + uint64(c-'0')
		r.off++
	}
	n := r.off - start
	if n == 0 || r.b[start] == '0' && (n > 1 || neg) {
		return 0, ErrBadBencode
	}
	r.off++ // 'e'
	if neg {
		if v > 1<<63 {
			return 0, ErrLimit
		}
		return int64(-v), nil // -(1<<63) wraps to itself, as it should
	}
	if v > 1<<63-1 {
		return 0, ErrLimit
	}
	return int64(v), nil
}

// str reads a string of at most max bytes and returns it in place (the
// caller copies what it keeps).
func (r *reader) str(max int) ([]byte, error) {
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	if c < '0' || c > '9' {
		return nil, wrongType(c)
	}
	start := r.off
	n := 0
	for {
		if r.off >= len(r.b) {
			return nil, ErrShort
		}
		c := r.b[r.off]
		if c == ':' {
			break
		}
		if c < '0' || c > '9' {
			return nil, ErrBadBencode
		}
		n = n*10 + int(c-'0')
		if n > max { // before the next digit can overflow n
			return nil, ErrLimit
		}
		r.off++
	}
	if r.b[start] == '0' && r.off-start > 1 {
		return nil, ErrBadBencode
	}
	r.off++ // ':'
	if n > len(r.b)-r.off {
		return nil, ErrShort
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

// skip consumes one value of any type, nested at the given depth (the
// value's own container counts as one level).
func (r *reader) skip(depth int) error {
	c, err := r.peek()
	if err != nil {
		return err
	}
	switch {
	case c == 'i':
		_, err = r.int()
		return err
	case c >= '0' && c <= '9':
		_, err = r.str(MaxString)
		return err
	case c == 'l':
		return r.skipList(depth)
	case c == 'd':
		return r.skipDict(depth)
	}
	return ErrBadBencode
}

func (r *reader) skipList(depth int) error {
	if depth > MaxDepth {
		return ErrLimit
	}
	r.off++ // 'l'
	for n := 0; ; n++ {
		more, err := r.more()
		if err != nil || !more {
			return err
		}
		if n == MaxPex {
			return ErrLimit
		}
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
}

func (r *reader) skipDict(depth int) error {
	if depth > MaxDepth {
		return ErrLimit
	}
	r.off++ // 'd'
	var ks keySet
	for {
		_, more, err := r.key(&ks)
		if err != nil || !more {
			return err
		}
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
}

// key reads the next key of a dict (more is false at its end), and refuses
// a key seen before in the dict: one key, one meaning.
func (r *reader) key(ks *keySet) (k []byte, more bool, err error) {
	if more, err = r.more(); err != nil || !more {
		return nil, false, err
	}
	if c, _ := r.peek(); c < '0' || c > '9' {
		return nil, false, ErrBadBencode // keys are strings
	}
	if k, err = r.str(maxKey); err != nil {
		return nil, false, err
	}
	if err = ks.add(k); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// keySet holds the keys of one dict, in place, to find duplicates.
type keySet struct {
	keys [MaxKeys][]byte
	n    int
}

func (ks *keySet) add(k []byte) error {
	if ks.n == MaxKeys {
		return ErrLimit
	}
	for _, seen := range ks.keys[:ks.n] {
		if bytes.Equal(seen, k) {
			return ErrBadBencode
		}
	}
	ks.keys[ks.n] = k
	ks.n++
	return nil
}
