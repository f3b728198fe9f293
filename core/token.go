package core

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// tokenLen is the size of the tokens we issue; proto.MaxToken bounds what we accept.
const tokenLen = 16

// tokens issues and checks return-routability tokens: a keyed MAC over the
// address a token was sent to and a time bucket. Whoever echoes a valid token
// for its source address has shown that it receives packets there, so it is
// no spoofer. Stateless: nothing is stored per address, so a flood of
// spoofed requests costs no memory. The key is random per process, and a
// token is valid for the bucket it was made in and the next one.
//
// The MAC is AES-128 in CBC-MAC mode over exactly two blocks (bucket,
// address, port). CBC-MAC is a secure MAC for messages of one fixed length,
// which these are, and with AES instructions it costs a few nanoseconds
// where HMAC-SHA256 cost about 0.4 µs: two of those per answered request
// were 6% of a loaded node's CPU.
type tokens struct {
	block  cipher.Block
	bucket time.Duration
	x, y   [aes.BlockSize]byte // MAC state; fields, since locals would escape through Block (used under the overlay's lock)
}

func newTokens(bucket time.Duration) *tokens {
	var key [16]byte
	if _, err := rand.Read(key[:]); err != nil {
		panic("walkie: crypto/rand failed: " + err.Error()) // never on supported systems
	}
	return tokensWithKey(key, bucket)
}

// tokensWithKey is newTokens with a given key (tests fix it so that their
// inputs can carry valid tokens).
func tokensWithKey(key [16]byte, bucket time.Duration) *tokens {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic("walkie: " + err.Error()) // a 16-byte key is always valid
	}
	return &tokens{block: b, bucket: bucket}
}

// mac is E(E(bucket | ip[0:8]) xor (ip[8:16] | port | 0...)).
func (t *tokens) mac(addr netip.AddrPort, bucket int64) [tokenLen]byte {
	x, y := &t.x, &t.y
	a16 := addr.Addr().Unmap().As16()
	binary.BigEndian.PutUint64(x[:8], uint64(bucket))
	copy(x[8:], a16[:8])
	t.block.Encrypt(x[:], x[:])
	copy(y[:8], a16[8:])
	binary.BigEndian.PutUint16(y[8:], addr.Port())
	clear(y[10:])
	subtle.XORBytes(y[:], y[:], x[:])
	t.block.Encrypt(y[:], y[:])
	return *y
}

func (t *tokens) now(now time.Time) int64 { return now.UnixNano() / int64(t.bucket) }

// issue returns a token for addr.
func (t *tokens) issue(addr netip.AddrPort, now time.Time) [tokenLen]byte {
	return t.mac(addr, t.now(now))
}

// valid reports whether tok is a token we issued to addr in this bucket or
// the one before.
func (t *tokens) valid(tok []byte, addr netip.AddrPort, now time.Time) bool {
	cur := t.issue(addr, now)
	return t.validAgainst(tok, &cur, addr, now)
}

// validAgainst is valid for a caller that has just issued cur, the token of
// this bucket for addr: the usual echo matches it, and only an older token
// costs a second MAC.
func (t *tokens) validAgainst(tok []byte, cur *[tokenLen]byte, addr netip.AddrPort, now time.Time) bool {
	if len(tok) != tokenLen {
		return false
	}
	if subtle.ConstantTimeCompare(cur[:], tok) == 1 {
		return true
	}
	prev := t.mac(addr, t.now(now)-1)
	return subtle.ConstantTimeCompare(prev[:], tok) == 1
}

// punctureMsg is a reusable puncture and the storage of its token. A
// puncture carries a token for its destination, so that the destination's
// next request to us is verified at once.
type punctureMsg struct {
	m   proto.Puncture
	tok [tokenLen]byte
}

// to fills the puncture toward addr and returns it; it is valid until the
// next call.
func (pm *punctureMsg) to(t *tokens, lan, addr netip.AddrPort, nonce uint64, now time.Time) *proto.Puncture {
	pm.tok = t.issue(addr, now)
	pm.m = proto.Puncture{Nonce: nonce, LAN: lan, Token: pm.tok[:]}
	return &pm.m
}
