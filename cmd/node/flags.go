package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/plugins/chat"
	"github.com/walkie-p2p/walkie/proto"
)

// Defaults of the flags. They are a contract: README's flag table and the
// command's doc (doc.go) state them.
const (
	defaultListen      = "0.0.0.0:1873"
	defaultHTTP        = "127.0.0.1:1874"
	defaultCommunities = "chat,game"
	defaultDataSubdir  = ".walkie"
	defaultExeDataDir  = "walkie-data" // beside the binary, when HOME is missing or read-only
)

// version is the release, set at link time with
// -ldflags "-X main.version=v1.2.3". Empty means: ask the build info.
var version = ""

// options is the validated command line.
type options struct {
	listen         netip.AddrPort   // -listen; the address may be unspecified, the port 0
	bootstrap      []bootstrapEntry // -bootstrap, in the order given
	dataDir        string           // -data, or $HOME/.walkie
	httpAddr       string           // -http; "" disables the server
	httpHosts      []string         // -http-host, repeatable: valid, canonical (access.go)
	rawHTTPHosts   []string         // -http-host as given
	communities    []string         // -communities, valid names; built in unless plugins may serve them
	announce       []string         // -announce, valid names, none in communities
	rawCommunities string           // -communities as given, for errors found once plugins load
	rawAnnounce    string           // -announce as given, likewise
	plugins        []string         // -plugin, repeatable: existing files, distinct
	logLevel       slog.Level       // -log-level
	lanDiscovery   bool             // -lan-discovery
	prediction     bool             // -port-prediction
	seed           bool             // -seed
	perNetwork     int              // -peers-per-network: 0 means the core's default
	perNetworkSet  bool             // -peers-per-network was given (a collector lifts the default cap)
	dns            netip.AddrPort   // -dns; invalid means the system's resolver
	profile        string           // -profile: default or mobile
	nat64          nat64Flag        // -nat64
	chat           chat.Config      // -chat-max-messages, -chat-max-bytes, -chat-max-age; the rest is chat's default
	collector      bool             // -collector
	acceptFile     string           // -collector-accept; "" takes any reporter
	accept         []proto.ID       // the IDs in acceptFile; nil without one
	rawReportTo    string           // -report-to as given
	reportTo       *reportTarget    // -report-to; nil: no reports
	fleetInterval  time.Duration    // fleetIntervalEnv, tests only; 0: the default
	version        bool             // -version
	help           bool             // -h, -help
}

// usageError is a mistake on the command line: run prints it on one line
// and exits with code 2. hint says whether to point at 'walkie -h'.
type usageError struct {
	err  error
	hint bool
}

// Error returns the message without the "walkie: " prefix.
func (e *usageError) Error() string { return e.err.Error() }

// Unwrap returns the underlying error.
func (e *usageError) Unwrap() error { return e.err }

// badFlag returns the usage error `-name "value": reason`.
func badFlag(name, value string, format string, args ...any) error {
	return &usageError{err: fmt.Errorf("-%s %q: %s", name, value, fmt.Sprintf(format, args...)), hint: true}
}

// newFlagSet declares the flags of walkie on a new FlagSet that reports
// errors instead of exiting and prints nothing by itself.
func newFlagSet(o *options, raw *rawFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("walkie", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // run prints the usage for -h; errors get one line
	fs.StringVar(&raw.listen, "listen", defaultListen, "UDP `address` of the node")
	fs.StringVar(&raw.bootstrap, "bootstrap", "", "comma-separated host:port `list` of bootstrap nodes")
	fs.StringVar(&raw.data, "data", "", "state `dir`: the identity key (dir/identity.key), the peer ID (dir/peer-id), the chat history, the HTTP token (dir/"+httpTokenFile+") (default $HOME/.walkie, else walkie-data beside the binary)")
	fs.StringVar(&raw.http, "http", defaultHTTP, httpFlagUsage())
	fs.Func("http-host", "host `name` the HTTP server also answers to, besides loopback and its own addresses: one that Prometheus or a proxy uses (repeatable, or comma-separated; any port)", func(s string) error {
		o.rawHTTPHosts = append(o.rawHTTPHosts, s)
		return nil
	})
	fs.StringVar(&o.rawCommunities, "communities", defaultCommunities, "comma-separated `list` of communities to run: built in "+strings.Join(builtinNames(), ", ")+", or served by a -plugin; \"\" for none")
	fs.StringVar(&o.rawAnnounce, "announce", "", "comma-separated `list` of communities to announce without running them (peers that run them see this node as a member)")
	fs.Func("plugin", "out-of-process community plugin `path` (repeatable); it replaces a -communities entry of the same name", func(s string) error {
		o.plugins = append(o.plugins, s)
		return nil
	})
	fs.StringVar(&raw.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&o.profile, "profile", "default", "`name` of the walk profile: default, or mobile (fewer packets once the table is healthy)")
	fs.StringVar(&raw.dns, "dns", "", "DNS server `ip:port` for -bootstrap names (default: the system's; "+fallbackDNS+" if there is no "+resolvConf+", as on Android)")
	fs.StringVar(&raw.nat64, "nat64", "auto", "on an IPv6-only network, reach IPv4 peers through the NAT64 `prefix` (such as 64:ff9b::/96); auto finds it through DNS64 (RFC 7050); off")
	fs.BoolVar(&o.lanDiscovery, "lan-discovery", true, "find nodes on the LAN by multicast on 239.255.18.73:1873")
	fs.BoolVar(&o.prediction, "port-prediction", true, "take part in port prediction with symmetric NATs (hundreds of probe packets an attempt, only while peers are few)")
	fs.BoolVar(&o.seed, "seed", true, "also speak the 2016 app's protocol (bencoded datagrams) on the -listen socket, so that its nodes and walkie nodes walk one network; IPv4 only")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.IntVar(&o.perNetwork, "peers-per-network", core.DefaultConfig().PrefixPeers,
		"at most `n` peers from one IPv4 /24 or IPv6 /48 (the LAN is not counted), so that an attacker with many addresses in few networks cannot fill the table; -1 for no cap")
	fs.IntVar(&o.chat.MaxMessages, "chat-max-messages", chat.DefaultMaxMessages, "the chat keeps at most `n` messages, deleting the oldest")
	fs.Int64Var(&o.chat.MaxBytes, "chat-max-bytes", chat.DefaultMaxBytes, "the chat keeps at most `n` bytes of messages, deleting the oldest")
	fs.DurationVar(&o.chat.MaxAge, "chat-max-age", chat.DefaultMaxAge, "the chat deletes messages stored longer than `duration` ago")
	fs.BoolVar(&o.collector, "collector", false, "collect the walkie_ series of the nodes that report here (-report-to) and serve them at /metrics/fleet; run it where they reach it (a public or full-cone address)")
	fs.StringVar(&o.acceptFile, "collector-accept", "", "`file` of the peer IDs a -collector takes reports from, one per line, # comments (default: any authenticated reporter, up to 1000)")
	fs.StringVar(&o.rawReportTo, "report-to", "", "send this node's walkie_ series every minute (5 in the mobile profile), sealed, to the collector `ID@host:port`: its peer ID, and an address that reaches it (added to -bootstrap)")
	return fs
}

// rawFlags holds the flags that are validated after parsing, so that every
// mistake is reported in the same `-name "value": reason` form.
type rawFlags struct {
	listen, bootstrap, data, http, logLevel, dns, nat64 string
}

// parseFlags parses and validates the command line. Its errors are
// *usageError values.
func parseFlags(args []string) (*options, error) {
	o := &options{}
	var raw rawFlags
	fs := newFlagSet(o, &raw)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			o.help = true
			return o, nil
		}
		return nil, &usageError{err: err, hint: true}
	}
	if fs.NArg() > 0 {
		return nil, &usageError{err: fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0)), hint: true}
	}
	fs.Visit(func(f *flag.Flag) { o.perNetworkSet = o.perNetworkSet || f.Name == "peers-per-network" })
	if o.version {
		return o, nil
	}
	if err := checkPlugins(o.plugins); err != nil {
		return nil, err
	}
	var err error
	if o.listen, err = parseListen(raw.listen); err != nil {
		return nil, err
	}
	if o.bootstrap, err = parseBootstrap(raw.bootstrap); err != nil {
		return nil, err
	}
	if err := checkFleet(o, os.Getenv); err != nil {
		return nil, err
	}
	if err := checkFamilies(o.listen, o.bootstrap); err != nil {
		return nil, err
	}
	if o.dataDir, err = dataDir(raw.data); err != nil {
		return nil, err
	}
	if raw.http != "" {
		if err := checkHostPort(raw.http); err != nil {
			return nil, badFlag("http", raw.http, "%v", err)
		}
	}
	o.httpAddr = raw.http
	if o.httpHosts, err = parseHTTPHosts(o.rawHTTPHosts); err != nil {
		return nil, err
	}
	if o.communities, o.announce, err = parseCommunities(o.rawCommunities, o.rawAnnounce, len(o.plugins) > 0); err != nil {
		return nil, err
	}
	if err := checkFleetNames(o); err != nil {
		return nil, err
	}
	if o.logLevel, err = parseLogLevel(raw.logLevel); err != nil {
		return nil, err
	}
	if o.perNetwork == 0 || o.perNetwork < -1 {
		return nil, badFlag("peers-per-network", strconv.Itoa(o.perNetwork), "want a count of at least 1, or -1 for no cap")
	}
	if o.profile != "default" && o.profile != "mobile" {
		return nil, badFlag("profile", o.profile, "want default or mobile")
	}
	if o.profile == "mobile" {
		// A phone's chat repairs losses less often; pushes still carry
		// every new message at once.
		o.chat.SyncInterval, o.chat.MaxSyncInterval = mobileChatSync, mobileChatSyncMax
	}
	if o.nat64, err = parseNAT64(raw.nat64); err != nil {
		return nil, err
	}
	if raw.dns != "" {
		if o.dns, err = netip.ParseAddrPort(raw.dns); err != nil || o.dns.Port() == 0 {
			return nil, badFlag("dns", raw.dns, "want ip:port, for example 192.0.2.53:53")
		}
	}
	if err := checkChat(o.chat); err != nil {
		return nil, err
	}
	return o, nil
}

// The mobile profile's chat sync: every 10 s while the room is active,
// backing off to every 2 minutes while it is idle.
const (
	mobileChatSync    = 10 * time.Second
	mobileChatSyncMax = 2 * time.Minute
)

// checkChat checks the chat's retention flags: each must be positive (a
// history without a bound is not offered).
func checkChat(c chat.Config) error {
	switch {
	case c.MaxMessages < 1:
		return badFlag("chat-max-messages", strconv.Itoa(c.MaxMessages), "want a positive number of messages")
	case c.MaxBytes < 1:
		return badFlag("chat-max-bytes", strconv.FormatInt(c.MaxBytes, 10), "want a positive number of bytes")
	case c.MaxAge <= 0:
		return badFlag("chat-max-age", c.MaxAge.String(), "want a positive duration, for example 720h")
	}
	return nil
}

// parseListen checks -listen: an IP literal (or nothing, meaning every
// address) and a port, 0 meaning any free port.
func parseListen(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, badFlag("listen", s, "want ip:port, for example 0.0.0.0:1873")
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, badFlag("listen", s, "port %q is not a number from 0 to 65535", port)
	}
	ip := netip.IPv4Unspecified()
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, badFlag("listen", s, "%q is not an IP address (host names are not accepted here)", host)
		}
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

// checkHostPort checks that s is host:port with a numeric port.
func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("want host:port, for example 127.0.0.1:1874")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// parseCommunities checks -communities and -announce: distinct names of
// the form [a-z0-9-]{1,32} ("" means none), at most proto.MaxCommunities in
// all, none in both. A -communities name must be built in; with plugins,
// the names they serve are only known once they load (openCommunities).
func parseCommunities(comm, announce string, plugins bool) (names, announced []string, err error) {
	if names, err = parseNames("communities", comm); err != nil {
		return nil, nil, err
	}
	if announced, err = parseNames("announce", announce); err != nil {
		return nil, nil, err
	}
	for _, name := range announced {
		if slices.Contains(names, name) {
			return nil, nil, badFlag("announce", announce, "community %q is in -communities too; name it in one of them", name)
		}
	}
	if n := len(names) + len(announced); n > proto.MaxCommunities {
		return nil, nil, badFlag("announce", announce, "%d communities together with -communities, at most %d", n, proto.MaxCommunities)
	}
	for _, name := range names {
		if !plugins && !slices.Contains(builtinNames(), name) {
			return nil, nil, unknownCommunity(comm, name, nil)
		}
	}
	return names, announced, nil
}

// unknownCommunity is the usage error for a -communities name that nothing
// runs; served lists the communities of the -plugin binaries, if any.
func unknownCommunity(comm, name string, served []string) error {
	plugins := "a -plugin adds its own"
	if len(served) > 0 {
		plugins = "from -plugin: " + strings.Join(served, ", ")
	}
	return badFlag("communities", comm, "unknown community %q (built in: %s; %s; -announce announces a name without running it)",
		name, strings.Join(builtinNames(), ", "), plugins)
}

// parseNames checks the community names of flag: valid, distinct and at
// most proto.MaxCommunities. The empty string means none.
func parseNames(flag, s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var names []string
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		switch {
		case !community.ValidName(name): // the one rule, shared with core
			return nil, badFlag(flag, s, "community name %q must be 1 to 32 of a-z, 0-9 and -, not starting with -", name)
		case slices.Contains(names, name):
			return nil, badFlag(flag, s, "community %q is listed twice", name)
		}
		names = append(names, name)
	}
	if len(names) > proto.MaxCommunities {
		return nil, badFlag(flag, s, "%d communities, at most %d", len(names), proto.MaxCommunities)
	}
	return names, nil
}

// checkPlugins checks that each -plugin is a distinct regular file; that
// it is a walkie plugin is checked when the node loads it.
func checkPlugins(paths []string) error {
	for i, p := range paths {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			return badFlag("plugin", p, "no such file")
		case !fi.Mode().IsRegular():
			return badFlag("plugin", p, "not a regular file")
		case slices.Contains(paths[:i], p):
			return badFlag("plugin", p, "listed twice")
		}
	}
	return nil
}

// parseLogLevel maps -log-level to a slog level.
func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, badFlag("log-level", s, "want debug, info, warn or error")
}

// printUsage writes the help text: a synopsis and every flag with its
// default.
func printUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: walkie [flags]\n\nwalkie runs one node of the walkie peer-to-peer overlay.\n\nFlags:\n")
	fs := newFlagSet(&options{}, &rawFlags{})
	fs.SetOutput(w)
	fs.PrintDefaults()
	printRoutes(w)
}

// printRoutes writes the local API's routes, from the table that
// docs/openapi.json is checked against.
func printRoutes(w io.Writer) {
	fmt.Fprint(w, "\nHTTP routes of -http (docs/openapi.json describes them; errors are JSON {\"error\": \"...\"}):\n")
	fmt.Fprint(w, "  GET  /             the status page\n")
	for _, r := range apiRoutes() {
		fmt.Fprintf(w, "  %-4s %s\n", r.method, r.path)
	}
	fmt.Fprint(w, "  and /api/NAME of a -plugin's community, which the plugin serves\n")
}

// versionString is the text printed by -version.
func versionString() string {
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += " " + s.Value[:12]
				}
			}
		}
	}
	return fmt.Sprintf("walkie %s (%s %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
