package core

import (
	"bytes"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/proto"
)

// openWorld is a keyed node that holds one session with a peer, and the
// peer's side of it, to seal with.
func openWorld(t testing.TB) (o *Overlay, peerSide *session, peer Identity) {
	me, peer := mustIdentity(t), mustIdentity(t)
	si, sr, err := run(mustShakes(t, peer), mustShakes(t, me), peer.ID, me.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Key = me.Key
	cfg.Transport = newSink("198.51.100.1:1873")
	o, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o.auth.shakes.install(sr)
	return o, si, peer
}

// sealedSeeds seals an intro request and a community message from the peer.
func sealedSeeds(t testing.TB, s *session, peer proto.ID) [][]byte {
	var out [][]byte
	for _, m := range []proto.Message{&proto.IntroRequest{Nonce: 1, KeepAlive: true}, &proto.Puncture{Nonce: 2}} {
		inner, err := proto.Encode(nil, proto.Header{Community: proto.CoreCommunity(), Sender: peer, Dest: netip.MustParseAddrPort("198.51.100.1:1873")}, m)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := s.seal(nil, inner, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sealed)
	}
	return out
}

// FuzzOpen feeds datagrams to the reader's sealed path of a node that holds
// a session: nothing panics, everything is either dropped with a reason or
// opens to a datagram from the session's peer, and a forged or replayed
// datagram never opens.
func FuzzOpen(f *testing.F) {
	o, s, peer := openWorld(f)
	for _, seed := range sealedSeeds(f, s, peer.ID) {
		f.Add(seed)
		tampered := bytes.Clone(seed)
		tampered[len(tampered)/2] ^= 1
		f.Add(tampered)
	}
	f.Add([]byte{proto.Magic0, proto.Magic1, proto.Sealed})
	from := netip.MustParseAddrPort("203.0.113.5:1873")
	f.Fuzz(func(t *testing.T, b []byte) {
		p := o.pool.get()
		defer o.pool.put(p)
		n := copy(p.buf[:], b)
		lim := newSourceLimiter(math.Inf(1), 1)
		r, ok := o.in.parse(p, n, from, o.cfg.Transport, lim)
		if !ok {
			if int(r) >= len(DropReasons()) {
				t.Fatalf("dropped with an unknown reason %d", r)
			}
			return
		}
		if !proto.IsSealed(b) {
			return // a plaintext datagram: the other fuzz targets
		}
		if p.stale {
			return // a notice for the worker: sealed for a session we do not have
		}
		if p.sess == nil || p.hdr.Sender != peer.ID {
			t.Fatalf("a sealed datagram opened to sender %v, session %v", p.hdr.Sender, p.sess != nil)
		}
	})
}

// The seeds of FuzzOpen do what they say: the genuine ones open once, a
// second time they are replays, and the tampered ones do not open.
func TestOpenSeeds(t *testing.T) {
	o, s, peer := openWorld(t)
	lim := newSourceLimiter(math.Inf(1), 1)
	from := netip.MustParseAddrPort("203.0.113.5:1873")
	try := func(b []byte) DropReason {
		p := o.pool.get()
		defer o.pool.put(p)
		n := copy(p.buf[:], b)
		r, ok := o.in.parse(p, n, from, o.cfg.Transport, lim)
		switch {
		case ok && p.stale:
			return DropNoSession // counted, and a notice for the worker
		case ok:
			return 0
		}
		return r
	}
	for i, seed := range sealedSeeds(t, s, peer.ID) {
		tampered := bytes.Clone(seed)
		tampered[len(tampered)-1] ^= 1
		if r := try(tampered); r != DropBadSeal {
			t.Errorf("seed %d tampered: %v, want bad_seal", i, r)
		}
		if r := try(seed); r != 0 {
			t.Errorf("seed %d: %v, want it to open", i, r)
		}
		if r := try(seed); r != DropReplay {
			t.Errorf("seed %d again: %v, want replay", i, r)
		}
	}
	stranger := append(proto.AppendSealedPrefix(nil, s.remote+1, 0), make([]byte, 80)...)
	if r := try(stranger); r != DropNoSession {
		t.Errorf("an unknown index: %v, want no_session", r)
	}
}
