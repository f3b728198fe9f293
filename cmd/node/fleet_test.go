package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/plugins/fleet"
)

const (
	idA = "f5705bfe-27a5-5a13-8fb9-7527c139a053"
	idB = "0c51d2c4-c45d-571e-acc7-aea03d24aec7"
)

// acceptFile writes text to a new file in a temporary directory.
func acceptFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "accept")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFleetFlags(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	accept := acceptFile(t, "# the phones\n"+idA+"  # Ana's\n\n  "+idB+"\n")
	o, err := parseFlags([]string{"-collector", "-collector-accept", accept})
	if err != nil || !o.collector || len(o.accept) != 2 || o.accept[0].String() != idA || o.accept[1].String() != idB || o.reportTo != nil {
		t.Fatalf("-collector -collector-accept: %+v, %v", o, err)
	}
	o, err = parseFlags([]string{"-report-to", idA + "@127.0.0.1:1873", "-bootstrap", "127.0.0.2:1873"})
	if err != nil || o.reportTo == nil || o.reportTo.id.String() != idA || len(o.bootstrap) != 2 ||
		o.bootstrap[1].addr != netip.MustParseAddrPort("127.0.0.1:1873") || o.collector || o.accept != nil {
		t.Fatalf("-report-to: %+v, %v", o, err)
	}
	// The collector already a bootstrap: listed once. A name is resolved
	// like any -bootstrap name.
	o, err = parseFlags([]string{"-report-to", idA + "@collector.example.org:1873", "-bootstrap", "collector.example.org:1873"})
	if err != nil || len(o.bootstrap) != 1 || o.bootstrap[0].host != "collector.example.org" {
		t.Fatalf("-report-to a bootstrap name: %+v, %v", o, err)
	}
	t.Setenv(fleetIntervalEnv, "2s")
	if o, err = parseFlags(nil); err != nil || o.fleetInterval != 2*time.Second {
		t.Fatalf("%s=2s: %+v, %v", fleetIntervalEnv, o, err)
	}
}

// Every mistake in the fleet's flags is one line and exit code 2.
func TestFleetBadFlags(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	bad := acceptFile(t, idA+"\nnope\n")
	empty := acceptFile(t, "# nobody yet\n")
	for _, tt := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"-collector-accept", bad}, "", `-collector-accept "` + bad + `": needs -collector`},
		{[]string{"-collector", "-collector-accept", bad}, "", `-collector-accept "` + bad + `": line 2: "nope" is not a peer ID`},
		{[]string{"-collector", "-collector-accept", empty}, "", `no peer IDs in it`},
		{[]string{"-collector", "-collector-accept", "/no/such/file"}, "", `-collector-accept "/no/such/file": cannot read it: no such file or directory`},
		{[]string{"-report-to", "127.0.0.1:1873"}, "", `-report-to "127.0.0.1:1873": want PEER-ID@host:port`},
		{[]string{"-report-to", "abc@127.0.0.1:1873"}, "", `"abc" is not a peer ID`},
		{[]string{"-report-to", idA + "@127.0.0.1"}, "", `-report-to "` + idA + `@127.0.0.1": want host:port`},
		{[]string{"-report-to", idA + "@127.0.0.1:0"}, "", `port "0" is not a number from 1 to 65535`},
		{[]string{"-listen", "127.0.0.1:0", "-report-to", idA + "@[::1]:1873"}, "", `cannot be reached from -listen`},
		{[]string{"-collector", "-announce", "fleet"}, "", `-announce "fleet": community "fleet" runs with -collector or -report-to`},
		{[]string{"-collector", "-announce", "a,b,c,d,e,f,g,h,i,j,k,l,m,n"}, "", `17 communities with the fleet`},
		{nil, "5", fleetIntervalEnv + ` "5": want whole seconds from 1s to 1h`},
		{nil, "1500ms", `want whole seconds`},
	} {
		t.Run(strings.Join(tt.args, " ")+tt.env, func(t *testing.T) {
			t.Setenv(fleetIntervalEnv, tt.env)
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			checkOneLine(t, stderr.String(), tt.want)
		})
	}
}

// /metrics/fleet follows the node's HTTP rules: a foreign Host gets 421,
// and beyond loopback a request without the token 401.
func TestFleetHTTPRules(t *testing.T) {
	f, err := fleet.New(fleet.Config{Collect: true})
	if err != nil {
		t.Fatal(err)
	}
	status := func() core.Status { return core.Status{} }
	comms := []community.Community{f}
	for _, c := range []struct {
		acc    *access
		host   string
		bearer string
		want   int
	}{
		{nil, "127.0.0.1", "", 200},
		{nil, "evil.example", "", 421},
		{&access{token: "s3cret-token-of-32-characters-ok"}, "127.0.0.1", "", 401},
		{&access{token: "s3cret-token-of-32-characters-ok"}, "127.0.0.1", "s3cret-token-of-32-characters-ok", 200},
	} {
		req := httptest.NewRequest("GET", "/metrics/fleet", nil)
		req.Host = c.host
		if c.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+c.bearer)
		}
		rec := httptest.NewRecorder()
		newHandler(status, nil, comms, c.acc, nil).ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("Host %s, token %q: %d, want %d", c.host, c.bearer, rec.Code, c.want)
		}
	}
	// A node that only reports serves no fleet.
	r, _ := fleet.New(fleet.Config{})
	req := httptest.NewRequest("GET", "/metrics/fleet", nil)
	req.Host = "127.0.0.1"
	rec := httptest.NewRecorder()
	newHandler(status, nil, []community.Community{r}, nil, nil).ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Errorf("a reporter's /metrics/fleet: %d, want 404", rec.Code)
	}
}

// startRun runs walkie in this process until the test ends and returns
// its start line.
func startRun(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, io.Discard, pw)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("run = %d after cancel", code)
		}
	})
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `msg="walkie started"`) {
			go io.Copy(io.Discard, pr) // keep the node's logging unblocked
			return sc.Text()
		}
	}
	t.Fatal("no start line")
	return ""
}

// body returns the body of GET url.
func body(t *testing.T, url string) string {
	t.Helper()
	_, b := get(t, url)
	return b
}

// A collector and a reporter in one process, wired as bin/walkie wires
// them: the reporter's series reach /metrics/fleet with its peer label,
// and both count what they did on /metrics.
func TestRunFleet(t *testing.T) {
	t.Setenv(fleetIntervalEnv, "1s")
	coll := startRun(t, quietArgs(t.TempDir(), "-collector", "-communities", "")...)
	rep := startRun(t, quietArgs(t.TempDir(), "-report-to", logField(coll, "peer_id")+"@"+logField(coll, "lan"))...)
	fleetURL := "http://" + logField(coll, "http") + "/metrics/fleet"
	want := `walkie_peers{peer="` + logField(rep, "peer_id") + `",state="verified"} 1`
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(body(t, fleetURL), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the collector's fleet after 10 s:\n%s", want, body(t, fleetURL))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m := body(t, "http://"+logField(coll, "http")+"/metrics"); !strings.Contains(m, "walkie_fleet_reporters 1\n") {
		t.Errorf("the collector's /metrics has no walkie_fleet_reporters 1")
	}
	if m := body(t, "http://"+logField(rep, "http")+"/metrics"); !strings.Contains(m, "walkie_fleet_reports_sent_total ") ||
		strings.Contains(m, "walkie_fleet_reporters") {
		t.Errorf("the reporter's /metrics lacks its own fleet series, or has a collector's")
	}
}

// A collector's node has room for every reporter, lets them ping it and,
// unless -peers-per-network says otherwise, takes any number of them from
// one network (a carrier's NAT); a node that only reports is unchanged.
func TestAddFleetConfig(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	for _, c := range []struct {
		args             []string
		peers, perPrefix int
		keepAlive        time.Duration
	}{
		{[]string{"-collector"}, 256 + fleet.DefaultMaxReporters, -1, fleet.CollectorKeepAlive},
		{[]string{"-collector", "-peers-per-network", "64"}, 256 + fleet.DefaultMaxReporters, 64, fleet.CollectorKeepAlive},
		{[]string{"-report-to", idA + "@127.0.0.1:1873"}, 256, 16, 20 * time.Second},
		{nil, 256, 16, 20 * time.Second},
	} {
		o, err := parseFlags(c.args)
		if err != nil {
			t.Fatal(err)
		}
		cfg := core.DefaultConfig()
		cfg.PrefixPeers = o.perNetwork
		list, f, err := addFleet(nil, o, &cfg, &lateGatherer{})
		if err != nil || (f != nil) != (len(c.args) > 0) || len(list) != len(c.args[:min(len(c.args), 1)]) {
			t.Fatalf("%v: %v, %v, %v", c.args, list, f, err)
		}
		if cfg.MaxPeers != c.peers || cfg.PrefixPeers != c.perPrefix || cfg.KeepAlive != c.keepAlive {
			t.Errorf("%v: MaxPeers %d, PrefixPeers %d, KeepAlive %v; want %d, %d, %v", c.args,
				cfg.MaxPeers, cfg.PrefixPeers, cfg.KeepAlive, c.peers, c.perPrefix, c.keepAlive)
		}
	}
}
