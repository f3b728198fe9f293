//go:build e2e

package metrics

import (
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromeFlags keep headless Chromium off the internet and out of the
// user's profile: without them it keeps calling home (updates, sync,
// QUIC probes) from inside the test.
var chromeFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
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

	// The page keeps event streams open (the chat's, the game's), so the
	// browser is never idle: wait in it until the polls filled the page.
	ctx := browser(t, bin)
	inBrowser(t, ctx, "loading the page", chromedp.Navigate(page), chromedp.EmulateViewport(1280, 900))
	filled := `!!document.querySelector('#live.ok') && document.querySelectorAll('#peers tr[data-peer]').length === 2 &&
		!!document.querySelector('#chart path.verified') && document.getElementById('first-peer').textContent.startsWith('after ') &&
		document.getElementById('c-introreq-sent').textContent !== '0'`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](filled, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the page did not fill in within 15 s: %v", err)
	}
	dom := value(t, ctx, "the page's DOM", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
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
		`class="live ok"`,                                   // every fetch of the last poll succeeded
		`<span id="verified">2</span>`,                      // both other nodes
		`<path class="verified"`,                            // the chart is drawn
		`<span class="badge verified">authenticated</span>`, // state column: every node has a key
		`<span class="chip">chat</span>`,                    // communities column
		`<dd id="first-peer">after `,                        // from first_peer_ms
		`<span id="pun-ok">`,                                // counters from /metrics
		`<td id="c-preq-sent">`,                             //
		`<code id="wan">not known yet</code>`,               // loopback observers do not vote
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
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if err := os.WriteFile(shot, b, 0o644); err != nil {
		t.Fatal(err)
	}
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
