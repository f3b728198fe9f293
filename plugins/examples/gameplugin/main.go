// Command gameplugin is the game community (plugins/game) served
// out-of-process: a node loads it with
//
//	walkie -communities chat -plugin /path/to/gameplugin
//
// and serves the game's HTTP API at /api/game exactly as it does for the
// built-in game (-communities game), by forwarding each request to the
// plugin: challenge a member, play, read the games and scores. It is the
// same code as the in-process game; only the packaging differs. With -bot
// it answers every invite at once with a random move (game.Config.AutoPlay),
// so that members always have someone to play against.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/walkie-p2p/walkie/plugins/game"
	"github.com/walkie-p2p/walkie/plugins/sdk"
	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

func main() {
	timeout := flag.Duration("timeout", 30*time.Second, "how long a game waits on the opponent")
	bot := flag.Bool("bot", false, "answer every invite at once with a random move")
	flag.Parse()
	cfg := game.Config{Timeout: *timeout, AutoPlay: *bot}
	// The node gives its plugins a directory of their own: the scores
	// are kept there across restarts, as the built-in game keeps them.
	if cfg.Dir = os.Getenv(pluginv1.DataDirEnv); cfg.Dir == "" {
		sdk.Serve(game.New(cfg))
		return
	}
	g, err := game.Load(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gameplugin:", err)
		os.Exit(1)
	}
	sdk.Serve(g)
}
