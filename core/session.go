package core

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.zx2c4.com/wireguard/replay"

	"github.com/walkie-p2p/walkie/proto"
)

// Session limits, as WireGuard sets them: the initiator of a session starts
// a new handshake (inside the old session) once it is rekeyAfter old or has
// sealed rekeyAfterMessages datagrams; a session older than rejectAfter, or
// with rejectAfterMessages datagrams, seals and opens nothing more. A
// replaced session still opens what was in flight for keepReplaced.
const (
	rekeyAfter          = 2 * time.Minute
	rejectAfter         = 3 * time.Minute
	keepReplaced        = 10 * time.Second
	rekeyAfterMessages  = 1 << 60
	rejectAfterMessages = 1<<64 - 1<<13 - 1
)

// session is what two authenticated peers agreed on in one handshake: the
// peer's proven key, an index each side chose (sealed datagrams carry the
// receiver's), and one AEAD per direction (AES-256-GCM, from the Noise
// transport keys, with Noise's nonces). The worker seals with it; readers
// open with it, so the receive side has a lock (a peer reached through a
// probe socket has two readers).
type session struct {
	peer      proto.ID
	key       ed25519.PublicKey
	local     uint32 // ours: what sealed datagrams to us carry
	remote    uint32 // theirs: what we put in the datagrams we seal
	initiator bool   // we started its handshake (and start the next one)
	created   time.Time

	// The worker's: sealing.
	send      cipher.AEAD
	sendCtr   uint64
	sendNonce [12]byte

	// The readers': opening.
	mu        sync.Mutex
	recv      cipher.AEAD
	recvNonce [12]byte
	window    replay.Filter
	heard     atomic.Bool // something opened: the peer has the session (see handshakes.confirm)
}

// newSession makes a session from the two Noise transport keys.
func newSession(peer proto.ID, key ed25519.PublicKey, local, remote uint32, initiator bool, sendKey, recvKey [32]byte, now time.Time) (*session, error) {
	send, err := newGCM(sendKey)
	if err != nil {
		return nil, err
	}
	recv, err := newGCM(recvKey)
	if err != nil {
		return nil, err
	}
	return &session{peer: peer, key: key, local: local, remote: remote, initiator: initiator, created: now,
		send: send, recv: recv}, nil
}

func newGCM(key [32]byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// errSessionSpent is the error of a seal on a session past its limits.
var errSessionSpent = errors.New("walkie: session spent")

// seal appends the sealed form of the datagram inner to dst. Worker only.
func (s *session) seal(dst, inner []byte, now time.Time) ([]byte, error) {
	if s.sendCtr >= rejectAfterMessages || now.Sub(s.created) >= rejectAfter {
		return dst, errSessionSpent
	}
	n := s.sendCtr
	s.sendCtr++
	start := len(dst)
	dst = proto.AppendSealedPrefix(dst, s.remote, n)
	binary.BigEndian.PutUint64(s.sendNonce[4:], n) // Noise's AESGCM nonce: 32 zero bits, then n
	return s.send.Seal(dst, s.sendNonce[:], inner, dst[start:start+proto.SealedPrefixLen]), nil
}

// Why a sealed datagram did not open.
var (
	errBadSeal = errors.New("walkie: sealed datagram does not open")
	errReplay  = errors.New("walkie: sealed datagram replayed")
)

// open opens the sealed datagram whose counter, additional data and
// ciphertext ParseSealed returned, in place: the inner datagram it returns
// overwrites ct. A replayed counter is refused after the datagram opened,
// so that forged datagrams cannot move the window.
// A session past rejectAfter is no longer in the readers' index (the
// worker retires it), so open does not look at the clock.
func (s *session) open(counter uint64, ad, ct []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	binary.BigEndian.PutUint64(s.recvNonce[4:], counter)
	inner, err := s.recv.Open(ct[:0], s.recvNonce[:], ct, ad)
	if err != nil {
		return nil, errBadSeal
	}
	if !s.window.ValidateCounter(counter, rejectAfterMessages) {
		return nil, errReplay
	}
	s.heard.Store(true)
	return inner, nil
}

// sessionIndex is the readers' view of the sessions: by our index. The
// worker replaces the whole map when a session comes or goes (a handshake,
// a peer that left), which is rare; readers load it per sealed datagram.
type sessionIndex = map[uint32]*session
