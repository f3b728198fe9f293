//go:build e2e

package metrics

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// evilName is the attacker's host name; Chromium resolves it to 127.0.0.1.
const evilName = "rebind.evil.example"

// attackPath is the attacker's page on the rebinder.
const attackPath = "/rebind-attack.html"

// attackText is what the attacker's page tries to post as the user.
const attackText = "posted by a foreign web page"

// attackPage is the attacker's page: once loaded, it reads /status and
// posts to /api/chat on its own origin, which now reaches the node, and
// writes what it got into #result.
const attackPage = `<!doctype html>
<title>a page the user visits</title>
<pre id="result"></pre>
<script>
(async () => {
  const out = {};
  const tries = [
    ['status', '/status', {}],
    ['post', '/api/chat', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({text: '` + attackText + `'})}],
    ['history', '/api/chat', {}],
  ];
  for (const [name, path, opts] of tries) {
    try {
      const r = await fetch(path, opts);
      out[name] = {status: r.status, body: await r.text()};
    } catch (e) {
      out[name] = {status: 0, body: String(e)};
    }
  }
  const el = document.getElementById('result');
  el.textContent = JSON.stringify(out);
  el.dataset.done = '1';
})();
</script>
`

// startRebinder plays the attacker's server and DNS in a rebinding attack
// on one port of 127.0.0.1: a connection whose first request asks for
// attackPath gets the attacker's page; every other connection is forwarded
// byte for byte to the node at nodeAddr, as if the attacker's name now
// resolved to the node. The browser sees one origin throughout,
// http://rebind.evil.example:PORT, and the node sees that Host. It
// returns the port.
func startRebinder(t *testing.T, nodeAddr string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go rebind(c, nodeAddr)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// rebind serves one connection of the rebinder.
func rebind(c net.Conn, nodeAddr string) {
	defer c.Close()
	br := bufio.NewReader(c)
	first := "GET " + attackPath + " "
	if b, err := br.Peek(len(first)); err != nil {
		return
	} else if string(b) == first {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		resp := &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1, Close: true, ContentLength: int64(len(attackPage)),
			Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: io.NopCloser(strings.NewReader(attackPage))}
		resp.Write(c)
		return
	}
	node, err := net.Dial("tcp", nodeAddr)
	if err != nil {
		return
	}
	defer node.Close()
	go io.Copy(node, br)
	io.Copy(c, node)
}

// browser starts headless Chromium under chromedp with chromeFlags, a
// fresh profile, and evilName resolving to 127.0.0.1. The browser ends
// when the test does, or after 90 s.
func browser(t *testing.T, bin string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("host-resolver-rules", "MAP "+evilName+" 127.0.0.1")}
	for _, f := range chromeFlags {
		opts = append(opts, chromedp.Flag(strings.TrimPrefix(f, "--"), true))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancel() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	return bctx
}

// inBrowser runs steps in the browser; what says what they are for.
func inBrowser(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs one action in the browser and returns its value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// TestRebindingInChromium attacks a node the way a web page the user
// visits can: through DNS rebinding, its own name now reaches the node, so
// its scripts are same-origin with it. Before the node checked Host, the
// page read /status and posted to the chat as the user (both 200). Now it
// must get 421 for both and post nothing. Then the node's own page, loaded
// as http://127.0.0.1:PORT/, must still work and show the peers.
func TestRebindingInChromium(t *testing.T) {
	bin := need(t, "chromium", "chromium")
	nodes := startNetwork(t)
	n := nodes[0]
	ctx := browser(t, bin)

	port := startRebinder(t, n.http)
	attack := fmt.Sprintf("http://%s:%d%s", evilName, port, attackPath)
	inBrowser(t, ctx, "the attacker's page", chromedp.Navigate(attack), chromedp.WaitReady(chromedp.CSS(`#result[data-done="1"]`)))
	result := value(t, ctx, "the attacker's result", chromedp.Text(chromedp.CSS("#result")))
	t.Logf("the attacker's page at %s got: %s", attack, result)
	var got map[string]struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	if err := json.Unmarshal([]byte(result), &got); err != nil {
		t.Fatalf("the page's result %q: %v", result, err)
	}
	for _, name := range []string{"status", "post", "history"} {
		r := got[name]
		if r.Status != http.StatusMisdirectedRequest || strings.Contains(r.Body, n.peerID) || strings.Contains(r.Body, attackText) {
			t.Errorf("the attacker's %s: %d %q, want 421 and nothing of the node", name, r.Status, r.Body)
		}
	}
	b, err := get("http://" + n.http + "/api/chat")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), attackText) {
		t.Errorf("the attacker's page posted to the chat: %s", b)
	}

	checkPage(t, ctx, "http://"+n.http+"/", n)
}

// checkPage loads the node's page at url (unless it is loaded already)
// and waits until it says it is live and shows exactly the peers that the
// node's /status lists, and the node's own peer ID.
func checkPage(t *testing.T, ctx context.Context, url string, n *node) {
	t.Helper()
	if value(t, ctx, "the page's address", chromedp.Evaluate[string](`location.href`)) != url {
		inBrowser(t, ctx, "loading the node's page", chromedp.Navigate(url))
	}
	st, err := n.status()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range st.Peers {
		want = append(want, p.ID)
	}
	slices.Sort(want)
	wantJSON, _ := json.Marshal(want)
	// The page polls every 1.5 s; wait in the browser until it shows them.
	shows := fmt.Sprintf(`document.querySelector('#live.ok') && document.getElementById('peer-id').textContent === %q &&
		JSON.stringify([...document.querySelectorAll('tr[data-peer]')].map((r) => r.dataset.peer).sort()) === %q`, n.peerID, wantJSON)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](shows, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		dom := value(t, ctx, "the page", chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("the page at %s does not show peer ID %s, live, and the peers %s within 15 s (%v); it shows:\n%s", url, n.peerID, wantJSON, err, dom)
	}
	t.Logf("the page at %s shows %d peers: %s", url, len(want), wantJSON)
}

// TestLoginInChromium: a node whose HTTP server listens beyond loopback
// asks the page for its token; a wrong one is refused with a message, the
// right one (from DATA/http-token) sets a cookie that scripts cannot read,
// and the page then works.
func TestLoginInChromium(t *testing.T) {
	bin := need(t, "chromium", "chromium")
	boot := startNode(t, "boot", "127.0.0.1")
	data := t.TempDir()
	n := startNode(t, "open", "127.0.0.2", "-bootstrap", boot.lan, "-http", "0.0.0.0:0", "-data", data)
	b, err := os.ReadFile(filepath.Join(data, "http-token"))
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(n.http) // [::]:PORT
	n.http, n.token = "127.0.0.1:"+port, strings.TrimSpace(string(b))
	if _, err := get("http://" + n.http + "/status"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("/status without the token: %v, want 401", err)
	}
	if !poll(10*time.Second, func() bool { s, err := n.status(); return err == nil && len(s.verified()) == 1 }) {
		t.Fatal("the node did not verify the bootstrap within 10 s")
	}
	ctx := browser(t, bin)
	page := "http://" + n.http + "/"
	submit := chromedp.Click(chromedp.CSS(`#login button[type="submit"]`))
	inBrowser(t, ctx, "the login form", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "not the token"), submit,
		chromedp.Poll[chromedp.Void](`document.getElementById('login-error').textContent !== ''`))
	if msg := value(t, ctx, "the login error", chromedp.Text(chromedp.CSS("#login-error"))); !strings.Contains(msg, "wrong token") {
		t.Errorf("a wrong token shows %q", msg)
	}
	value(t, ctx, "clearing the field", chromedp.Evaluate[string](`document.getElementById('token').value = ''`))
	inBrowser(t, ctx, "logging in", chromedp.SendKeys(chromedp.CSS("#token"), n.token), submit,
		chromedp.WaitVisible(chromedp.CSS("#live.ok")))
	if cookies := value(t, ctx, "the page's cookies", chromedp.Evaluate[string](`document.cookie`)); cookies != "" {
		t.Errorf("scripts can read the cookies %q", cookies)
	}
	checkPage(t, ctx, page, n)
	// The cookie opens the event streams too (an EventSource sends no
	// header), and the page posts with it.
	tt := &tab{name: "open", ctx: ctx, n: n}
	tt.wait(t, "both streams open after the login", `document.querySelector('#chat-state.live') && document.querySelector('#game-state.live')`, 10*time.Second)
	inBrowser(t, ctx, "chatting after the login", chromedp.SendKeys(chromedp.CSS("#chat-text"), "posted with the cookie"), chromedp.Click(chromedp.CSS("#chat-send")))
	tt.wait(t, "the message in the page", `[...document.querySelectorAll('#chat-messages .text')].some((e) => e.textContent === 'posted with the cookie')`, 5*time.Second)
}
