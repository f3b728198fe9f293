package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/game"
	"github.com/walkie-p2p/walkie/plugins/host"
)

// apiCall makes a request to the game API at base and decodes the JSON
// answer into out; a status other than 200 is an error.
func apiCall(base, method, path, body string, out any) error {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// The game API of the plugin, served by the node (host.Plugin.API), is the
// built-in game's: node 0 runs the plugin and plays through the API against
// an in-process game on node 1.
func TestAPIThroughPlugin(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gameplugin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var plug *host.Plugin
	var local *game.Community
	net := coretest.Start(t, coretest.Options{Nodes: 2}, func(i int) []community.Community {
		if i == 1 {
			local = game.New(game.Config{Retry: 200 * time.Millisecond})
			return []community.Community{local}
		}
		p, err := host.Load(host.Config{Path: bin, Args: []string{"-timeout=20s"}, SocketDir: t.TempDir(),
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		plug = p
		return []community.Community{p}
	})
	net.WaitMembers("game")
	srv := httptest.NewServer(plug.API())
	defer srv.Close()
	base := srv.URL

	var ch struct{ Game string }
	if _, err := net.WaitFor(5*time.Second, func() error {
		return apiCall(base, "POST", "/api/game/challenge", fmt.Sprintf(`{"peer": %q}`, net.Node(1).ID), &ch)
	}); err != nil {
		t.Fatal(err)
	}
	id, err := game.ParseGameID(ch.Game)
	if err != nil {
		t.Fatalf("challenge answered %+v: %v", ch, err)
	}
	if _, err := net.WaitFor(10*time.Second, func() error {
		if _, ok := local.Game(id); !ok {
			return errors.New("no invite at node 1")
		}
		return local.Play(id, game.Paper)
	}); err != nil {
		t.Fatal(err)
	}
	var g struct{ ID, Mine, Result string }
	if err := apiCall(base, "POST", "/api/game/move", fmt.Sprintf(`{"game": %q, "move": "rock"}`, ch.Game), &g); err != nil || g.ID != ch.Game || g.Mine != "rock" {
		t.Fatalf("move: %+v, %v", g, err)
	}
	if _, err := net.WaitFor(20*time.Second, func() error {
		var gs struct {
			Games []struct{ ID, Theirs, Result string }
		}
		if err := apiCall(base, "GET", "/api/game/games", "", &gs); err != nil {
			return err
		}
		if len(gs.Games) != 1 || gs.Games[0].ID != ch.Game || gs.Games[0].Result != "loss" || gs.Games[0].Theirs != "paper" {
			return fmt.Errorf("games %+v", gs.Games)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var sc struct {
		Scores []struct {
			Peer                string
			Wins, Losses, Draws int
		}
	}
	if err := apiCall(base, "GET", "/api/game/scores", "", &sc); err != nil || len(sc.Scores) != 1 ||
		sc.Scores[0].Peer != net.Node(1).ID.String() || sc.Scores[0].Losses != 1 {
		t.Fatalf("scores %+v, %v", sc, err)
	}
	// The game's own errors come through as it gives them.
	var none struct{}
	if err := apiCall(base, "POST", "/api/game/move", fmt.Sprintf(`{"game": %q, "move": "rock"}`, ch.Game), &none); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("a move in a finished game: %v, want 409", err)
	}
	if err := apiCall(base, "GET", "/api/game/nothing", "", &none); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("an unknown path: %v, want 404", err)
	}
}
