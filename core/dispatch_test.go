package core_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/proto"
)

// probe is a test community: type 1 carries up to 16 bytes, which it
// records; with block set, its handler waits for block to close.
type probe struct {
	name   string
	block  chan struct{}
	env    community.Env
	mu     sync.Mutex
	got    []string
	closed bool
}

func (p *probe) Name() string { return p.name }
func (p *probe) Messages() []community.MessageSpec {
	return []community.MessageSpec{{Type: 1, Name: "note", MaxSize: 16, Handle: p.handle}}
}
func (p *probe) Start(_ context.Context, env community.Env) error { p.env = env; return nil }
func (p *probe) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

func (p *probe) handle(ctx context.Context, from community.Peer, body []byte) error {
	if p.block != nil {
		select {
		case <-p.block:
		case <-ctx.Done():
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, string(body))
	return nil
}

func (p *probe) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

// twoProbes starts two nodes, each with the communities "a" and "b".
func twoProbes(t *testing.T, opts coretest.Options) (*coretest.Network, [2][2]*probe) {
	var ps [2][2]*probe
	opts.Nodes = 2
	net := coretest.Start(t, opts, func(i int) []community.Community {
		ps[i] = [2]*probe{{name: "a"}, {name: "b"}}
		return []community.Community{ps[i][0], ps[i][1]}
	})
	net.WaitMembers("a")
	net.WaitMembers("b")
	return net, ps
}

// The test: a message over the declared size, or of a type the
// community did not register, never reaches a handler and is counted; so is
// one from a stranger, and one for a community we do not run.
func TestDispatchDropsAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, ps := twoProbes(t, coretest.Options{})
		to := net.Node(1).ID
		stats := net.Node(1).Stats
		send := func(typ community.Type, body string) {
			if err := ps[0][0].env.Send(to, typ, []byte(body)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			synctest.Wait()
		}
		send(1, "fits")
		send(1, strings.Repeat("x", 17))
		send(7, "unregistered")
		if got := ps[1][0].received(); len(got) != 1 || got[0] != "fits" {
			t.Errorf("handler got %q, want only \"fits\"", got)
		}
		if n := stats.Dropped(core.DropLimit); n != 1 {
			t.Errorf("limit drops %d, want 1", n)
		}
		if n := stats.Dropped(core.DropUnknownType); n != 1 {
			t.Errorf("unknown_type drops %d, want 1", n)
		}

		// A stranger that never walked: right community, right size.
		stranger, err := net.Memnet().Host(netip.MustParseAddr("192.0.2.9")).Listen(1)
		if err != nil {
			t.Fatal(err)
		}
		defer stranger.Close()
		raw := func(cid proto.ID) {
			h := proto.Header{Type: 1, Community: cid, Sender: proto.ID{9}, Dest: net.Node(1).Addr}
			stranger.WriteTo(append(h.AppendTo(nil), "hi"...), net.Node(1).Addr)
			synctest.Wait()
		}
		raw(community.IDFromName("a"))
		raw(community.IDFromName("nobody-runs-this"))
		if n := stats.Dropped(core.DropUnverified); n != 1 {
			t.Errorf("unverified drops %d, want 1", n)
		}
		if n := stats.Dropped(core.DropUnknownCommunity); n != 1 {
			t.Errorf("unknown_community drops %d, want 1", n)
		}
		if got := ps[1][0].received(); len(got) != 1 {
			t.Errorf("handler got %q", got)
		}
	})
}

// A community whose handler hangs fills its own queue (and only its own):
// the overflow is dropped and counted, the other community and the walk go
// on.
func TestSlowCommunityStallsNobody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, ps := twoProbes(t, coretest.Options{Config: func(_ int, c *core.Config) { c.CommunityQueueLen = 4 }})
		block := make(chan struct{})
		ps[1][0].block = block
		to := net.Node(1).ID
		for range 20 {
			ps[0][0].env.Send(to, 1, []byte("slow"))
		}
		ps[0][1].env.Send(to, 1, []byte("quick"))
		synctest.Wait()
		if got := ps[1][1].received(); len(got) != 1 || got[0] != "quick" {
			t.Errorf("b got %q while a hung, want \"quick\"", got)
		}
		// One in the handler, four queued, the rest dropped.
		if n := net.Node(1).Stats.Dropped(core.DropQueueFull); n != 15 {
			t.Errorf("queue_full drops %d, want 15", n)
		}
		time.Sleep(2 * time.Minute) // past PeerTimeout: only keep-alives keep the peers
		if peers := net.Node(1).Overlay.VerifiedPeers(); len(peers) != 1 {
			t.Errorf("node 1 lost its peer while a community hung: %v", peers)
		}
		close(block)
		synctest.Wait()
		if got := ps[1][0].received(); len(got) != 5 {
			t.Errorf("a handled %d messages, want 5", len(got))
		}
	})
}

func TestEnv(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net, ps := twoProbes(t, coretest.Options{})
		env := ps[0][0].env
		if m := env.Members(); len(m) != 1 || m[0].ID != net.Node(1).ID || m[0].Addr != net.Node(1).Addr {
			t.Errorf("Members %+v", m)
		}
		if env.Self() != net.Node(0).ID {
			t.Errorf("Self %v", env.Self())
		}
		if err := env.Send(proto.ID{42}, 1, nil); !errors.Is(err, community.ErrUnknownPeer) {
			t.Errorf("Send to a stranger: %v", err)
		}
		if err := env.Send(net.Node(1).ID, 1, make([]byte, proto.MaxDatagram)); !errors.Is(err, community.ErrTooLarge) {
			t.Errorf("Send too large: %v", err)
		}
		// Between authenticated peers, datagrams are sealed: the largest
		// body leaves room for the seal.
		body := make([]byte, proto.MaxSealedInner-proto.MinHeaderLen)
		if err := env.Send(net.Node(1).ID, 1, body); err != nil {
			t.Errorf("Send the largest body: %v", err)
		}
		if err := env.Send(net.Node(1).ID, 1, append(body, 0)); !errors.Is(err, community.ErrTooLarge) {
			t.Errorf("Send one byte over the largest sealed body: %v", err)
		}
		net.Stop(0)
		if !ps[0][0].closed || !ps[0][1].closed {
			t.Error("communities not closed by Overlay.Close")
		}
		if err := env.Send(net.Node(1).ID, 1, nil); !errors.Is(err, community.ErrClosed) {
			t.Errorf("Send after Close: %v", err)
		}
	})
}

func TestNewChecksCommunities(t *testing.T) {
	okSpec := community.MessageSpec{Type: 1, MaxSize: 1, Handle: func(context.Context, community.Peer, []byte) error { return nil }}
	for name, cs := range map[string][]community.Community{
		"bad name":       {&spec{name: "Chat"}},
		"twice":          {&spec{name: "x"}, &spec{name: "x"}},
		"type twice":     {&spec{name: "x", specs: []community.MessageSpec{okSpec, okSpec}}},
		"no handler":     {&spec{name: "x", specs: []community.MessageSpec{{Type: 1, MaxSize: 1}}}},
		"no max size":    {&spec{name: "x", specs: []community.MessageSpec{{Type: 1, Handle: okSpec.Handle}}}},
		"nil community":  {nil},
		"17 communities": seventeen(),
	} {
		tr, _ := core.ListenUDP("127.0.0.1:0")
		_, err := core.New(core.Config{PeerID: proto.ID{1}, Transport: tr, Communities: cs})
		tr.Close()
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// spec is a community that only declares messages.
type spec struct {
	name  string
	specs []community.MessageSpec
}

func (s *spec) Name() string                               { return s.name }
func (s *spec) Messages() []community.MessageSpec          { return s.specs }
func (s *spec) Start(context.Context, community.Env) error { return nil }
func (s *spec) Close() error                               { return nil }

func seventeen() []community.Community {
	var cs []community.Community
	for i := range 17 {
		cs = append(cs, &spec{name: "c" + strings.Repeat("x", i)})
	}
	return cs
}
