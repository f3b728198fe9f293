package core

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
)

// Run it with:
//
//	go test ./core -run='^$' -fuzz='^FuzzDispatch$' -fuzztime=60s

// fuzzCommunity is the community of FuzzDispatch: type 1 records, type 2
// fails on a body that starts with 0, type 3 answers the sender.
type fuzzCommunity struct {
	env     community.Env
	handled int
}

func (c *fuzzCommunity) Name() string { return "fuzz" }
func (c *fuzzCommunity) Messages() []community.MessageSpec {
	return []community.MessageSpec{
		{Type: 1, Name: "note", MaxSize: 64, Handle: c.handle},
		{Type: 2, Name: "fails", MaxSize: proto.MaxDatagram, Handle: c.handle},
		{Type: 3, Name: "echo", MaxSize: 32, Handle: c.handle},
	}
}
func (c *fuzzCommunity) Start(_ context.Context, env community.Env) error { c.env = env; return nil }
func (c *fuzzCommunity) Close() error                                     { return nil }

func (c *fuzzCommunity) handle(_ context.Context, from community.Peer, body []byte) error {
	c.handled++
	if len(body) > 0 && body[0] == 0 {
		return errors.New("body starts with 0")
	}
	if len(body) > 0 && body[0] == 3 {
		return c.env.Send(from.ID, 3, body)
	}
	return nil
}

// The fixed world of FuzzDispatch: a time, the node's peers, an outstanding
// request and an expected invitee, so that valid packets reach every path.
var (
	fuzzNow     = time.Unix(1_700_000_000, 0)
	fuzzMember  = proto.ID{2}    // verified, in the community
	fuzzOther   = proto.ID{3}    // verified, not in it
	fuzzInvitee = proto.ID{4}    // expected to puncture
	fuzzNonce   = uint64(0xfeed) // our outstanding request, to fuzzMember
	fuzzSources = []netip.AddrPort{
		netip.MustParseAddrPort("203.0.0.1:1873"),     // 0: fuzzMember
		netip.MustParseAddrPort("203.0.0.2:1873"),     // 1: fuzzOther
		netip.MustParseAddrPort("192.0.2.66:4000"),    // 2: a stranger
		netip.MustParseAddrPort("192.0.2.44:1873"),    // 3: fuzzInvitee's WAN
		netip.MustParseAddrPort("198.51.100.7:1873"),  // 4: our own subnet (beacons)
		netip.MustParseAddrPort("[2001:db8::5]:1873"), // 5: an IPv6 stranger
	}
)

// fixedTokens returns a token issuer with an all-zero key, so that seeds can
// carry valid tokens.
func fixedTokens(bucket time.Duration) *tokens {
	return tokensWithKey([16]byte{}, bucket)
}

// fuzzOverlay returns a node, not started, with the fixed world above and a
// started fuzzCommunity whose messages the test delivers itself.
func fuzzOverlay(t testing.TB) (*Overlay, *fuzzCommunity, *Stats, *sinkTransport) {
	sink := newSink("198.51.100.1:1873")
	st := NewStats()
	fc := &fuzzCommunity{}
	cfg := DefaultConfig()
	cfg.PeerID = proto.ID{1}
	cfg.Transport = sink
	cfg.Metrics = st
	cfg.Communities = []community.Community{fc}
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	*o.tok = *fixedTokens(cfg.TokenBucket)
	o.started = fuzzNow
	m, _ := o.table.upsert(fuzzMember, fuzzSources[0], fuzzNow, cfg.PunctureRate)
	o.table.setLAN(m, fuzzSources[0])
	o.table.setCommunities(m, []proto.ID{community.IDFromName("fuzz")})
	q, _ := o.table.upsert(fuzzOther, fuzzSources[1], fuzzNow, cfg.PunctureRate)
	o.table.setLAN(q, netip.MustParseAddrPort("10.0.0.2:1873"))
	o.asked[fuzzNonce] = outstanding{to: fuzzSources[0], sent: fuzzNow, hadToken: true}
	o.table.expectInvitee(fuzzInvitee, netip.MustParseAddrPort("10.1.0.2:1873"), fuzzSources[3], fuzzNow.Add(cfg.InviteeTTL))
	for _, r := range o.comms.runners {
		if err := r.c.Start(o.ctx, env{r}); err != nil {
			t.Fatal(err)
		}
		r.ok = true
	}
	o.publish() // what the communities' checks read
	return o, fc, st, sink
}

// progress sums everything the node counts or does for a packet: drops by
// reason, core counters, datagrams written and community handler calls.
func progress(st *Stats, sink *sinkTransport, fc *fuzzCommunity) uint64 {
	n := sink.writes.Load() + uint64(fc.handled)
	for _, r := range DropReasons() {
		n += st.Dropped(r)
	}
	for _, c := range Counters() {
		n += st.Count(c)
	}
	return n
}

// fuzzSeeds are real encodings of every core message and of community
// messages, each from the source that makes it valid, and hostile variants.
func fuzzSeeds(tb testing.TB) (srcs []byte, pkts [][]byte) {
	tok := fixedTokens(DefaultConfig().TokenBucket)
	tokFor := func(i int) []byte { t := tok.issue(fuzzSources[i], fuzzNow); return t[:] }
	cid := community.IDFromName("fuzz")
	add := func(src int, pkt []byte) { srcs, pkts = append(srcs, byte(src)), append(pkts, pkt) }
	enc := func(src int, sender proto.ID, m proto.Message, pad int) []byte {
		pkt, err := proto.Encode(nil, proto.Header{Community: proto.CoreCommunity(), Sender: sender, Dest: netip.MustParseAddrPort("198.51.100.1:1873")}, m)
		if err != nil {
			tb.Fatal(err)
		}
		pkt = proto.Pad(pkt, pad)
		add(src, pkt)
		return pkt
	}
	cmsg := func(src int, sender, community proto.ID, typ proto.Type, body []byte) []byte {
		h := proto.Header{Type: typ, Community: community, Sender: sender, Dest: netip.MustParseAddrPort("[2001:db8::1]:1873")}
		pkt := append(h.AppendTo(nil), body...)
		add(src, pkt)
		return pkt
	}
	direct := netip.MustParseAddrPort("198.51.100.9:1873")
	req := enc(0, fuzzMember, &proto.IntroRequest{Nonce: 1, LAN: fuzzSources[0], Token: tokFor(0), Communities: []proto.ID{cid}, WantMore: true}, 0)
	enc(1, fuzzOther, &proto.IntroRequest{Nonce: 2, Token: tokFor(1), KeepAlive: true, Symmetric: true}, 0)
	enc(2, proto.ID{9}, &proto.IntroRequest{Nonce: 3}, 128)
	enc(2, proto.ID{9}, &proto.IntroRequest{Nonce: 3, Token: tokFor(2)}, 0)
	enc(5, proto.ID{9}, &proto.IntroRequest{Nonce: 4, Token: tokFor(5), LAN: fuzzSources[5]}, 0)
	enc(0, fuzzMember, &proto.IntroResponse{Nonce: fuzzNonce, LAN: fuzzSources[0], Token: make([]byte, tokenLen), Communities: []proto.ID{cid},
		Peers:        []proto.PeerInfo{{ID: proto.ID{5}, LAN: direct, WAN: direct}, {ID: proto.ID{6}, WAN: direct}},
		Invitee:      &proto.PeerInfo{ID: proto.ID{7}, LAN: netip.MustParseAddrPort("10.2.0.2:1873"), WAN: netip.MustParseAddrPort("192.0.2.77:1873")},
		MoreInvitees: []proto.PeerInfo{{ID: proto.ID{8}, WAN: netip.MustParseAddrPort("192.0.2.78:1873")}}}, 0)
	enc(0, fuzzMember, &proto.PunctureRequest{Nonce: 5, Target: proto.PeerInfo{ID: proto.ID{10}, LAN: netip.MustParseAddrPort("10.3.0.2:1873"), WAN: netip.MustParseAddrPort("192.0.2.80:1873")}}, 0)
	enc(3, fuzzInvitee, &proto.Puncture{Nonce: 6, LAN: netip.MustParseAddrPort("10.1.0.2:1873"), Token: make([]byte, tokenLen)}, 0)
	enc(4, proto.ID{11}, &proto.Beacon{LAN: fuzzSources[4], Communities: []proto.ID{cid}}, 128)
	cmsg(0, fuzzMember, cid, 1, []byte("hello"))
	cmsg(0, fuzzMember, cid, 2, []byte{0, 1, 2})
	cmsg(0, fuzzMember, cid, 3, []byte{3, 'e', 'c', 'h', 'o'})
	cmsg(0, fuzzMember, cid, 1, make([]byte, 100)) // over MaxSize
	cmsg(0, fuzzMember, cid, 9, []byte("unregistered"))
	cmsg(1, fuzzOther, cid, 1, []byte("not a member"))
	cmsg(2, proto.ID{9}, proto.ID{0xee}, 1, []byte("unknown community"))
	// Hostile: truncated, bad magic, bad version, huge msgpack length
	// prefixes, oversize.
	add(0, req[:20])
	add(0, append([]byte{'X', 'Y'}, req[2:]...))
	add(0, append(append([]byte(nil), req[:2]...), append([]byte{99}, req[3:]...)...))
	hdr := req[:proto.MinHeaderLen]
	for _, body := range [][]byte{
		{0x81, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff},       // str 32 of 4 GiB
		{0x81, 0x03, 0xc6, 0xff, 0xff, 0xff, 0xff},       // bin 32 of 4 GiB
		{0x81, 0x04, 0xdd, 0xff, 0xff, 0xff, 0xff},       // array 32 of 4 G items
		{0xdf, 0xff, 0xff, 0xff, 0xff},                   // map 32 of 4 G pairs
		{0x81, 0x01, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff}, // truncated uint64
	} {
		add(0, append(append([]byte(nil), hdr...), body...))
	}
	add(0, append(append([]byte(nil), req...), make([]byte, proto.MaxDatagram)...))
	// The seed protocol's golden datagrams (docs/protocol.md), and one that
	// makes the seed spin.
	for _, d := range []string{
		"d16:network_operator0:15:connection_typei1e11:destinationd7:address9:127.0.0.14:porti1873ee4:typei1e7:peer_id8:bbbbbbbbe",
		"d16:network_operator0:3:pexld7:address9:127.0.0.24:porti1873e7:peer_id8:bbbbbbbbed7:address9:127.0.0.34:porti1873e7:peer_id8:ccccccccee15:connection_typei1e11:destinationd7:address9:127.0.0.24:porti1873ee4:typei2e15:internal_sourced7:address9:127.0.0.14:porti1873ee7:peer_id8:aaaaaaaa7:inviteed7:address9:127.0.0.34:porti1873e7:peer_id8:ccccccccee",
		"d11:destinationd7:address9:127.0.0.34:porti1873ee13:puncture_peerd7:address9:127.0.0.24:porti1873e7:peer_id8:bbbbbbbbe6:sourced7:address9:127.0.0.14:porti1873ee4:typei3e7:peer_id8:aaaaaaaae",
		"d11:destinationd7:address9:127.0.0.24:porti1873ee6:sourced7:address9:127.0.0.34:porti1873ee4:typei4e7:peer_id8:cccccccce",
		"d5:ab",
	} {
		add(2, []byte(d))
	}
	return srcs, pkts
}

// FuzzDispatch feeds a datagram from one of a few sources through the
// reader's admit and then the worker's handle, or the community's deliver,
// as a running node would. It checks that nothing panics, that an admitted
// packet lands in exactly one queue, and that every packet is accounted
// for: dropped with a reason, or handled (a counter, a datagram sent, or a
// handler call).
func FuzzDispatch(f *testing.F) {
	srcs, pkts := fuzzSeeds(f)
	for i := range pkts {
		f.Add(srcs[i], pkts[i])
	}
	f.Fuzz(func(t *testing.T, src byte, data []byte) {
		o, fc, st, sink := fuzzOverlay(t)
		defer o.Close()
		from := fuzzSources[int(src)%len(fuzzSources)]
		lim := newSourceLimiter(math.Inf(1), 1)
		before := progress(st, sink, fc)
		p := o.pool.get()
		n := copy(p.buf[:], data) // a reader's buffer: one byte more than MaxDatagram
		reason, ok := o.in.admit(p, n, from, o.cfg.Transport, lim)
		if !ok {
			o.pool.put(p)
			if int(reason) >= len(DropReasons()) {
				t.Fatalf("dropped with an unknown reason %d", reason)
			}
			return // the reader counts it: o.m.Drop(reason)
		}
		queued := len(o.in.inbox)
		for _, r := range o.comms.runners {
			queued += len(r.in)
		}
		if queued != 1 {
			t.Fatalf("admitted packet in %d queues, want 1", queued)
		}
		select {
		case p := <-o.in.inbox:
			o.handle(p, fuzzNow)
			o.pool.put(p)
		default:
			for _, r := range o.comms.runners {
				select {
				case p := <-r.in:
					r.deliver(p)
					o.pool.put(p)
				default:
				}
			}
		}
		if progress(st, sink, fc) == before {
			t.Fatalf("packet from %v admitted, then neither counted nor handled: % x", from, data)
		}
		if o.table.len() > o.cfg.MaxPeers || o.table.candidates() > o.cfg.MaxCandidates ||
			len(o.table.invitees) > o.cfg.MaxCandidates || len(o.asked) > maxOutstanding {
			t.Fatalf("tables out of bounds: %d peers, %d candidates, %d invitees, %d outstanding",
				o.table.len(), o.table.candidates(), len(o.table.invitees), len(o.asked))
		}
	})
}

// TestFuzzSeedsReachEveryPath: the seeds are worth their name: each valid
// one reaches its handler (a counter moves, or a community handler runs)
// rather than a drop.
func TestFuzzSeedsReachEveryPath(t *testing.T) {
	srcs, pkts := fuzzSeeds(t)
	handledKinds := map[string]bool{}
	for i, pkt := range pkts {
		o, fc, st, _ := fuzzOverlay(t)
		lim := newSourceLimiter(math.Inf(1), 1)
		p := o.pool.get()
		n := copy(p.buf[:], pkt)
		if _, ok := o.in.admit(p, n, fuzzSources[srcs[i]], o.cfg.Transport, lim); ok {
			select {
			case p := <-o.in.inbox:
				o.handle(p, fuzzNow)
			case p := <-o.comms.runners[0].in:
				o.comms.runners[0].deliver(p)
			}
		}
		for _, c := range []Counter{IntroRequestsReceived, IntroResponsesReceived, PunctureRequestsReceived, PuncturesReceived, IntroRequestsSent, PuncturesSent, PunctureRequestsSent} {
			if st.Count(c) > 0 {
				handledKinds[c.Name()] = true
			}
		}
		if fc.handled > 0 {
			handledKinds["community"] = true
		}
		o.Close()
	}
	for _, want := range []string{"community",
		IntroRequestsReceived.Name(), IntroResponsesReceived.Name(), PunctureRequestsReceived.Name(),
		PuncturesReceived.Name(), IntroRequestsSent.Name(), PuncturesSent.Name(), PunctureRequestsSent.Name()} {
		if !handledKinds[want] {
			t.Errorf("no seed reaches %s", want)
		}
	}
}
