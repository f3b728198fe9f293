//go:build natlab

package natlab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// walkieBin is the node binary under test, built once by TestMain.
var walkieBin string

// runPrefix starts the name of every namespace this process creates
// ("wk" and four hex digits), so that parallel runs never collide and a
// later run can tell our leftovers from its own.
var runPrefix string

// TestMain checks that the lab can run, builds the binary and makes sure
// that no namespace outlives the run.
func TestMain(m *testing.M) { os.Exit(testMain(m)) }

// testMain returns the exit code. It fails (never skips) when the lab cannot
// run, since a silently skipped NAT test is a NAT test that CI never runs.
func testMain(m *testing.M) int {
	flag.Parse()
	if err := preflight(); err != nil {
		fmt.Fprintf(os.Stderr, "natlab: cannot run the NAT lab: %v\n", err)
		return 1
	}
	b := make([]byte, 2)
	rand.Read(b)
	runPrefix = "wk" + hex.EncodeToString(b)
	pidFile := pidFilePath(runPrefix)
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "natlab:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "walkie-natlab-")
	if err != nil {
		os.Remove(pidFile)
		fmt.Fprintln(os.Stderr, "natlab:", err)
		return 1
	}
	cleanup := func() {
		removeNamespaces(runPrefix)
		os.Remove(etcNetns) // only if empty: another run's files stay
		os.Remove(pidFile)
		os.RemoveAll(tmp)
	}
	defer cleanup()
	removeStale()

	// Interrupted runs clean up too: t.Cleanup does not run on SIGINT, and
	// go test's -timeout panics without running it, so both get a hook.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "natlab: %v: removing namespaces %s-*\n", s, runPrefix)
		cleanup()
		os.Exit(1)
	}()
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 10*time.Second {
			time.AfterFunc(d-3*time.Second, func() {
				fmt.Fprintf(os.Stderr, "natlab: -timeout is near: removing namespaces %s-*\n", runPrefix)
				cleanup()
			})
		}
	}

	if walkieBin = os.Getenv("NATLAB_WALKIE"); walkieBin != "" {
		fmt.Fprintf(os.Stderr, "natlab: testing %s (NATLAB_WALKIE)\n", walkieBin)
	} else if walkieBin, err = buildNode(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "natlab:", err)
		return 1
	}
	return m.Run()
}

// preflight says why the lab cannot run here, or returns nil.
func preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("it needs root (network namespaces and nftables); run it as root, as CI does")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found (apt-get install -y iproute2 nftables iptables conntrack)", tool)
		}
	}
	ns := "wkpref-check"
	exec.Command("ip", "netns", "del", ns).Run()
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	rules := "table ip t {\n\tchain c {\n\t\ttype nat hook postrouting priority 100;\n\t\tmasquerade fully-random\n\t}\n}\n"
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nftables NAT does not work here: %v: %s", err, out)
	}
	return nil
}

// moduleRoot returns the directory of go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("cannot find the module root (go env GOMOD: %q, %v)", mod, err)
	}
	return filepath.Dir(mod), nil
}

// buildNode builds ./cmd/node into dir and returns the binary's path.
func buildNode(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "walkie")
	build := exec.Command("go", "build", "-o", bin, "./cmd/node")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building ./cmd/node: %v", err)
	}
	return bin, nil
}

// pidFilePath is where a run records its process ID, so that other runs
// know its namespaces are in use.
func pidFilePath(prefix string) string {
	return filepath.Join(os.TempDir(), "walkie-natlab-"+prefix+".pid")
}

// isRunPrefix reports whether name is a namespace of some lab run:
// wk, four hex digits, a dash.
func isRunPrefix(name string) (string, bool) {
	if len(name) < 7 || !strings.HasPrefix(name, "wk") || name[6] != '-' {
		return "", false
	}
	if _, err := hex.DecodeString(name[2:6]); err != nil {
		return "", false
	}
	return name[:6], true
}

// removeStale removes the namespaces of earlier runs whose process is gone
// (killed, or crashed past every cleanup hook). Namespaces of live runs, and
// every name outside the wkXXXX- pattern, are left alone.
func removeStale() {
	seen := map[string]bool{}
	for _, ns := range listNamespaces() {
		p, ok := isRunPrefix(ns)
		if !ok || p == runPrefix || seen[p] {
			continue
		}
		seen[p] = true
		if b, err := os.ReadFile(pidFilePath(p)); err == nil {
			if pid, err := strconv.Atoi(string(b)); err == nil && syscall.Kill(pid, 0) == nil {
				continue // a live run
			}
		}
		fmt.Fprintf(os.Stderr, "natlab: removing stale namespaces %s-*\n", p)
		removeNamespaces(p)
		os.Remove(pidFilePath(p))
	}
}
