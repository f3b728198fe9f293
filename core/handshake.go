package core

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/flynn/noise"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// The handshake that proves a peer's key: Noise XX over X25519, AES-256-GCM
// and SHA-256, three messages in proto.Handshake bodies. Noise's static key
// is an X25519 key the node makes when it starts; each side binds it to its
// Ed25519 identity by signing it, and sends its Ed25519 key and that
// signature as its handshake payload (inside the Noise encryption), as
// libp2p's Noise handshake does. The peer ID is the UUIDv5 of the Ed25519
// key, so a peer that completes a handshake holds its ID: nobody else can.
// The initiator is the side that got an introduction response from a peer
// it has to authenticate; step 1 carries the responder's token for the
// initiator's address, so the larger step 2 only ever goes to a verified
// address. docs/protocol.md draws the messages.

const (
	// noisePrologue binds both sides to walkie's use of Noise.
	noisePrologue = "walkie handshake v1"
	// staticSigDomain separates the signature of the Noise static key from
	// every other signature an Ed25519 key of walkie makes.
	staticSigDomain = "walkie noise static key v1\x00"
	// payloadLen is an Ed25519 public key and a signature.
	payloadLen = ed25519.PublicKeySize + ed25519.SignatureSize
	// handshakeTimeout ends a handshake that has not finished; resendEvery
	// is how long a side waits for the next message before it sends its
	// last one again.
	handshakeTimeout = 5 * time.Second
	resendEvery      = time.Second
	// maxHandshakes bounds the handshakes in flight (the responder keeps
	// one per initiator between step 2 and 3).
	maxHandshakes = 256
)

// Why a handshake message was refused; the worker counts each as
// DropHandshake.
var (
	errNoHandshake   = errors.New("walkie: no such handshake")
	errBadPayload    = errors.New("walkie: handshake payload does not prove the claimed peer ID")
	errNotKeyDerived = errors.New("walkie: a peer without a key-derived ID cannot handshake")
	errCrossed       = errors.New("walkie: both sides started a handshake; ours goes on")
	errNoToken       = errors.New("walkie: handshake step 1 without a valid token for its source")
)

// handshake is one handshake in flight.
type handshake struct {
	hs        *noise.HandshakeState
	peer      proto.ID // claimed: proven when the handshake completes
	addr      netip.AddrPort
	local     uint32
	remote    uint32
	initiator bool
	last      proto.Handshake // the last message we sent, for resends
	sent      time.Time
	started   time.Time
	sess      *session // initiator, after step 3: the session, until the peer confirms it
}

// handshakes is the worker's handshake state: its own static key and signed
// payload, the handshakes in flight, and the sessions by our index, which
// it publishes for the readers. It sends nothing itself: its methods return
// what to send, and the sessions that completed.
type handshakes struct {
	id       Identity
	suite    noise.CipherSuite
	static   noise.DHKey
	payload  []byte // our Ed25519 key and its signature of static.Public
	byIndex  map[uint32]*handshake
	byPeer   map[proto.ID]*handshake
	sessions map[uint32]*session          // the worker's copy
	index    atomic.Pointer[sessionIndex] // what the readers open with
}

func newHandshakes(id Identity) (*handshakes, error) {
	suite := noise.NewCipherSuite(noise.DH25519, noise.CipherAESGCM, noise.HashSHA256)
	static, err := suite.GenerateKeypair(rand.Reader)
	if err != nil {
		return nil, err
	}
	pub := id.Key.Public().(ed25519.PublicKey)
	sig := ed25519.Sign(id.Key, append([]byte(staticSigDomain), static.Public...))
	h := &handshakes{id: id, suite: suite, static: static, payload: append(append([]byte(nil), pub...), sig...),
		byIndex: map[uint32]*handshake{}, byPeer: map[proto.ID]*handshake{}, sessions: map[uint32]*session{}}
	h.index.Store(&sessionIndex{})
	return h, nil
}

// newIndex picks a random index that no session or handshake of ours uses.
func (h *handshakes) newIndex() uint32 {
	var b [4]byte
	for {
		rand.Read(b[:])
		i := binary.BigEndian.Uint32(b[:])
		if i != 0 && h.byIndex[i] == nil && h.sessions[i] == nil {
			return i
		}
	}
}

// begin makes a handshake state.
func (h *handshakes) begin(peer proto.ID, addr netip.AddrPort, initiator bool, now time.Time) (*handshake, error) {
	hs, err := noise.NewHandshakeState(noise.Config{CipherSuite: h.suite, Random: rand.Reader, Pattern: noise.HandshakeXX,
		Initiator: initiator, Prologue: []byte(noisePrologue), StaticKeypair: h.static})
	if err != nil {
		return nil, err
	}
	if len(h.byIndex) >= maxHandshakes {
		for _, old := range h.byIndex { // map order is random enough
			h.forget(old)
			break
		}
	}
	x := &handshake{hs: hs, peer: peer, addr: addr, local: h.newIndex(), initiator: initiator, started: now}
	h.byIndex[x.local] = x
	h.byPeer[peer] = x
	return x, nil
}

// forget drops a handshake in flight.
func (h *handshakes) forget(x *handshake) {
	delete(h.byIndex, x.local)
	if h.byPeer[x.peer] == x {
		delete(h.byPeer, x.peer)
	}
}

// busy reports whether any handshake waits for a message (the worker then
// ticks often enough to send its resends in time).
func (h *handshakes) busy() bool { return len(h.byIndex) > 0 }

// start begins a handshake with peer at addr, whose token for our address
// is token, and returns step 1; nil if one is in flight already.
func (h *handshakes) start(peer proto.ID, addr netip.AddrPort, token []byte, now time.Time) (*proto.Handshake, error) {
	if h.byPeer[peer] != nil {
		return nil, nil
	}
	x, err := h.begin(peer, addr, true, now)
	if err != nil {
		return nil, err
	}
	msg, _, _, err := x.hs.WriteMessage(nil, nil)
	if err != nil {
		h.forget(x)
		return nil, err
	}
	x.last = proto.Handshake{Step: 1, Token: append([]byte(nil), token...), Index: x.local, Noise: msg}
	x.sent = now
	return &x.last, nil
}

// receive handles a handshake message m from addr whose header names sender;
// tokenOK says whether a step 1 carried a valid token for addr. It returns
// the message to answer with (nil: none), and the session when the
// handshake completed on our side.
func (h *handshakes) receive(addr netip.AddrPort, sender proto.ID, m *proto.Handshake, tokenOK bool, now time.Time) (*proto.Handshake, *session, error) {
	switch m.Step {
	case 1:
		return h.onInit(addr, sender, m, tokenOK, now)
	case 2:
		return h.onResponse(addr, sender, m, now)
	}
	return h.onFinish(addr, sender, m, now)
}

// onInit answers step 1 with step 2, as the responder.
func (h *handshakes) onInit(addr netip.AddrPort, sender proto.ID, m *proto.Handshake, tokenOK bool, now time.Time) (*proto.Handshake, *session, error) {
	if !tokenOK {
		return nil, nil, errNoToken // step 2 is larger: only to a verified address
	}
	if !sender.KeyDerived() {
		return nil, nil, errNotKeyDerived
	}
	if x := h.byPeer[sender]; x != nil {
		switch {
		case !x.initiator && x.remote == m.Index && x.addr == addr:
			x.sent = now
			return &x.last, nil, nil // our step 2 was lost: the same again
		case x.initiator && x.sess == nil && compareID(h.id.ID, sender) < 0:
			return nil, nil, errCrossed // both started: the lower ID's handshake goes on
		}
		h.forget(x)
	}
	x, err := h.begin(sender, addr, false, now)
	if err != nil {
		return nil, nil, err
	}
	x.remote = m.Index
	if _, _, _, err := x.hs.ReadMessage(nil, m.Noise); err != nil {
		h.forget(x)
		return nil, nil, err
	}
	msg, _, _, err := x.hs.WriteMessage(nil, h.payload)
	if err != nil {
		h.forget(x)
		return nil, nil, err
	}
	x.last = proto.Handshake{Step: 2, Index: x.local, PeerIndex: x.remote, Noise: msg}
	x.sent = now
	return &x.last, nil, nil
}

// onResponse reads step 2, checks the responder's key, and answers with
// step 3, as the initiator: the session is ours from now on.
func (h *handshakes) onResponse(addr netip.AddrPort, sender proto.ID, m *proto.Handshake, now time.Time) (*proto.Handshake, *session, error) {
	x := h.byIndex[m.PeerIndex]
	if x == nil || !x.initiator || x.peer != sender || x.addr != addr {
		return nil, nil, errNoHandshake
	}
	if x.sess != nil { // our step 3 was lost: the same again
		x.sent = now
		return &x.last, nil, nil
	}
	payload, _, _, err := x.hs.ReadMessage(nil, m.Noise)
	if err != nil {
		h.forget(x)
		return nil, nil, err
	}
	key, err := h.check(payload, x.hs.PeerStatic(), sender)
	if err != nil {
		h.forget(x)
		return nil, nil, err
	}
	msg, toPeer, fromPeer, err := x.hs.WriteMessage(nil, h.payload)
	if err != nil {
		h.forget(x)
		return nil, nil, err
	}
	x.remote = m.Index
	s, err := newSession(sender, key, x.local, x.remote, true, toPeer.UnsafeKey(), fromPeer.UnsafeKey(), now)
	if err != nil {
		h.forget(x)
		return nil, nil, err
	}
	x.sess = s
	x.last = proto.Handshake{Step: 3, PeerIndex: x.remote, Noise: msg}
	x.sent = now
	delete(h.byPeer, x.peer) // done for the table; kept by index until confirmed
	return &x.last, s, nil
}

// onFinish reads step 3 and checks the initiator's key, as the responder.
func (h *handshakes) onFinish(addr netip.AddrPort, sender proto.ID, m *proto.Handshake, now time.Time) (*proto.Handshake, *session, error) {
	x := h.byIndex[m.PeerIndex]
	if x == nil || x.initiator || x.peer != sender || x.addr != addr {
		return nil, nil, errNoHandshake
	}
	h.forget(x)
	payload, fromPeer, toPeer, err := x.hs.ReadMessage(nil, m.Noise)
	if err != nil {
		return nil, nil, err
	}
	key, err := h.check(payload, x.hs.PeerStatic(), sender)
	if err != nil {
		return nil, nil, err
	}
	s, err := newSession(sender, key, x.local, x.remote, false, toPeer.UnsafeKey(), fromPeer.UnsafeKey(), now)
	return nil, s, err
}

// check verifies a handshake payload: an Ed25519 key whose signature of
// the peer's Noise static key holds, and whose peer ID is the one claimed.
func (h *handshakes) check(payload, static []byte, claimed proto.ID) (ed25519.PublicKey, error) {
	if len(payload) != payloadLen || len(static) == 0 {
		return nil, errBadPayload
	}
	key := ed25519.PublicKey(append([]byte(nil), payload[:ed25519.PublicKeySize]...))
	signed := append([]byte(staticSigDomain), static...)
	if !ed25519.Verify(key, signed, payload[ed25519.PublicKeySize:]) || community.IDFromKey(key) != claimed {
		return nil, errBadPayload
	}
	return key, nil
}

// tick ends handshakes that took too long and sends again the last message
// of those that wait: resend is called for each. An initiator's finished
// handshake waits for its peer to confirm the session (something opened
// in it); until then step 3 may have been lost. expired is called for a
// session that was never confirmed.
func (h *handshakes) tick(now time.Time, resend func(to netip.AddrPort, m *proto.Handshake), expired func(*session)) {
	for _, x := range h.byIndex {
		switch {
		case x.sess != nil && x.sess.heard.Load():
			h.forget(x) // confirmed
		case now.Sub(x.started) >= handshakeTimeout:
			h.forget(x)
			if x.sess != nil {
				expired(x.sess)
			}
		case x.initiator && now.Sub(x.sent) >= resendEvery:
			x.sent = now
			resend(x.addr, &x.last)
		}
	}
}

// install makes s a session the readers open with.
func (h *handshakes) install(s *session) {
	h.sessions[s.local] = s
	h.publish()
}

// remove stops the readers from opening with the sessions given.
func (h *handshakes) remove(ss ...*session) {
	n := len(h.sessions)
	for _, s := range ss {
		if s != nil {
			delete(h.sessions, s.local)
		}
	}
	if len(h.sessions) != n {
		h.publish()
	}
}

// publish gives the readers a fresh copy of the sessions.
func (h *handshakes) publish() {
	m := make(sessionIndex, len(h.sessions))
	for i, s := range h.sessions {
		m[i] = s
	}
	h.index.Store(&m)
}
