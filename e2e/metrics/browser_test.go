//go:build e2e

package metrics

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromeFlags keep headless Chromium off the internet and out of the
// user's profile: without them it keeps calling home (updates, sync,
// QUIC probes) from inside the test.
var chromeFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
}

// chromium runs headless Chromium on url with a fresh profile and the
// extra flags. --virtual-time-budget lets the page's script run its first
// polls (virtual time runs ahead while the page waits), so the DOM and the
// screenshot show data, not the page's placeholders.
func chromium(t *testing.T, bin, url string, extra ...string) []byte {
	t.Helper()
	args := append(append([]string{}, chromeFlags...), "--user-data-dir="+t.TempDir(), "--virtual-time-budget=5000")
	args = append(append(args, extra...), url)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
	}
	return stdout.Bytes()
}

// TestStatusPageInChromium opens the status page of a node in a real
// browser and checks that the page's script filled it in: its own peer ID,
// a peers table with exactly the peers /status reports, the counters, the
// chart, and the "live" indicator that says every fetch succeeded. It
// saves a screenshot to testout/status-page.png.
func TestStatusPageInChromium(t *testing.T) {
	bin := need(t, "chromium", "chromium")
	nodes := startNetwork(t)
	n := nodes[0]
	page := "http://" + n.http + "/"

	dom := string(chromium(t, bin, page, "--dump-dom"))
	st, err := n.status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Peers) == 0 {
		t.Fatal("/status lists no peers")
	}
	if !strings.Contains(dom, `<code id="peer-id">`+n.peerID+`</code>`) {
		t.Errorf("the page does not show the node's own peer ID %s", n.peerID)
	}
	rows := regexp.MustCompile(`<tr data-peer="([0-9a-f-]{36})">`).FindAllStringSubmatch(dom, -1)
	shown := map[string]bool{}
	for _, r := range rows {
		shown[r[1]] = true
	}
	for _, p := range st.Peers {
		if !shown[p.ID] {
			t.Errorf("peer %s (%s) from /status is not in the page's table", p.ID, p.Addr)
		}
		if !strings.Contains(dom, "<code>"+p.Addr+"</code>") {
			t.Errorf("peer address %s is not in the page", p.Addr)
		}
	}
	if len(rows) != len(st.Peers) {
		t.Errorf("the table has %d rows, /status %d peers", len(rows), len(st.Peers))
	}
	for _, want := range []string{
		`class="live ok"`,                     // every fetch of the last poll succeeded
		`<span id="verified">2</span>`,        // both other nodes
		`<path class="verified"`,              // the chart is drawn
		`<span class="badge verified">`,       // state column
		`<span class="chip">chat</span>`,      // communities column
		`<dd id="first-peer">after `,          // from first_peer_ms
		`<span id="pun-ok">`,                  // counters from /metrics
		`<td id="c-preq-sent">`,               //
		`<code id="wan">not known yet</code>`, // loopback observers do not vote
		`<span class="badge unknown" id="nat">unknown</span>`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if re := regexp.MustCompile(`<td id="c-introreq-sent">([0-9,]+)</td>`).FindStringSubmatch(dom); re == nil || re[1] == "0" {
		t.Errorf("introduction requests sent not shown or 0: %v", re)
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}

	out := filepath.Join(moduleRoot, "testout")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(out, "status-page.png")
	os.Remove(shot)
	chromium(t, bin, page, "--screenshot="+shot, "--window-size=1280,900")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 900 {
		t.Errorf("screenshot is %v, want 1280x900", b)
	}
	t.Logf("screenshot: %s", shot)
}
