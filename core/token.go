package core

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net/netip"
	"time"
)

// tokenLen is the size of the tokens we issue; proto.MaxToken bounds what we accept.
const tokenLen = 16

// tokens issues and checks return-routability tokens: a keyed MAC over the
// address a token was sent to and a time bucket. Whoever echoes a valid token
// for its source address has shown that it receives packets there, so it is
// no spoofer. Stateless: nothing is stored per address, so a flood of
// spoofed requests costs no memory. The key is random per process, and a
// token is valid for the bucket it was made in and the next one.
type tokens struct {
	key    [32]byte
	bucket time.Duration
	h      hash.Hash // HMAC-SHA256 under key, reused: tokens is used under the overlay's lock
	sum    []byte
	in     [8 + 16 + 2]byte // MAC input; a field, since a local would escape into h.Write
}

func newTokens(bucket time.Duration) *tokens {
	t := &tokens{bucket: bucket}
	if _, err := rand.Read(t.key[:]); err != nil {
		panic("walkie: crypto/rand failed: " + err.Error()) // never on supported systems
	}
	t.h = hmac.New(sha256.New, t.key[:])
	t.sum = make([]byte, 0, sha256.Size)
	return t
}

func (t *tokens) mac(addr netip.AddrPort, bucket int64) [tokenLen]byte {
	in := &t.in
	binary.BigEndian.PutUint64(in[:8], uint64(bucket))
	a16 := addr.Addr().Unmap().As16()
	copy(in[8:24], a16[:])
	binary.BigEndian.PutUint16(in[24:], addr.Port())
	t.h.Reset()
	t.h.Write(in[:])
	t.sum = t.h.Sum(t.sum[:0])
	var out [tokenLen]byte
	copy(out[:], t.sum)
	return out
}

func (t *tokens) now(now time.Time) int64 { return now.UnixNano() / int64(t.bucket) }

// issue returns a token for addr.
func (t *tokens) issue(addr netip.AddrPort, now time.Time) [tokenLen]byte {
	return t.mac(addr, t.now(now))
}

// valid reports whether tok is a token we issued to addr in this bucket or
// the one before.
func (t *tokens) valid(tok []byte, addr netip.AddrPort, now time.Time) bool {
	if len(tok) != tokenLen {
		return false
	}
	b := t.now(now)
	for _, bucket := range [2]int64{b, b - 1} {
		m := t.mac(addr, bucket)
		if hmac.Equal(m[:], tok) {
			return true
		}
	}
	return false
}
