package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/plugins/fleet"
)

// Exit codes of run.
const (
	exitOK    = 0 // clean shutdown, -h, -version
	exitError = 1 // the node could not start or its HTTP server failed
	exitUsage = 2 // a mistake on the command line
)

// run is the whole program: it parses args, starts a node and serves until
// ctx is done (main cancels it on SIGINT and SIGTERM), then shuts down and
// returns the exit code. Logs go to stderr; -h and -version write stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args)
	if err != nil {
		return usage(stderr, err)
	}
	switch {
	case opts.help:
		printUsage(stdout)
		return exitOK
	case opts.version:
		fmt.Fprintln(stdout, versionString())
		return exitOK
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: opts.logLevel}))
	err = serve(ctx, opts, log)
	var ue *usageError
	switch {
	case errors.As(err, &ue): // names the plugins contradict, known once they run
		return usage(stderr, err)
	case err != nil:
		fmt.Fprintf(stderr, "walkie: %s\n", strings.TrimPrefix(err.Error(), "walkie: "))
		return exitError
	}
	return exitOK
}

// usage reports a mistake on the command line in one line and returns the
// exit code for it.
func usage(stderr io.Writer, err error) int {
	var ue *usageError
	if errors.As(err, &ue) && ue.hint {
		fmt.Fprintf(stderr, "walkie: %v; run 'walkie -h' for usage\n", err)
	} else {
		fmt.Fprintf(stderr, "walkie: %v\n", err)
	}
	return exitUsage
}

// serve runs the node described by opts until ctx is done. It returns an
// error if the node cannot start or the HTTP server fails, a *usageError if
// the -plugin binaries contradict -communities or -announce; a shutdown
// asked for by ctx is not an error.
func serve(ctx context.Context, opts *options, log *slog.Logger) error {
	ident, err := core.LoadOrCreateIdentity(opts.dataDir, log)
	if err != nil {
		return err
	}
	id := ident.ID
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(opts.listen))
	if err != nil {
		return fmt.Errorf("-listen %s: %w", opts.listen, netErr(err))
	}
	transport := core.NewUDPTransport(conn)
	var ln net.Listener
	var acc *access
	if opts.httpAddr != "" {
		if ln, err = listenHTTP(opts.httpAddr); err != nil {
			transport.Close()
			return fmt.Errorf("-http %s: %w", opts.httpAddr, netErr(err))
		}
		if acc, err = newAccess(opts, ln.Addr(), log); err != nil {
			transport.Close()
			ln.Close()
			return err
		}
	}

	bound := transport.LocalAddr()
	lan, lan6, how := lanAddrs(bound)
	cfg := core.DefaultConfig()
	if opts.profile == "mobile" {
		cfg = core.MobileConfig()
	}
	cfg.Key = ident.Key
	cfg.Transport = transport
	// Port prediction from behind a symmetric NAT opens more sockets on
	// the same address (docs/nat-traversal.md).
	probeAddr := netip.AddrPortFrom(bound.Addr(), 0).String()
	cfg.ListenProbe = func() (core.Transport, error) { return core.ListenUDP(probeAddr) }
	// A second port, named in our answers while we look public, lets a
	// host whose only public contact is this node classify its NAT
	// (docs/nat-traversal.md, "One bootstrap is enough").
	if alt, err := core.ListenUDP(probeAddr); err != nil {
		log.Warn("no second port: hosts with this node as their only observer cannot classify their NAT", "err", err)
	} else {
		cfg.Alt = alt
	}
	cfg.NoPortPrediction, cfg.NoSeed = !opts.prediction, !opts.seed
	cfg.PrefixPeers = opts.perNetwork
	cfg.LAN, cfg.LAN6 = lan, lan6
	cfg.Bootstrap = literals(opts.bootstrap)
	cache := peerCache{path: filepath.Join(opts.dataDir, peerCacheFile), log: log}
	cfg.Bootstrap = append(cfg.Bootstrap, cache.load()...) // any member that answers is a way in
	poke := make(chan struct{}, 1)
	cfg.OnSendError = func() {
		select {
		case poke <- struct{}{}:
		default:
		}
	}
	gather := &lateGatherer{} // the fleet's reporter reads the registry that the monitor makes below
	var fl *fleet.Fleet
	if cfg.Communities, err = openCommunities(opts, log); err == nil {
		cfg.Communities, fl, err = addFleet(cfg.Communities, opts, &cfg, gather)
	}
	if err != nil {
		transport.Close()
		if cfg.Alt != nil {
			cfg.Alt.Close()
		}
		if ln != nil {
			ln.Close()
		}
		return err
	}
	cfg.Logger = log
	mon := newMonitor(cfg.Communities) // one registry per node: /metrics
	cfg.Metrics = mon.metrics
	gather.set(mon.reg)
	if fl != nil {
		mon.reg.MustRegister(fl) // its walkie_fleet_* series
	}
	if opts.lanDiscovery {
		beacon, err := joinLAN(conn, cfg.BeaconAddr)
		switch {
		case err != nil:
			// We still send beacons: nodes that do listen find us.
			log.Warn("LAN discovery off: cannot hear "+cfg.BeaconAddr.String()+" (still announcing)", "err", err)
		case beacon != nil:
			cfg.Beacon = beacon
		}
	} else {
		cfg.BeaconAddr = netip.AddrPort{}
	}
	o, err := core.New(cfg)
	if err != nil {
		closeAll(cfg.Communities) // the overlay closes them once it exists
		transport.Close()
		for _, t := range []core.Transport{cfg.Beacon, cfg.Alt} {
			if t != nil {
				t.Close()
			}
		}
		if ln != nil {
			ln.Close()
		}
		return err
	}
	o.Start()

	httpDesc := "off"
	if ln != nil {
		httpDesc = ln.Addr().String()
	}
	// The flag's address with the bound port: a socket on 0.0.0.0 is
	// dual-stack and would show as [::].
	listen := netip.AddrPortFrom(opts.listen.Addr(), bound.Port())
	var second uint16
	if cfg.Alt != nil {
		second = cfg.Alt.LocalAddr().Port()
	}
	log.Info("walkie started", "peer_id", id, "listen", listen, "lan", lan, "lan6", lan6, "lan_from", how,
		"data", opts.dataDir, "http", httpDesc, "communities", opts.communities, "announce", opts.announce,
		"bootstrap", entryTexts(opts.bootstrap), "lan_discovery", opts.lanDiscovery, "profile", opts.profile, "second_port", second, "version", versionString())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Every network the node is on gets its NAT64 prefix found (nat64.go).
	nets := make(chan [2]netip.AddrPort, 1)
	nets <- [2]netip.AddrPort{lan, lan6}
	moved := func(lan, lan6 netip.AddrPort) {
		o.Moved(lan, lan6)
		select { // only the latest network counts
		case <-nets:
		default:
		}
		nets <- [2]netip.AddrPort{lan, lan6}
	}
	resolver, _ := dnsResolver(opts.dns, resolvConf)
	lookup6 := func(ctx context.Context, host string) ([]netip.Addr, error) {
		return resolver.LookupNetIP(ctx, "ip6", host)
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watchRoute(ctx, bound, lan, lan6, poke, moved, log)
	}()
	found := make(chan struct{})
	go func() {
		defer close(found)
		findNAT64(ctx, opts.nat64, nets, lookup6, o.SetNAT64, log)
	}()
	cached := make(chan struct{})
	go func() {
		defer close(cached)
		cache.keep(ctx, o.Contacts)
	}()
	resolved := make(chan struct{})
	r := newResolver(opts.bootstrap, bound, o.SetBootstrap, log)
	r.lookup, _ = dnsLookup(opts.dns, resolvConf)
	go func() {
		defer close(resolved)
		if r.hasNames() {
			r.run(ctx)
		}
	}()

	var srv *http.Server
	httpErr := make(chan error, 1)
	if ln != nil {
		// ctx ends before Shutdown: streams of the communities' APIs end.
		srv = newHTTPServer(ctx, newHandler(o.Status, mon, cfg.Communities, acc, nil))
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
		go func() { httpErr <- srv.Serve(ln) }()
	}

	var failed error
	select {
	case <-ctx.Done():
	case err := <-httpErr:
		failed = fmt.Errorf("-http %s: %w", opts.httpAddr, err)
	}

	cancel()
	<-resolved
	<-watched
	<-found
	<-cached
	if srv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("HTTP server did not shut down cleanly", "err", err)
		}
		scancel()
	}
	if err := o.Close(); err != nil {
		log.Warn("closing the node", "err", err)
	}
	if failed != nil {
		return failed
	}
	log.Info("stopped", "peer_id", id)
	return nil
}

// entryTexts returns the bootstrap entries as given, for the start line.
func entryTexts(entries []bootstrapEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.text
	}
	return out
}

// netErr strips the "listen udp 0.0.0.0:1873: " prefix of a *net.OpError,
// which the caller has already said in its own words.
func netErr(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
