package loopback

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLoopbackNetwork starts a bootstrap node on 127.0.0.1 and four nodes on
// 127.0.0.2 to 127.0.0.5 that know only the bootstrap. Within 10 s every node
// must have every other as a verified peer, and every node must have found
// its first peer within 1 s of starting; every node is a member of both
// default communities of every other.
func TestLoopbackNetwork(t *testing.T) {
	boot := startNode(t, "bootstrap", nodeArgs(t.TempDir(), "127.0.0.1")...)
	nodes := []*node{boot}
	for i := 2; i <= 5; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		n := startNode(t, ip, nodeArgs(t.TempDir(), ip, "-bootstrap", boot.lan)...)
		if !strings.HasPrefix(n.lan, ip+":") {
			t.Errorf("%s announces LAN address %s", ip, n.lan)
		}
		nodes = append(nodes, n)
	}

	statuses := make([]*status, len(nodes))
	meshed := poll(10*time.Second, func() bool {
		for i, n := range nodes {
			s, err := n.status()
			if err != nil {
				t.Logf("%s: %v", n.name, err)
				return false
			}
			statuses[i] = s
		}
		for i, n := range nodes {
			v := statuses[i].verified()
			for _, m := range nodes {
				if m != n && !v[m.peerID] {
					return false
				}
			}
			// Membership follows the handshake that proves a peer's
			// key, a round trip after verification: wait for it too.
			for _, c := range statuses[i].Communities {
				if c.Members != len(nodes)-1 {
					return false
				}
			}
		}
		return true
	})
	for i, n := range nodes {
		if s := statuses[i]; s != nil {
			t.Logf("%s (%s): %d verified peers %v, first_peer_ms %s", n.name, s.PeerID, len(s.verified()),
				slices.Sorted(maps.Keys(s.verified())), ms(s.FirstPeerMS))
		}
	}
	if !meshed {
		t.Fatal("the nodes did not all verify each other and join each other's communities within 10 s")
	}

	for i, n := range nodes {
		s := statuses[i]
		if s.PeerID != n.peerID || s.LAN != n.lan {
			t.Errorf("%s: status peer_id %s lan %s, start line %s %s", n.name, s.PeerID, s.LAN, n.peerID, n.lan)
		}
		switch {
		case s.FirstPeerMS == nil:
			t.Errorf("%s: first_peer_ms is null with %d verified peers", n.name, len(s.verified()))
		case n != boot && *s.FirstPeerMS >= 1000:
			// The bootstrap waits for the others to start, so only the
			// nodes that start against a running bootstrap are timed.
			t.Errorf("%s: first_peer_ms %d, want < 1000", n.name, *s.FirstPeerMS)
		}
		// Every node runs the default communities, so all four others
		// are members of each.
		if len(s.Communities) != 2 {
			t.Errorf("%s: communities %+v, want chat and game", n.name, s.Communities)
		}
		for _, c := range s.Communities {
			if c.Members != len(nodes)-1 {
				t.Errorf("%s: community %s has %d members, want %d", n.name, c.Name, c.Members, len(nodes)-1)
			}
		}
	}
}

// TestBootstrapByName checks that a -bootstrap host name is resolved and
// used: a node that knows the bootstrap only as localhost:PORT finds it.
func TestBootstrapByName(t *testing.T) {
	boot := startNode(t, "bootstrap", nodeArgs(t.TempDir(), "127.0.0.1")...)
	port := boot.lan[strings.LastIndex(boot.lan, ":")+1:]
	n := startNode(t, "node", nodeArgs(t.TempDir(), "127.0.0.2", "-bootstrap", "localhost:"+port)...)
	n.waitLine(`msg="bootstrap resolved" bootstrap=localhost:`+port, 10*time.Second)
	var last *status
	if !poll(10*time.Second, func() bool {
		s, err := n.status()
		last = s
		return err == nil && s.verified()[boot.peerID]
	}) {
		t.Fatalf("the node did not verify the bootstrap it knows by name; last status %+v", last)
	}
}

// ms formats first_peer_ms.
func ms(p *int64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}
