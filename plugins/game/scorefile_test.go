package game_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/plugins/game"
)

// keptAndMemory starts two nodes: node 0 keeps its scores in dir (Load),
// node 1 in memory. gs holds the running instances; a restart of node 0
// loads a fresh one into gs[0].
func keptAndMemory(t *testing.T, dir string) (*coretest.Network, []*game.Community) {
	t.Helper()
	gs := make([]*game.Community, 2)
	net := twoNodes(t, coretest.Options{Latency: 10 * time.Millisecond}, func(i int) community.Community {
		if i == 1 {
			gs[1] = game.New(game.Config{})
			return gs[1]
		}
		g, err := game.Load(game.Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		gs[0] = g
		return g
	})
	return net, gs
}

// play plays one game, a challenging b, and waits for both results.
func play(t *testing.T, net *coretest.Network, a, b *game.Community, ma, mb game.Move) {
	t.Helper()
	id := challenge(t, net, a, net.Node(1).ID)
	waitGame(t, net, b, id, func(game.Game) bool { return true })
	if err := b.Play(id, mb); err != nil {
		t.Fatal(err)
	}
	if err := a.Play(id, ma); err != nil {
		t.Fatal(err)
	}
	waitGame(t, net, a, id, over)
	waitGame(t, net, b, id, over)
}

// fileScore is an entry of the score table's file.
type fileScore struct {
	Peer                string
	Wins, Losses, Draws int
}

// fileScores reads the score table's file: its version and entries.
func fileScores(path string) (int, []fileScore, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	var doc struct {
		Version int         `json:"version"`
		Scores  []fileScore `json:"scores"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return 0, nil, fmt.Errorf("%s: %v", b, err)
	}
	return doc.Version, doc.Scores, nil
}

// TestScoresSurviveRestart: the score table is written after a game that
// scores, and a restarted node reads it back.
func TestScoresSurviveRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "game")
		net, gs := keptAndMemory(t, dir)
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("Load made %s: %v, %v; want a directory of mode 0700", dir, fi, err)
		}
		path := filepath.Join(dir, game.ScoresFile)
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s exists before any game: %v", path, err)
		}
		play(t, net, gs[0], gs[1], game.Rock, game.Scissors)
		play(t, net, gs[0], gs[1], game.Paper, game.Paper)
		b := net.Node(1).ID
		want := []fileScore{{b.String(), 1, 0, 1}}
		// The loop writes it, without waiting for Close.
		if _, err := net.WaitFor(time.Minute, func() error {
			v, got, err := fileScores(path)
			if err == nil && (v != 1 || !slices.Equal(got, want)) {
				err = fmt.Errorf("%s holds version %d, %+v; want version 1, %+v", path, v, got, want)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", path, fi, err)
		}
		before := gs[0].Scores()
		net.Restart(0)
		if got := gs[0].Scores(); !slices.Equal(got, before) || len(got) != 1 || got[0] != (game.Score{Peer: b, Wins: 1, Draws: 1}) {
			t.Errorf("after a restart: %+v, want %+v", got, before)
		}
		// The restarted node scores on from there.
		net.WaitMembers("game")
		play(t, net, gs[0], gs[1], game.Scissors, game.Rock)
		net.Stop(0)
		g, err := game.Load(game.Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Scores(); len(got) != 1 || got[0] != (game.Score{Peer: b, Wins: 1, Losses: 1, Draws: 1}) {
			t.Errorf("after a second run: %+v, want 1-1-1", got)
		}
	})
}

// TestScoresFileCorrupt: a score table that cannot be read is an error of
// one line that names the file, never an empty table, and the file is
// left as it was.
func TestScoresFileCorrupt(t *testing.T) {
	const peer = "00000000-0000-0000-0000-000000000002"
	for name, body := range map[string]string{
		"empty":         "",
		"truncated":     `{"version": 1, "scores": [{"peer": "` + peer,
		"not JSON":      "wins: 3\n",
		"no version":    `{"scores": []}`,
		"newer version": `{"version": 2, "scores": []}`,
		"unknown field": `{"version": 1, "scores": [], "extra": 1}`,
		"bad peer":      `{"version": 1, "scores": [{"peer": "nobody", "wins": 1, "losses": 0, "draws": 0}]}`,
		"negative":      `{"version": 1, "scores": [{"peer": "` + peer + `", "wins": -1, "losses": 0, "draws": 0}]}`,
		"twice":         `{"version": 1, "scores": [{"peer": "` + peer + `", "wins": 1, "losses": 0, "draws": 0}, {"peer": "` + peer + `", "wins": 1, "losses": 0, "draws": 0}]}`,
		"trailing":      `{"version": 1, "scores": []} {}`,
		"a list":        `[]`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, game.ScoresFile)
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			g, err := game.Load(game.Config{Dir: dir})
			if err == nil {
				t.Fatalf("Load: %+v, want an error", g.Scores())
			}
			want := "corrupt"
			if name == "newer version" {
				want = "format version 2"
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line that names %s and says %q", msg, path, want)
			}
			if b, _ := os.ReadFile(path); string(b) != body {
				t.Errorf("the file now holds %q", b)
			}
		})
	}
	// A file that is not one: reading it fails, and that names it too.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, game.ScoresFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := game.Load(game.Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), game.ScoresFile) {
		t.Errorf("Load with a directory for the file: %v", err)
	}
}

// TestScoresSaveRetried: a save that fails keeps the table in memory and
// is tried again until it succeeds.
func TestScoresSaveRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		net, gs := keptAndMemory(t, dir)
		// A directory where the file goes: every rename onto it fails.
		path := filepath.Join(dir, game.ScoresFile)
		if err := os.MkdirAll(filepath.Join(path, "in-the-way"), 0o700); err != nil {
			t.Fatal(err)
		}
		play(t, net, gs[0], gs[1], game.Paper, game.Rock)
		time.Sleep(10 * time.Second) // fake time: a few failed saves
		synctest.Wait()
		if s := gs[0].Scores(); len(s) != 1 || s[0].Wins != 1 {
			t.Errorf("scores in memory %+v, want the win", s)
		}
		if err := os.RemoveAll(path); err != nil {
			t.Fatal(err)
		}
		if _, err := net.WaitFor(time.Minute, func() error {
			_, _, err := fileScores(path)
			return err
		}); err != nil {
			t.Fatalf("the table was not saved once it could be: %v", err)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*")); len(left) != 0 {
			t.Errorf("temporary files left behind: %v", left)
		}
	})
}

// TestNewWithDirPanics: New keeps scores in memory, so a Dir given to it
// is a mistake that must not pass silently.
func TestNewWithDirPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New with a Dir did not panic")
		}
	}()
	game.New(game.Config{Dir: t.TempDir()})
}
