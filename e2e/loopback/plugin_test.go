package loopback

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gameAPI posts req to the node's game API and decodes the answer into out.
func (n *node) gameAPI(path string, req any, out any) error {
	b, _ := json.Marshal(req)
	resp, err := httpClient.Post("http://"+n.http+path, "application/json", strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// apiGame is a game as GET /api/game/games shows it.
type apiGame struct {
	ID     string `json:"id"`
	Theirs string `json:"theirs"`
	Result string `json:"result"`
	Reason string `json:"reason"`
}

// games returns the games of n's game API.
func (n *node) games() []apiGame {
	resp, err := httpClient.Get("http://" + n.http + "/api/game/games")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var gs struct{ Games []apiGame }
	json.NewDecoder(resp.Body).Decode(&gs)
	return gs.Games
}

// play has a challenge b through its API and play rock; b, whose game is
// a plugin, finds the game in its API and plays paper. It waits for a's
// result.
func play(t *testing.T, a, b *node) apiGame {
	t.Helper()
	var ch struct{ Game string }
	// The first challenge waits until a sees b as a member.
	if !poll(20*time.Second, func() bool { return a.gameAPI("/api/game/challenge", map[string]string{"peer": b.peerID}, &ch) == nil }) {
		t.Fatalf("cannot challenge %s: %v", b.peerID, a.gameAPI("/api/game/challenge", map[string]string{"peer": b.peerID}, &ch))
	}
	var g apiGame
	if err := a.gameAPI("/api/game/move", map[string]string{"game": ch.Game, "move": "rock"}, &g); err != nil {
		t.Fatal(err)
	}
	if !poll(20*time.Second, func() bool {
		return b.gameAPI("/api/game/move", map[string]string{"game": ch.Game, "move": "paper"}, &g) == nil
	}) {
		t.Fatalf("b cannot play game %s: %v", ch.Game, b.gameAPI("/api/game/move", map[string]string{"game": ch.Game, "move": "paper"}, &g))
	}
	if !poll(30*time.Second, func() bool {
		for _, x := range a.games() {
			if x.ID == ch.Game && x.Result != "" {
				g = x
				return true
			}
		}
		return false
	}) {
		t.Fatalf("game %s did not end", ch.Game)
	}
	if g.Reason != "" || g.Theirs != "paper" || g.Result != "loss" {
		t.Fatalf("game did not end by two reveals, paper beating rock: %+v", g)
	}
	return g
}

// children returns the process IDs of pid's children.
func children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// TestGamePlugin: bin/walkie loads the example game plugin (built as its own
// binary) and plays, over real UDP, against another bin/walkie running the
// same community in-process, both driven through their HTTP APIs: the
// plugin's node forwards /api/game to the plugin. Killing the plugin
// process leaves its node running; the plugin comes back and plays again.
func TestGamePlugin(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gameplugin")
	build := exec.Command("go", "build", "-o", bin, "../../plugins/examples/gameplugin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	a := startNode(t, "a", nodeArgs(t.TempDir(), "127.0.0.1", "-communities", "game")...)
	b := startNode(t, "b", nodeArgs(t.TempDir(), "127.0.0.2", "-communities", "game", "-plugin", bin, "-bootstrap", a.lan)...)
	b.waitLine(`msg="plugin replaces the built-in community"`, time.Second)
	play(t, a, b)

	kids := children(b.cmd.Process.Pid)
	if len(kids) != 1 {
		t.Fatalf("b has children %v, want the plugin alone", kids)
	}
	if err := syscall.Kill(kids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.waitLine(`msg="plugin exited"`, 5*time.Second)
	b.waitLine(`msg="plugin restarted"`, 10*time.Second)
	if !b.running() {
		t.Fatal("b stopped with its plugin")
	}
	play(t, a, b)
	got := children(b.cmd.Process.Pid)
	if len(got) != 1 || got[0] == kids[0] {
		t.Fatalf("b's children after the restart: %v (killed %d)", got, kids[0])
	}

	// A node killed with SIGKILL cannot stop its plugin: the plugin notices
	// that its parent is gone and exits by itself.
	b.cmd.Process.Kill()
	<-b.exited
	if !poll(5*time.Second, func() bool { return gone(got[0]) }) {
		syscall.Kill(got[0], syscall.SIGKILL)
		t.Errorf("plugin %d outlived its node", got[0])
	}
}

// gone reports whether process pid has exited (a zombie counts: nobody may
// reap orphans in a container).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}
