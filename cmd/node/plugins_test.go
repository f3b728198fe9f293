package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildPing compiles the example ping plugin.
func buildPing(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pingplugin")
	if out, err := exec.Command("go", "build", "-o", bin, "../../plugins/examples/pingplugin").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeAddrs returns a UDP and a TCP loopback address that were free a
// moment ago.
func freeAddrs(t *testing.T) (udp, tcp string) {
	t.Helper()
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	udp, tcp = u.LocalAddr().String(), l.Addr().String()
	u.Close()
	l.Close()
	return udp, tcp
}

// running reports whether a process runs the binary bin.
func running(bin string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range procs {
		if exe, err := os.Readlink(p); err == nil && exe == bin {
			return true
		}
	}
	return false
}

// TestRunPluginNames: a -communities name counts as known when a -plugin
// serves it; one that nothing serves, or an -announce name that a plugin
// runs, is a usage error found after the plugins load, and the node leaves
// nothing behind: no plugin process, no socket, no store opened.
func TestRunPluginNames(t *testing.T) {
	bin := buildPing(t)
	runCancelled(t, quietArgs(t.TempDir(), "-communities", "chat,ping", "-plugin", bin))

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-communities", "chat,caht", "-plugin", bin}, `walkie: -communities "chat,caht": unknown community "caht" (built in: chat, game; from -plugin: ping; -announce announces a name without running it); run 'walkie -h' for usage`},
		{[]string{"-communities", "chat", "-announce", "ping", "-plugin", bin}, `walkie: -announce "ping": community "ping" is run by -plugin ` + bin + `; drop it from -announce; run 'walkie -h' for usage`},
	} {
		sockets := t.TempDir()
		t.Setenv("TMPDIR", sockets)
		data := t.TempDir()
		udp, tcp := freeAddrs(t)
		args := append([]string{"-data", data, "-listen", udp, "-http", tcp, "-lan-discovery=false"}, tt.args...)
		var stderr bytes.Buffer
		if code := run(context.Background(), args, new(bytes.Buffer), &stderr); code != exitUsage {
			t.Errorf("%q: exit code %d, want %d", tt.args, code, exitUsage)
		}
		// The plugins log as they load; the mistake is the last line.
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if last := lines[len(lines)-1]; last != tt.want {
			t.Errorf("%q: last line\n%s\nwant\n%s", tt.args, last, tt.want)
		}
		if running(bin) {
			t.Errorf("%q: the plugin still runs", tt.args)
		}
		if left, _ := os.ReadDir(sockets); len(left) != 0 {
			t.Errorf("%q: %d files left in the socket directory", tt.args, len(left))
		}
		if _, err := os.Stat(filepath.Join(data, "chat")); err == nil {
			t.Errorf("%q: the chat's store was opened", tt.args)
		}
		for network, addr := range map[string]string{"udp": udp, "tcp": tcp} {
			var err error
			if network == "udp" {
				var c net.PacketConn
				if c, err = net.ListenPacket(network, addr); err == nil {
					c.Close()
				}
			} else {
				var l net.Listener
				if l, err = net.Listen(network, addr); err == nil {
					l.Close()
				}
			}
			if err != nil {
				t.Errorf("%q: %s %s still held: %v", tt.args, network, addr, err)
			}
		}
	}
}
