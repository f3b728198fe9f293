// Package coretest runs a handful of walkie nodes on the in-memory
// network (core/memnet) so that a community author can test a community in
// a few lines:
//
//	synctest.Test(t, func(t *testing.T) {
//		net := coretest.Start(t, coretest.Options{Nodes: 3}, func(i int) []community.Community {
//			return []community.Community{ping.New()}
//		})
//		net.WaitMembers("ping")
//		// ... act on the communities, then check what they saw
//	})
//
// It is built for testing/synctest: time is the bubble's fake clock, so
// latency, loss and timeouts cost no real time, and a test that leaves a
// goroutine behind fails. Start registers Close with t.Cleanup.
//
// It lives under core, not community, because it starts core's overlay:
// imports point one way, and community imports nothing above proto.
package coretest

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/memnet"
	"github.com/walkie-p2p/walkie/proto"
)

// port is the UDP port of every node; each node has its own IP.
const port = 1873

// Options configures a Network. The zero value (but for Nodes) is a perfect
// network: no latency, no loss.
type Options struct {
	// Nodes is how many nodes to start. Required (at least 1).
	Nodes int
	// Loss is the probability that a datagram is lost, from 0 to 1.
	Loss float64
	// Latency is the one-way delay of every datagram.
	Latency time.Duration
	// Seed seeds the network's randomness (loss, jitter).
	Seed uint64
	// Dir is the root of the nodes' data directories; node i keeps its
	// peer ID (and whatever its communities store) in NodeDir(i), which
	// survives Restart. Default: a t.TempDir().
	Dir string
	// Config, if set, adjusts each node's core configuration before it
	// starts (the Transport, Key, Bootstrap, Communities and Metrics are
	// already set).
	Config func(i int, c *core.Config)
}

// NodeDir is node i's data directory. It needs Dir to be set, which Start
// does on its own copy of the Options; set Dir yourself when a community
// must know its directory (for example to open a store there).
func (o Options) NodeDir(i int) string {
	return filepath.Join(o.Dir, "node"+strconv.Itoa(i))
}

// Node is one node of a Network.
type Node struct {
	Index int
	ID    proto.ID       // peer ID, the same across restarts
	Addr  netip.AddrPort // its address on the memnet, the same across restarts
	Dir   string         // its data directory
	// Stats counts what its overlay counted (drops by reason, ...); a
	// restart starts a fresh one.
	Stats *core.Stats
	// Overlay and Communities are nil while the node is stopped.
	Overlay     *core.Overlay
	Communities []community.Community
}

// Running reports whether the node is started.
func (n *Node) Running() bool { return n.Overlay != nil }

// Network is a set of nodes on one memnet. Node 0 is everyone's bootstrap.
// Its methods must be called from the test's goroutine.
type Network struct {
	t        testing.TB
	opts     Options
	mem      *memnet.Network
	newComms func(i int) []community.Community // called at every node start
	nodes    []*Node
}

// Start creates the network, starts opts.Nodes nodes, each with the
// communities newComms(i) returns (it is called again at every Start of node
// i, to get fresh instances) and registers Close with t.Cleanup. It fails
// the test if a node cannot start.
func Start(t testing.TB, opts Options, newComms func(i int) []community.Community) *Network {
	t.Helper()
	if opts.Nodes < 1 {
		t.Fatal("coretest: Options.Nodes must be at least 1")
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	n := &Network{
		t: t, opts: opts, newComms: newComms,
		mem: memnet.New(memnet.Config{Loss: opts.Loss, Latency: opts.Latency, Seed: opts.Seed}),
	}
	t.Cleanup(n.Close)
	for i := range opts.Nodes {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i + 1)})
		n.nodes = append(n.nodes, &Node{Index: i, Addr: netip.AddrPortFrom(ip, port), Dir: opts.NodeDir(i)})
	}
	for i := range n.nodes {
		n.Start(i)
	}
	return n
}

// Len is the number of nodes, running or stopped.
func (n *Network) Len() int { return len(n.nodes) }

// Node returns node i.
func (n *Network) Node(i int) *Node { return n.nodes[i] }

// Memnet returns the underlying network, for its Stats or to add hosts.
func (n *Network) Memnet() *memnet.Network { return n.mem }

// Start starts node i (a no-op if it runs): same address, same data
// directory, hence same peer ID, and fresh communities from newComms(i).
func (n *Network) Start(i int) {
	n.t.Helper()
	node := n.nodes[i]
	if node.Running() {
		return
	}
	ident, err := core.LoadOrCreateIdentity(node.Dir, nil)
	if err != nil {
		n.t.Fatalf("coretest: node %d: %v", i, err)
	}
	conn, err := n.mem.Host(node.Addr.Addr()).Listen(node.Addr.Port())
	if err != nil {
		n.t.Fatalf("coretest: node %d: %v", i, err)
	}
	cs := n.newComms(i)
	cfg := core.DefaultLocalConfig()
	cfg.Key = ident.Key
	cfg.Transport = conn
	cfg.Communities = cs
	if i != 0 {
		cfg.Bootstrap = []netip.AddrPort{n.nodes[0].Addr}
	}
	node.Stats = core.NewStats()
	cfg.Metrics = node.Stats
	if n.opts.Config != nil {
		n.opts.Config(i, &cfg)
	}
	o, err := core.New(cfg)
	if err != nil {
		conn.Close()
		for _, c := range cs {
			c.Close()
		}
		n.t.Fatalf("coretest: node %d: %v", i, err)
	}
	node.ID, node.Overlay, node.Communities = ident.ID, o, cs
	o.Start()
}

// Stop stops node i (a no-op if it is stopped): its overlay closes, which
// closes its communities. Its address and data directory stay.
func (n *Network) Stop(i int) {
	n.t.Helper()
	node := n.nodes[i]
	if !node.Running() {
		return
	}
	if err := node.Overlay.Close(); err != nil {
		n.t.Errorf("coretest: stopping node %d: %v", i, err)
	}
	node.Overlay, node.Communities = nil, nil
}

// Restart stops and starts node i.
func (n *Network) Restart(i int) {
	n.t.Helper()
	n.Stop(i)
	n.Start(i)
}

// WaitMembers waits until every running node that serves the community
// sees every other one as a member, and fails the test if that takes more
// than ten minutes of (fake) time. It returns how long it took.
func (n *Network) WaitMembers(name string) time.Duration {
	n.t.Helper()
	d, err := n.WaitFor(10*time.Minute, func() error { return n.membersComplete(name) })
	if err != nil {
		n.t.Fatalf("coretest: %s members: %v", name, err)
	}
	return d
}

// WaitFor polls cond every 100 ms until it returns nil and returns how long
// that took, or cond's last error once timeout passed.
func (n *Network) WaitFor(timeout time.Duration, cond func() error) (time.Duration, error) {
	start := time.Now()
	for {
		err := cond()
		if err == nil {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return time.Since(start), fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// membersComplete says which running node misses which member.
func (n *Network) membersComplete(name string) error {
	cid := community.IDFromName(name)
	var serving []*Node
	for _, node := range n.nodes {
		if node.Running() && slices.ContainsFunc(node.Communities, func(c community.Community) bool { return c.Name() == name }) {
			serving = append(serving, node)
		}
	}
	for _, a := range serving {
		st := a.Overlay.Status()
		for _, b := range serving {
			if a == b {
				continue
			}
			if !hasMember(st, b.ID.String(), cid.String()) {
				return fmt.Errorf("node %d does not see node %d as a member", a.Index, b.Index)
			}
		}
	}
	return nil
}

// hasMember reports whether the status lists peer id as verified and
// announcing the community named by its ID or name.
func hasMember(st core.Status, id, cid string) bool {
	name := ""
	for _, c := range st.Communities {
		if c.ID == cid {
			name = c.Name
		}
	}
	for _, p := range st.Peers {
		if p.ID == id && p.Verified && (slices.Contains(p.Communities, name) || slices.Contains(p.Communities, cid)) {
			return true
		}
	}
	return false
}

// Close stops every node and the network. Start registers it with
// t.Cleanup; calling it again is harmless.
func (n *Network) Close() {
	for i := range n.nodes {
		n.Stop(i)
	}
	n.mem.Close()
}
