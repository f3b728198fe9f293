package core

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

func mustIdentity(t testing.TB) Identity {
	t.Helper()
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustShakes(t testing.TB, id Identity) *handshakes {
	t.Helper()
	h, err := newHandshakes(id)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var (
	addrI = netip.MustParseAddrPort("198.51.100.1:1873")
	addrR = netip.MustParseAddrPort("198.51.100.2:1873")
)

// run plays a handshake between initiator i (claiming idI) and responder r
// (claiming idR) and returns both sides' sessions and the first error.
func run(i, r *handshakes, idI, idR proto.ID, now time.Time) (si, sr *session, err error) {
	m1, err := i.start(idR, addrR, []byte("token"), now)
	if err != nil {
		return nil, nil, err
	}
	m2, _, err := r.receive(addrI, idI, m1, true, now)
	if err != nil {
		return nil, nil, err
	}
	m3, si, err := i.receive(addrR, idR, m2, false, now)
	if err != nil {
		return nil, nil, err
	}
	_, sr, err = r.receive(addrI, idI, m3, false, now)
	return si, sr, err
}

// An honest handshake gives both sides the same keys, crossed: what one
// seals, the other opens; each knows the other's key.
func TestHandshakeHonest(t *testing.T) {
	a, b := mustIdentity(t), mustIdentity(t)
	si, sr, err := run(mustShakes(t, a), mustShakes(t, b), a.ID, b.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if si.peer != b.ID || sr.peer != a.ID || !si.key.Equal(b.Key.Public()) || !sr.key.Equal(a.Key.Public()) {
		t.Fatal("sessions name the wrong peers or keys")
	}
	if si.remote != sr.local || sr.remote != si.local {
		t.Fatalf("indexes: initiator %d/%d, responder %d/%d", si.local, si.remote, sr.local, sr.remote)
	}
	inner := []byte("an inner datagram")
	sealed, err := si.seal(nil, inner, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got, err := sr.open(0, sealed[:proto.SealedPrefixLen], bytes.Clone(sealed[proto.SealedPrefixLen:]))
	if err != nil || !bytes.Equal(got, inner) {
		t.Fatalf("the responder opened %q, %v", got, err)
	}
	if _, err := sr.open(0, sealed[:proto.SealedPrefixLen], bytes.Clone(sealed[proto.SealedPrefixLen:])); !errors.Is(err, errReplay) {
		t.Fatalf("the same counter again: %v, want errReplay", err)
	}
	if _, err := si.open(0, sealed[:proto.SealedPrefixLen], bytes.Clone(sealed[proto.SealedPrefixLen:])); !errors.Is(err, errBadSeal) {
		t.Fatalf("opened with the sealing direction's key: %v, want errBadSeal", err)
	}
}

// Nobody can complete a handshake under a peer ID that is not its key's:
// not as the initiator, not as the responder. 100 attempts each, each with
// a fresh attacker key, claiming a victim's ID.
func TestHandshakeClaimRefused(t *testing.T) {
	victim, honest := mustIdentity(t), mustIdentity(t)
	for range 100 {
		liar := mustIdentity(t)
		liar.ID = victim.ID // its payload proves its own key, not the victim's
		if _, _, err := run(mustShakes(t, liar), mustShakes(t, honest), victim.ID, honest.ID, time.Now()); !errors.Is(err, errBadPayload) {
			t.Fatalf("a liar as initiator: %v, want errBadPayload", err)
		}
		if _, _, err := run(mustShakes(t, honest), mustShakes(t, liar), honest.ID, victim.ID, time.Now()); !errors.Is(err, errBadPayload) {
			t.Fatalf("a liar as responder: %v, want errBadPayload", err)
		}
	}
}

// Step 1 needs a valid token for its source (step 2 is larger), and a peer
// ID that could be a key's.
func TestHandshakeInitRules(t *testing.T) {
	a, b := mustIdentity(t), mustIdentity(t)
	i, r := mustShakes(t, a), mustShakes(t, b)
	m1, err := i.start(b.ID, addrR, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.receive(addrI, a.ID, m1, false, time.Now()); !errors.Is(err, errNoToken) {
		t.Fatalf("without a token: %v", err)
	}
	if _, _, err := r.receive(addrI, proto.ID{1}, m1, true, time.Now()); !errors.Is(err, errNotKeyDerived) {
		t.Fatalf("from a random ID: %v", err)
	}
	// A step 1 sent twice gets the same step 2: the first was lost.
	m2, _, err := r.receive(addrI, a.ID, m1, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := r.receive(addrI, a.ID, m1, true, time.Now())
	if err != nil || !bytes.Equal(again.Noise, m2.Noise) {
		t.Fatalf("a repeated step 1: %v, same step 2 %v", err, err == nil && bytes.Equal(again.Noise, m2.Noise))
	}
	// A step 2 from another address, or for another handshake, is refused.
	if _, _, err := i.receive(netip.MustParseAddrPort("203.0.113.9:1"), b.ID, m2, false, time.Now()); !errors.Is(err, errNoHandshake) {
		t.Fatalf("step 2 from elsewhere: %v", err)
	}
}

// Both sides start at once: exactly one handshake goes on, the one the
// lower peer ID started, and both end with the same session.
func TestHandshakeCrossing(t *testing.T) {
	a, b := mustIdentity(t), mustIdentity(t)
	if compareID(a.ID, b.ID) > 0 {
		a, b = b, a
	}
	ha, hb := mustShakes(t, a), mustShakes(t, b)
	now := time.Now()
	ma, _ := ha.start(b.ID, addrR, []byte("t"), now)
	mb, _ := hb.start(a.ID, addrI, []byte("t"), now)
	if _, _, err := ha.receive(addrR, b.ID, mb, true, now); !errors.Is(err, errCrossed) {
		t.Fatalf("the lower ID took the higher's step 1: %v", err)
	}
	m2, _, err := hb.receive(addrI, a.ID, ma, true, now)
	if err != nil || m2 == nil {
		t.Fatalf("the higher ID did not answer the lower's: %v", err)
	}
	m3, sa, err := ha.receive(addrR, b.ID, m2, false, now)
	if err != nil {
		t.Fatal(err)
	}
	_, sb, err := hb.receive(addrI, a.ID, m3, false, now)
	if err != nil || sa.remote != sb.local || sb.remote != sa.local {
		t.Fatalf("crossed handshake: %v", err)
	}
}

// A handshake is bounded: those that do not finish in time go, and the
// initiator sends its last step again while it waits.
func TestHandshakeResendsAndExpires(t *testing.T) {
	a, b := mustIdentity(t), mustIdentity(t)
	i := mustShakes(t, a)
	now := time.Now()
	if _, err := i.start(b.ID, addrR, []byte("t"), now); err != nil {
		t.Fatal(err)
	}
	resent := 0
	for d := time.Duration(0); d <= handshakeTimeout; d += resendEvery / 4 {
		i.tick(now.Add(d), func(netip.AddrPort, *proto.Handshake) { resent++ }, func(*session) {})
	}
	if resent < 3 || resent > int(handshakeTimeout/resendEvery) {
		t.Errorf("%d resends in %v", resent, handshakeTimeout)
	}
	if i.busy() {
		t.Error("an unanswered handshake outlived its timeout")
	}
	for range 2 * maxHandshakes {
		if _, err := i.start(mustIdentity(t).ID, addrR, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	if len(i.byIndex) > maxHandshakes {
		t.Errorf("%d handshakes in flight, at most %d", len(i.byIndex), maxHandshakes)
	}
}
