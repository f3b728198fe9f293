package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/plugins/chat"
)

// TestParseFlagsGood checks that valid command lines give the expected
// options.
func TestParseFlagsGood(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, o *options)
	}{
		{"defaults", nil, func(t *testing.T, o *options) {
			want := options{
				listen: netip.MustParseAddrPort("0.0.0.0:1873"), dataDir: filepath.Join(home, ".walkie"),
				httpAddr: "127.0.0.1:1874", communities: []string{"chat", "game"}, logLevel: slog.LevelInfo, lanDiscovery: true,
				prediction: true, seed: true,
			}
			if o.listen != want.listen || o.dataDir != want.dataDir || o.httpAddr != want.httpAddr ||
				!slices.Equal(o.communities, want.communities) || o.logLevel != want.logLevel ||
				o.lanDiscovery != want.lanDiscovery || o.prediction != want.prediction || o.seed != want.seed || len(o.bootstrap) != 0 || o.version || o.help {
				t.Errorf("got %+v, want %+v", *o, want)
			}
		}},
		{"listen port only", []string{"-listen", ":0"}, func(t *testing.T, o *options) {
			if o.listen != netip.MustParseAddrPort("0.0.0.0:0") {
				t.Errorf("listen = %v", o.listen)
			}
		}},
		{"listen ipv6", []string{"-listen", "[::1]:7000", "-bootstrap", "[::1]:1873"}, func(t *testing.T, o *options) {
			if o.listen != netip.MustParseAddrPort("[::1]:7000") {
				t.Errorf("listen = %v", o.listen)
			}
		}},
		{"bootstrap mixed", []string{"-bootstrap", "127.0.0.1:1873, boot.example.org:1873,[2001:db8::1]:9"}, func(t *testing.T, o *options) {
			if len(o.bootstrap) != 3 {
				t.Fatalf("bootstrap = %+v", o.bootstrap)
			}
			if o.bootstrap[0].addr != netip.MustParseAddrPort("127.0.0.1:1873") || o.bootstrap[0].host != "" {
				t.Errorf("entry 0 = %+v", o.bootstrap[0])
			}
			if o.bootstrap[1].addr.IsValid() || o.bootstrap[1].host != "boot.example.org" || o.bootstrap[1].port != 1873 {
				t.Errorf("entry 1 = %+v", o.bootstrap[1])
			}
			if o.bootstrap[2].addr != netip.MustParseAddrPort("[2001:db8::1]:9") {
				t.Errorf("entry 2 = %+v", o.bootstrap[2])
			}
		}},
		{"no communities, http off", []string{"-communities", "", "-http", ""}, func(t *testing.T, o *options) {
			if len(o.communities) != 0 || o.httpAddr != "" {
				t.Errorf("communities %q http %q", o.communities, o.httpAddr)
			}
		}},
		{"everything", []string{"-data", "/var/lib/walkie", "-log-level", "DEBUG", "-lan-discovery=false", "-port-prediction=false", "-communities", "game", "-announce", "a-1, b", "-http", "localhost:0"}, func(t *testing.T, o *options) {
			if o.dataDir != "/var/lib/walkie" || o.logLevel != slog.LevelDebug || o.lanDiscovery || o.prediction ||
				!slices.Equal(o.communities, []string{"game"}) || !slices.Equal(o.announce, []string{"a-1", "b"}) || o.httpAddr != "localhost:0" {
				t.Errorf("got %+v", *o)
			}
		}},
		{"http hosts", []string{"-http-host", "Prometheus.LAN.", "-http-host", "node-1.example.org, [2001:DB8::7],192.0.2.7"}, func(t *testing.T, o *options) {
			if want := []string{"prometheus.lan", "node-1.example.org", "2001:db8::7", "192.0.2.7"}; !slices.Equal(o.httpHosts, want) {
				t.Errorf("http hosts %q, want %q", o.httpHosts, want)
			}
		}},
		{"names a plugin may serve", []string{"-communities", "ping,chat", "-plugin", "/bin/sh"}, func(t *testing.T, o *options) {
			if !slices.Equal(o.communities, []string{"ping", "chat"}) { // checked once the plugins load
				t.Errorf("communities %q", o.communities)
			}
		}},
		{"announce a built-in", []string{"-communities", "game", "-announce", "chat"}, func(t *testing.T, o *options) {
			if !slices.Equal(o.communities, []string{"game"}) || !slices.Equal(o.announce, []string{"chat"}) {
				t.Errorf("communities %q announce %q", o.communities, o.announce)
			}
		}},
		{"chat defaults", nil, func(t *testing.T, o *options) {
			if o.chat.MaxMessages != chat.DefaultMaxMessages || o.chat.MaxBytes != chat.DefaultMaxBytes || o.chat.MaxAge != chat.DefaultMaxAge {
				t.Errorf("chat %+v", o.chat)
			}
		}},
		{"chat retention", []string{"-chat-max-messages", "500", "-chat-max-bytes", "1048576", "-chat-max-age", "24h"}, func(t *testing.T, o *options) {
			if o.chat.MaxMessages != 500 || o.chat.MaxBytes != 1<<20 || o.chat.MaxAge != 24*time.Hour {
				t.Errorf("chat %+v", o.chat)
			}
		}},
		{"version", []string{"-version"}, func(t *testing.T, o *options) {
			if !o.version {
				t.Error("version not set")
			}
		}},
		{"help", []string{"-h"}, func(t *testing.T, o *options) {
			if !o.help {
				t.Error("help not set")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args)
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tt.args, err)
			}
			tt.check(t, o)
		})
	}
}

// TestRunBadFlags checks that every mistake on the command line exits with
// code 2 and exactly one line on stderr that names the problem.
func TestRunBadFlags(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	tests := []struct {
		args []string
		want string // a substring of the one line
	}{
		{[]string{"-listen", "foo"}, `walkie: -listen "foo": want ip:port`},
		{[]string{"-listen", "1.2.3.4"}, `-listen "1.2.3.4"`},
		{[]string{"-listen", "localhost:1873"}, `is not an IP address`},
		{[]string{"-listen", "0.0.0.0:70000"}, `port "70000" is not a number`},
		{[]string{"-listen", "0.0.0.0:x"}, `port "x"`},
		{[]string{"-bootstrap", "1.2.3.4"}, `-bootstrap "1.2.3.4": want host:port`},
		{[]string{"-bootstrap", "boot.example.org"}, `-bootstrap "boot.example.org"`},
		{[]string{"-bootstrap", "boot.example.org:http"}, `port "http" is not a number`},
		{[]string{"-bootstrap", "1.2.3.4:0"}, `port "0"`},
		{[]string{"-bootstrap", ":1873"}, `host is missing`},
		{[]string{"-bootstrap", "1.2.3.4:1873,,5.6.7.8:1873"}, `empty entry`},
		{[]string{"-listen", "127.0.0.1:0", "-bootstrap", "[::1]:1873"}, `other IP version`},
		{[]string{"-http", "nope"}, `-http "nope": want host:port`},
		{[]string{"-http", "127.0.0.1:x"}, `-http "127.0.0.1:x": port "x"`},
		{[]string{"-http-host", "node.lan:1874"}, `-http-host "node.lan:1874": "node.lan:1874" has a port; leave it out: a name is allowed on every port`},
		{[]string{"-http-host", "a.lan,"}, `-http-host "a.lan,": "" is not a host name or IP address`},
		{[]string{"-http-host", "http://node.lan"}, `"http://node.lan" is not a host name`},
		{[]string{"-http-host", "*.lan"}, `"*.lan" is not a host name`},
		{[]string{"-http-host", "-bad.lan"}, `"-bad.lan" is not a host name`},
		{[]string{"-communities", "Chat"}, `community name "Chat"`},
		{[]string{"-communities", "chat,,game"}, `community name ""`},
		{[]string{"-communities", strings.Repeat("a", 33)}, `must be 1 to 32`},
		{[]string{"-communities", "chat,chat"}, `listed twice`},
		{[]string{"-communities", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"}, `at most 16`},
		{[]string{"-communities", "caht"}, `walkie: -communities "caht": unknown community "caht" (built in: chat, game; a -plugin adds its own; -announce announces a name without running it); run 'walkie -h' for usage`},
		{[]string{"-communities", "chat,x-1"}, `unknown community "x-1"`},
		{[]string{"-announce", "Chat"}, `-announce "Chat": community name "Chat"`},
		{[]string{"-announce", "x,x"}, `-announce "x,x": community "x" is listed twice`},
		{[]string{"-communities", "chat", "-announce", "x,chat"}, `-announce "x,chat": community "chat" is in -communities too`},
		{[]string{"-announce", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o"}, `17 communities together with -communities, at most 16`},
		{[]string{"-log-level", "verbose"}, `-log-level "verbose": want debug, info, warn or error`},
		{[]string{"-lan-discovery=maybe"}, `invalid boolean value "maybe" for -lan-discovery`},
		{[]string{"-dns", "dns.google"}, `-dns "dns.google": want ip:port`},
		{[]string{"-profile", "phone"}, `-profile "phone": want default or mobile`},
		{[]string{"-nat64", "64:ff9b::1/96"}, `-nat64 "64:ff9b::1/96": a NAT64 prefix has no bits set beyond its length`},
		{[]string{"-dns", "192.0.2.53:0"}, `-dns "192.0.2.53:0": want ip:port`},
		{[]string{"-chat-max-messages", "0"}, `-chat-max-messages "0": want a positive number of messages`},
		{[]string{"-chat-max-bytes", "-5"}, `-chat-max-bytes "-5": want a positive number of bytes`},
		{[]string{"-chat-max-bytes", "4MB"}, `invalid value "4MB" for flag -chat-max-bytes`},
		{[]string{"-chat-max-age", "0s"}, `-chat-max-age "0s": want a positive duration`},
		{[]string{"-nosuchflag"}, `flag provided but not defined: -nosuchflag`},
		{[]string{"-listen"}, `flag needs an argument: -listen`},
		{[]string{"stray"}, `unexpected argument "stray"`},
		{[]string{"-plugin", "/usr/lib/walkie/chess"}, `-plugin "/usr/lib/walkie/chess": no such file`},
		{[]string{"-plugin", "/"}, `-plugin "/": not a regular file`},
		{[]string{"-plugin", "/bin/sh", "-plugin", "/bin/sh"}, `-plugin "/bin/sh": listed twice`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			checkOneLine(t, stderr.String(), tt.want)
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q, want nothing", stdout.String())
			}
		})
	}
}

// TestRunPluginNotAPlugin: a file that is not a walkie plugin stops the
// node at start with one clear line and exit code 1.
func TestRunPluginNotAPlugin(t *testing.T) {
	var stderr bytes.Buffer
	args := []string{"-listen", "127.0.0.1:0", "-http", "", "-data", t.TempDir(), "-lan-discovery=false", "-plugin", "/bin/true"}
	code := run(context.Background(), args, new(bytes.Buffer), &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "walkie: plugin /bin/true: handshake failed") {
		t.Errorf("code %d, stderr %q; want %d and a handshake failure", code, stderr.String(), exitError)
	}
}

// TestDefaultDataDir: HOME's .walkie first, then walkie-data beside the
// binary, and a clear request for -data when neither can be written.
func TestDefaultDataDir(t *testing.T) {
	only := func(ok ...string) func(string) bool {
		return func(d string) bool { return slices.Contains(ok, d) }
	}
	home, exe := "/home/someone", "/data/app/lib/arm64/libwalkie.so"
	for _, tt := range []struct {
		name, home, exe string
		writable        func(string) bool
		want, err       string
	}{
		{"home", home, exe, only("/home/someone/.walkie", "/data/app/lib/arm64/walkie-data"), "/home/someone/.walkie", ""},
		{"read-only home", home, exe, only("/data/app/lib/arm64/walkie-data"), "/data/app/lib/arm64/walkie-data", ""},
		{"no home", "", exe, only("/data/app/lib/arm64/walkie-data"), "/data/app/lib/arm64/walkie-data", ""},
		{"nothing writable", home, exe, only(), "", "-data is required: no writable default (tried /home/someone/.walkie, /data/app/lib/arm64/walkie-data)"},
		{"nothing known", "", "", only(), "", "-data is required: there is no $HOME and no binary path"},
	} {
		got, err := defaultDataDir(tt.home, tt.exe, tt.writable)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("%s: got %q, %v; want %q, %q", tt.name, got, err, tt.want, tt.err)
		}
	}
}

// TestRunHelpVersion checks that -h and -version write stdout and exit 0.
func TestRunHelpVersion(t *testing.T) {
	for _, tt := range []struct{ arg, want string }{
		{"-h", "-bootstrap list"},
		{"-help", "-lan-discovery"},
		{"-h", "  GET  /api/chat/stream\n"},
		{"-h", "  POST /api/game/move\n"},
		{"-version", "walkie "},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{tt.arg}, &stdout, &stderr); code != exitOK {
			t.Errorf("%s: exit code %d", tt.arg, code)
		}
		if !strings.Contains(stdout.String(), tt.want) || stderr.Len() != 0 {
			t.Errorf("%s: stdout %q (want %q in it), stderr %q", tt.arg, stdout.String(), tt.want, stderr.String())
		}
	}
}

// checkOneLine fails t unless s is exactly one line that contains want and
// no sign of a crash.
func checkOneLine(t *testing.T, s, want string) {
	t.Helper()
	if !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Errorf("stderr is not exactly one line: %q", s)
	}
	if !strings.Contains(s, want) {
		t.Errorf("stderr %q does not contain %q", s, want)
	}
	if !strings.HasPrefix(s, "walkie: ") {
		t.Errorf("stderr %q does not start with \"walkie: \"", s)
	}
	for _, bad := range []string{"goroutine", "panic"} {
		if strings.Contains(s, bad) {
			t.Errorf("stderr contains %q: %q", bad, s)
		}
	}
}
