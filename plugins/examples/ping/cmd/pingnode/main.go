// Command pingnode is a walkie node that runs the ping community
// in-process, as docs/writing-a-community.md builds it: it pings every
// member every few seconds and logs the pongs. Two on one machine:
//
//	go run ./cmd/pingnode -listen 127.0.0.1:1873 -data a
//	go run ./cmd/pingnode -listen 127.0.0.2:1873 -data b -bootstrap 127.0.0.1:1873
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/plugins/examples/ping"
)

func main() {
	// SIGINT (Ctrl-C) or SIGTERM ends ctx, and run closes the node.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], slog.Default())
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pingnode:", err)
		os.Exit(1)
	}
}

// run starts a node with the flags in args and pings until ctx ends.
func run(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("pingnode", flag.ContinueOnError)
	listen := fs.String("listen", "0.0.0.0:1873", "UDP `address` of the node")
	bootstrap := fs.String("bootstrap", "", "`ip:port` of a node to introduce ourselves to")
	data := fs.String("data", "pingnode-data", "`dir` of the identity key")
	every := fs.Duration("every", 5*time.Second, "how often to ping every member")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The node's Ed25519 key, made on the first start; the peer ID
	// derives from it.
	ident, err := core.LoadOrCreateIdentity(*data, log)
	if err != nil {
		return err
	}
	transport, err := core.ListenUDP(*listen)
	if err != nil {
		return err
	}
	cfg := core.DefaultConfig()
	cfg.Key, cfg.Transport, cfg.Logger = ident.Key, transport, log
	if *bootstrap != "" {
		addr, err := netip.ParseAddrPort(*bootstrap)
		if err != nil {
			transport.Close()
			return fmt.Errorf("-bootstrap: %w", err)
		}
		cfg.Bootstrap = []netip.AddrPort{addr}
	}
	p := ping.New()
	cfg.Communities = []community.Community{p}
	o, err := core.New(cfg)
	if err != nil {
		transport.Close() // once New succeeds, Close closes it
		return err
	}
	o.Start()
	defer o.Close() // stops the walk, closes the transport and the communities
	log.Info("pingnode started", "peer_id", ident.ID, "listen", transport.LocalAddr())

	tick := time.NewTicker(*every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			log.Info("ping", "sent", p.PingAll(), "pongs", p.Pongs())
		}
	}
}
