//go:build natlab

package natlab

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// qemuAarch64 runs a linux/arm64 binary on any Linux machine (user-mode
// emulation). It is called by name, so no binfmt_misc registration is
// needed and the test never depends on the machine's binfmt setup.
const qemuAarch64 = "qemu-aarch64-static"

// arm64Deadline is how long the emulated node gets to mesh: qemu-user
// translates every instruction, so it is far slower than a native node.
const arm64Deadline = 20 * time.Second

// arm64Node returns a static linux/arm64 build of ./cmd/node, built as
// `make android` builds bin/walkie-linux-arm64 (NATLAB_WALKIE_ARM64 names a
// ready one instead), after checking that it is one: an AArch64 ELF file
// with no dynamic loader, which is what runs on a phone.
func arm64Node(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("NATLAB_WALKIE_ARM64")
	if bin != "" {
		t.Logf("testing %s (NATLAB_WALKIE_ARM64)", bin)
	} else {
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(t.TempDir(), "walkie-linux-arm64")
		build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/node")
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building ./cmd/node for linux/arm64: %v\n%s", err, out)
		}
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Fatalf("%s is built for %v, want EM_AARCH64", bin, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked; want a static build (CGO_ENABLED=0)", bin)
		}
	}
	return bin
}

// TestArm64UnderQemu: the static linux/arm64 node, run by qemu-user with
// -profile mobile behind a cone NAT, joins a public amd64 bootstrap and two
// amd64 hosts behind cone NATs. Within 20 s it reaches each of them at its
// punctured public address as a verified peer and each reaches it at its
// own, it knows its WAN address and that its NAT is a cone, its /status has
// first_peer_ms and packets_sent_per_min, and SIGTERM stops it with exit
// status 0. So the arm64 build walks and punctures, not just compiles.
func TestArm64UnderQemu(t *testing.T) {
	qemu, err := exec.LookPath(qemuAarch64)
	if err != nil {
		t.Fatalf("%s not found: the arm64 node runs under qemu-user emulation (apt-get install -y qemu-user-static)", qemuAarch64)
	}
	armBin := arm64Node(t)

	l := newLab(t, "boot:public a:cone b:cone arm:cone", options{})
	boot := l.start("boot", "")
	t0 := time.Now()
	a := l.launch("a", "", l.bootAddr("boot"))
	b := l.launch("b", "", l.bootAddr("boot"))
	arm := l.launchWith("arm", "", runner{prefix: []string{qemu}, bin: armBin,
		args: []string{"-profile", "mobile"}, ready: 15 * time.Second}, l.bootAddr("boot"))
	for _, n := range []*node{a, b, arm} {
		n.waitReady(t)
	}
	up := time.Since(arm.started)
	// ip netns exec execs the command, so the process is the emulator.
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", arm.cmd.Process.Pid)); err != nil || filepath.Base(exe) != qemuAarch64 {
		t.Fatalf("arm's process runs %q (%v), want %s", exe, err, qemuAarch64)
	}
	t.Logf("arm64 node under %s answers /status %.2fs after launch", qemu, up.Seconds())

	all := []*node{boot, a, b, arm}
	hosts := []*node{a, b, arm}
	w := newWatch(t0, all...)
	// problems lists what is still wrong: pairs of arm and an amd64 node
	// that do not reach each other, the cone hosts' WAN addresses, and the
	// fields of arm's /status.
	problems := func(w *watch) []string {
		out := w.missing([]*node{arm, boot})
		out = append(out, w.missing(hosts)...)
		out = append(out, w.wanProblems(hosts)...)
		if s := w.last[arm]; s != nil {
			if s.FirstPeerMS == nil {
				out = append(out, "arm: first_peer_ms is null")
			}
			if s.PacketsPerMin == nil {
				out = append(out, "arm: /status has no packets_sent_per_min")
			}
		}
		return out
	}
	ok, at := w.until(arm64Deadline, func(w *watch) bool { return len(problems(w)) == 0 })
	t.Logf("who reaches whom, time from launching a, b and arm:\n%s", w.pairTable(all))
	if !ok {
		t.Fatalf("the arm64 node under qemu is not meshed with the amd64 nodes within %v:\n%s",
			arm64Deadline, strings.Join(problems(w), "\n"))
	}
	s := w.last[arm]
	if *s.FirstPeerMS <= 0 || *s.FirstPeerMS > arm64Deadline.Milliseconds() {
		t.Errorf("arm: first_peer_ms = %d, want within (0, %d]", *s.FirstPeerMS, arm64Deadline.Milliseconds())
	}
	if s.PacketsSent == 0 {
		t.Errorf("arm: packets_sent = 0 while meshed")
	}
	t.Logf("arm64 node (qemu, -profile mobile) meshed with boot, a and b, nat=%s wan=%s, after %.2fs; first_peer_ms=%d packets_sent=%d packets_sent_per_min=%d",
		s.NAT, s.WAN, at.Seconds(), *s.FirstPeerMS, s.PacketsSent, *s.PacketsPerMin)

	arm.stop(t)
	if code := arm.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("arm exited with status %d after SIGTERM, want 0; log:\n%s", code, arm.tail(10))
	}
}
