// Command walkie-demo runs a small walkie network on loopback: one bootstrap
// on 127.0.0.1 and -nodes more on 127.0.0.2, 127.0.0.3, ..., each a full
// overlay on its own UDP socket in this process. It prints every discovery
// as it happens (who found whom, how long after start) and exits once every
// node knows every other, or after -timeout.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/proto"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("walkie-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodes := fs.Int("nodes", 4, "nodes besides the bootstrap (1..50)")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *nodes < 1 || *nodes > 50 {
		fmt.Fprintln(stderr, "walkie-demo: -nodes must be between 1 and 50")
		return 2
	}
	net, err := start(*nodes)
	if err != nil {
		fmt.Fprintln(stderr, "walkie-demo:", err)
		return 1
	}
	defer func() {
		for _, o := range net {
			o.Close()
		}
	}()
	for i, o := range net {
		role := "node"
		if i == 0 {
			role = "bootstrap"
		}
		fmt.Fprintf(stdout, "%-9s %d  %s  %v\n", role, i, short(o.ID()), o.LAN())
	}
	return watch(net, *timeout, stdout)
}

// start opens the bootstrap on 127.0.0.1 and the nodes on 127.0.0.2...
func start(n int) ([]*core.Overlay, error) {
	var out []*core.Overlay
	var boot []netip.AddrPort
	for i := range n + 1 {
		t, err := core.ListenUDP(fmt.Sprintf("127.0.0.%d:0", i+1))
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		cfg := core.DefaultLocalConfig()
		ident, err := core.NewIdentity()
		if err != nil {
			t.Close()
			for _, o := range out {
				o.Close()
			}
			return nil, err
		}
		cfg.Key = ident.Key
		cfg.Transport = t
		cfg.Bootstrap = boot
		o, err := core.New(cfg)
		if err != nil {
			t.Close()
			return nil, err
		}
		o.Start()
		out = append(out, o)
		if i == 0 {
			boot = []netip.AddrPort{o.LAN()}
		}
	}
	return out, nil
}

// watch prints each discovery and returns 0 once the mesh is complete.
func watch(net []*core.Overlay, timeout time.Duration, w io.Writer) int {
	start := time.Now()
	index := map[proto.ID]int{}
	for i, o := range net {
		index[o.ID()] = i
	}
	seen := make([]map[proto.ID]bool, len(net))
	for i := range seen {
		seen[i] = map[proto.ID]bool{}
	}
	firstAt := make([]float64, len(net))
	found, want := 0, len(net)*(len(net)-1)
	for found < want {
		if time.Since(start) > timeout {
			fmt.Fprintf(w, "only %d of %d discoveries after %v\n", found, want, timeout)
			return 1
		}
		for i, o := range net {
			for _, id := range o.VerifiedPeers() {
				if j, ok := index[id]; ok && !seen[i][id] {
					if len(seen[i]) == 0 {
						firstAt[i] = ms(time.Since(start))
					}
					seen[i][id] = true
					found++
					fmt.Fprintf(w, "%8.1f ms  node %d found node %d\n", ms(time.Since(start)), i, j)
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	firsts := firstAt[1:]
	slices.Sort(firsts)
	fmt.Fprintf(w, "full mesh of %d nodes after %.1f ms; each node's first peer after %v ms\n",
		len(net), ms(time.Since(start)), firsts)
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func short(id proto.ID) string { return id.String()[:8] }
