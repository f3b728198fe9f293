//go:build e2e

package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// screenshotsEnv, set to 1, makes TestPagesInChromium save the page at a
// phone's and a desktop's size into docs/ (page-phone.png,
// page-desktop.png), for README. CI does not set it.
const screenshotsEnv = "WALKIE_SCREENSHOTS"

// TestPagesInChromium: a person chats and plays from the page. Two real
// nodes, each page in its own tab of one headless Chromium: a message
// typed in one page shows in the other within 2 s (and the other way),
// a game is challenged, shows at once on the challenged side, is played
// and scored from the pages, and the score survives a restart of the
// node. The layout is one column at 360x740 and side by side at
// 1280x800; "Older messages" pages back through the history.
//
// Each variant is a way walkie serves the game, given as the nodes' extra
// flags, and runs the whole test on two nodes of its own: the built-in
// game, and the game of a plugin (bin/gameplugin, which make build makes),
// whose API the node serves by forwarding, scores kept in the directory
// the node gives it.
func TestPagesInChromium(t *testing.T) {
	bin := need(t, "chromium", "chromium")
	variants := []struct {
		name  string
		flags []string
	}{
		{"built-in", nil},
		{"plugin", []string{"-communities", "chat", "-plugin", filepath.Join(moduleRoot, "bin", "gameplugin")}},
	}
	for i, v := range variants {
		t.Run(v.name, func(t *testing.T) { playInPages(t, bin, v.flags, i == 0) })
	}
}

// tab is one page of a node in the browser.
type tab struct {
	name string
	ctx  context.Context
	n    *node

	mu     sync.Mutex
	errors []string // uncaught exceptions of the page's scripts
}

// playInPages runs the pages against two nodes started with flags; the
// first variant also checks the layout and takes the screenshots.
func playInPages(t *testing.T, bin string, flags []string, layout bool) {
	started := time.Now()
	dataA := t.TempDir()
	a := startNode(t, "a", "127.0.0.1", append(append([]string{}, flags...), "-data", dataA)...)
	b := startNode(t, "b", "127.0.0.2", append(append([]string{}, flags...), "-bootstrap", a.lan)...)
	if !poll(10*time.Second, func() bool { return authenticated(a, b.peerID) && authenticated(b, a.peerID) }) {
		t.Fatal("the nodes did not verify and authenticate each other within 10 s")
	}
	ctx := browser(t, bin)
	ta := openTab(t, ctx, "a", a)
	tb := openTab(t, chromedpTab(t, ctx), "b", b)
	t.Cleanup(func() {
		for _, tt := range []*tab{ta, tb} {
			tt.mu.Lock()
			if len(tt.errors) > 0 {
				t.Errorf("page %s had script errors:\n%s", tt.name, strings.Join(tt.errors, "\n"))
			}
			tt.mu.Unlock()
		}
	})

	chatInPages(t, ta, tb)
	gameInPages(t, ta, tb)
	if layout {
		checkLayout(t, ta)
	}
	scoresAfterRestart(t, ta, b, flags, dataA)
	olderMessages(t, ta)
	t.Logf("the pages' test took %v", time.Since(started).Round(time.Millisecond))
}

// authenticated reports whether n has verified peer and knows its key.
func authenticated(n *node, peer string) bool {
	s, err := n.status()
	if err != nil {
		return false
	}
	for _, p := range s.Peers {
		if p.ID == peer && p.Verified && p.Authenticated {
			return true
		}
	}
	return false
}

// chromedpTab returns a context for a new tab of the browser of ctx.
func chromedpTab(t *testing.T, ctx context.Context) context.Context {
	tctx, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	return tctx
}

// openTab loads n's page in the tab of ctx, records its script errors,
// and waits until it is live and both panels are connected.
func openTab(t *testing.T, ctx context.Context, name string, n *node) *tab {
	t.Helper()
	tt := &tab{name: name, ctx: ctx, n: n}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			// Only the scripts' own: the browser logs a stream that
			// drops (a node restarting) as an error of the network.
			if m.IsException() {
				tt.mu.Lock()
				tt.errors = append(tt.errors, m.String())
				tt.mu.Unlock()
			}
		}
	}()
	tt.load(t, "http://"+n.http+"/")
	return tt
}

// load navigates the tab to url and waits until the page is live, shows
// its node's peer ID and has both streams open.
func (tt *tab) load(t *testing.T, url string) {
	t.Helper()
	inBrowser(t, tt.ctx, "loading page "+tt.name, chromedp.Navigate(url))
	ready := fmt.Sprintf(`document.querySelector('#live.ok') && document.getElementById('peer-id').textContent === %q &&
		document.querySelector('#chat-state.live') && document.querySelector('#game-state.live')`, tt.n.peerID)
	tt.wait(t, "page "+tt.name+" live with both streams", ready, 10*time.Second)
}

// wait polls the JavaScript expression cond in the tab until it is true,
// and fails the test with the tab's main element if it is not within
// timeout.
func (tt *tab) wait(t *testing.T, what, cond string, timeout time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(tt.ctx, chromedp.Poll[bool]("!!("+cond+")", chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		html, _ := chromedp.Run(tt.ctx, chromedp.OuterHTML(chromedp.CSS(".play")))
		t.Fatalf("%s: not within %v (%v); page %s shows:\n%s", what, timeout, err, tt.name, html)
	}
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](t *testing.T, tt *tab, what, expr string) T {
	t.Helper()
	return value(t, tt.ctx, what+" in page "+tt.name, chromedp.Evaluate[T](expr))
}

// say types text into tab's chat and sends it, and checks that it shows in
// to within 2 s, under from's short peer ID, marked as ours only in from.
func say(t *testing.T, from, to *tab, text string) {
	t.Helper()
	inBrowser(t, from.ctx, "typing in page "+from.name, chromedp.SendKeys(chromedp.CSS("#chat-text"), text))
	start := time.Now()
	inBrowser(t, from.ctx, "sending in page "+from.name, chromedp.Click(chromedp.CSS("#chat-send")))
	shows := func(tt *tab, mine bool) string {
		return fmt.Sprintf(`[...document.querySelectorAll('#chat-messages li')].some((li) => li.querySelector('.text').textContent === %q &&
			li.querySelector('.peer').title === %q && li.querySelector('.peer code').textContent === %q &&
			!!li.querySelector('.you') === %v && li.classList.contains('mine') === %v)`,
			text, from.n.peerID, from.n.peerID[:8], mine, mine)
	}
	to.wait(t, fmt.Sprintf("%q typed in page %s shows in page %s", text, from.name, to.name), shows(to, false), 2*time.Second-time.Since(start))
	took := time.Since(start)
	from.wait(t, fmt.Sprintf("%q shows in page %s as ours", text, from.name), shows(from, true), 2*time.Second)
	// The field empties when the node has answered the post, which may be
	// after the message came back on the page's own event stream.
	from.wait(t, fmt.Sprintf("the message field of page %s empty after sending", from.name),
		`document.getElementById('chat-text').value === ''`, 2*time.Second)
	t.Logf("%q from page %s showed in page %s after %v", text, from.name, to.name, took.Round(time.Millisecond))
}

// chatInPages: an empty message is refused in the page with a line that
// says so; messages typed in either page show in the other within 2 s.
func chatInPages(t *testing.T, a, b *tab) {
	t.Helper()
	if !eval[bool](t, a, "the labels", `document.getElementById('chat-text').labels.length === 1 && document.getElementById('opponent').labels.length === 1`) {
		t.Error("the message field or the opponent list has no label")
	}
	inBrowser(t, a.ctx, "sending nothing", chromedp.Click(chromedp.CSS("#chat-send")))
	a.wait(t, "an empty message is refused", `document.getElementById('chat-error').textContent.includes('Write something')`, 2*time.Second)
	say(t, a, b, "hello from a")
	if msg := eval[string](t, a, "the error line", `document.getElementById('chat-error').textContent`); msg != "" {
		t.Errorf("page a still says %q once a message was sent", msg)
	}
	say(t, b, a, "hi a, b here")
	if n := eval[int](t, a, "the messages", `document.querySelectorAll('#chat-messages li').length`); n != 2 {
		t.Errorf("page a shows %d messages, want 2", n)
	}
}

// gameInPages: page a challenges b's node; the challenge shows in page b
// within 2 s (the game's stream); both play from the pages, and both show
// the result and the score.
func gameInPages(t *testing.T, a, b *tab) {
	t.Helper()
	opp := fmt.Sprintf(`#opponent option[value=%q]`, b.n.peerID)
	a.wait(t, "b in page a's list of players", `document.querySelector('`+opp+`') !== null`, 15*time.Second)
	inBrowser(t, a.ctx, "challenging b", chromedp.SetValue(chromedp.CSS("#opponent"), b.n.peerID), chromedp.Click(chromedp.CSS("#challenge-send")))
	start := time.Now()
	a.wait(t, "the challenge in page a", `document.querySelector('#games li.open') !== null`, 2*time.Second)
	id := eval[string](t, a, "the game's ID", `document.querySelector('#games li.open').dataset.game`)
	li := fmt.Sprintf(`#games li[data-game=%q]`, id)
	text := func(sel, want string) string {
		return fmt.Sprintf(`document.querySelector(%q)?.textContent === %q`, sel, want)
	}
	b.wait(t, "the challenge shows in page b", fmt.Sprintf(`document.querySelector(%q) !== null &&
		document.getElementById('game-announce').textContent.startsWith(%q)`, li+`.incoming button[data-move="rock"]`, a.n.peerID[:8]), 2*time.Second-time.Since(start))
	t.Logf("the challenge showed in page b after %v", time.Since(start).Round(time.Millisecond))

	inBrowser(t, b.ctx, "b plays scissors", chromedp.Click(chromedp.CSS(li+` button[data-move="scissors"]`)))
	b.wait(t, "page b shows its move", text(li+" .game-state", "You played scissors. Waiting for their move…"), 5*time.Second)
	a.wait(t, "page a sees that b played", text(li+" .game-state", "They have played. Your move:"), 5*time.Second)
	inBrowser(t, a.ctx, "a plays rock", chromedp.Click(chromedp.CSS(li+` button[data-move="rock"]`)))
	a.wait(t, "page a shows the win", text(li+`[data-result="win"] .game-state`, "You won: rock beats scissors."), 10*time.Second)
	b.wait(t, "page b shows the loss", text(li+`[data-result="loss"] .game-state`, "You lost: rock beats scissors."), 10*time.Second)
	a.wait(t, "page a scores the win", scoreShows(b.n.peerID, 1, 0, 0), 5*time.Second)
	b.wait(t, "page b scores the loss", scoreShows(a.n.peerID, 0, 1, 0), 5*time.Second)
	// The answer to a's move may come after the stream's result: it must
	// not take the result back.
	a.wait(t, "page a's move answered", `!document.getElementById('games').hasAttribute('aria-busy')`, 5*time.Second)
	if !eval[bool](t, a, "the result", text(li+`[data-result="win"] .game-state`, "You won: rock beats scissors.")) {
		t.Error("page a no longer shows the win once its move was answered")
	}
	if s := eval[string](t, b, "the banner", `document.getElementById('game-announce').textContent`); s != "" {
		t.Errorf("page b still announces %q after playing", s)
	}
}

// scoreShows is true when the score table shows the record against peer.
func scoreShows(peer string, won, lost, drawn int) string {
	return fmt.Sprintf(`(() => { const r = document.querySelector('#scores tr[data-opponent=%q]');
		return !!r && r.querySelector('.won').textContent === '%d' && r.querySelector('.lost').textContent === '%d' && r.querySelector('.drawn').textContent === '%d'; })()`,
		peer, won, lost, drawn)
}

// box is an element's place on the page.
type box struct{ Left, Top, Right, Bottom float64 }

// checkLayout: at a phone's size the chat and the game are one column and
// nothing is wider than the screen; at a desktop's they are side by side.
// With WALKIE_SCREENSHOTS=1 it saves both into docs/.
func checkLayout(t *testing.T, tt *tab) {
	t.Helper()
	if _, err := chromedp.Call(tt.ctx, page.BringToFront, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	boxes := func() (chat, game box) {
		var b map[string]box
		js := `JSON.stringify(Object.fromEntries(['chat', 'game'].map((id) => { const r = document.getElementById(id).getBoundingClientRect();
			return [id, {Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom}]; })))`
		if err := json.Unmarshal([]byte(eval[string](t, tt, "the panels' boxes", js)), &b); err != nil {
			t.Fatal(err)
		}
		return b["chat"], b["game"]
	}
	shoot := os.Getenv(screenshotsEnv) == "1"
	for _, size := range []struct {
		name          string
		width, height int64
		opts          []chromedp.EmulateViewportOption
	}{
		{"phone", 360, 740, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)}},
		{"desktop", 1280, 800, nil},
	} {
		inBrowser(t, tt.ctx, "the "+size.name+"'s size", chromedp.EmulateViewport(size.width, size.height, size.opts...),
			chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
		// Layout is synchronous: the boxes are the new size's.
		chat, game := boxes()
		wide := eval[float64](t, tt, "the page's width", `document.documentElement.scrollWidth`)
		switch size.name {
		case "phone":
			if game.Top < chat.Bottom || chat.Right > 360 || game.Right > 360 {
				t.Errorf("at 360x740 the chat %+v and the game %+v are not one column", chat, game)
			}
		case "desktop":
			if game.Left < chat.Right || game.Top != chat.Top || game.Bottom > 800 {
				t.Errorf("at 1280x800 the chat %+v and the game %+v are not side by side on the first screen", chat, game)
			}
		}
		if wide > float64(size.width) {
			t.Errorf("at %dx%d the page is %v px wide: it scrolls sideways", size.width, size.height, wide)
		}
		if !shoot {
			continue
		}
		png, err := chromedp.Run(tt.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(moduleRoot, "docs", "page-"+size.name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
}

// scoresAfterRestart stops node a cleanly, starts it again on its data
// directory, and checks that its page shows the score it had.
func scoresAfterRestart(t *testing.T, ta *tab, b *node, flags []string, data string) {
	t.Helper()
	a := ta.n
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("node a did not stop within 5 s of SIGTERM")
	}
	ta.n = startNode(t, "a2", "127.0.0.1", append(append([]string{}, flags...), "-data", data)...)
	ta.load(t, "http://"+ta.n.http+"/")
	ta.wait(t, "page a shows the score after a restart", scoreShows(b.peerID, 1, 0, 0), 5*time.Second)
}

// olderMessages: with more than a page of history, the page shows the
// newest 50 and "Older messages" brings the rest, in order.
func olderMessages(t *testing.T, tt *tab) {
	t.Helper()
	const n = 60
	for i := range n {
		body := strings.NewReader(fmt.Sprintf(`{"text": "filler %02d"}`, i))
		resp, err := http.Post("http://"+tt.n.http+"/api/chat", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("posting filler %d: %s", i, resp.Status)
		}
	}
	tt.load(t, "http://"+tt.n.http+"/")
	texts := `[...document.querySelectorAll('#chat-messages li .text')].map((e) => e.textContent)`
	tt.wait(t, "the newest page", texts+`.length === 50 && !document.getElementById('chat-older').hidden`, 5*time.Second)
	inBrowser(t, tt.ctx, "asking for older messages", chromedp.Click(chromedp.CSS("#chat-older")))
	tt.wait(t, "the whole history", texts+`.length === 62 && document.getElementById('chat-older').hidden`, 5*time.Second)
	got := eval[[]string](t, tt, "the history", texts)
	want := []string{"hello from a", "hi a, b here"}
	for i := range n {
		want = append(want, fmt.Sprintf("filler %02d", i))
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the page shows %q, want %q", got, want)
	}
}
