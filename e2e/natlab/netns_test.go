//go:build natlab

package natlab

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// listNamespaces returns the names of all network namespaces that ip knows.
func listNamespaces() []string {
	out, _ := exec.Command("ip", "netns", "list").Output()
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// removeNamespaces kills every process inside the namespaces named
// prefix-*, then deletes them. Deleting a namespace does not stop its
// processes, and a node left running would hold its veth alive.
func removeNamespaces(prefix string) {
	for _, ns := range listNamespaces() {
		if !strings.HasPrefix(ns, prefix+"-") {
			continue
		}
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		exec.Command("ip", "netns", "del", ns).Run()
		os.RemoveAll(filepath.Join(etcNetns, ns)) // a resolv.conf of the NAT64 lab; ip netns del leaves it
	}
}

// etcNetns holds per-namespace files that ip netns exec bind-mounts over
// /etc: /etc/netns/NS/resolv.conf becomes /etc/resolv.conf inside NS.
const etcNetns = "/etc/netns"

// ip runs the ip command with args and returns an error that carries its
// output, since ip's messages are the only useful diagnosis.
func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// inNS runs a command inside namespace ns with stdin (may be "").
func inNS(ns, stdin string, args ...string) error {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("in %s: %s: %v: %s", ns, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// inNamespace runs f on an OS thread that has joined namespace ns. Sockets
// that f creates stay in ns for their whole life, so the test process can
// reach a node's loopback HTTP server, or a router's netfilter queue,
// without an exec per request and without connecting the root namespace.
// The thread returns to its own namespace before it is released; only if
// that fails does it stay locked, so the runtime discards it.
func inNamespace(ns string, f func() error) error {
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return err
	}
	defer target.Close()
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("leaving %s: %w", ns, err) // the thread stays locked and dies
	}
	runtime.UnlockOSThread()
	return ferr
}

// dialIn returns a DialContext that opens connections from inside ns.
func dialIn(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := inNamespace(ns, func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}
