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
	"time"

	"github.com/walkie-p2p/walkie/plugins/game"
	"github.com/walkie-p2p/walkie/plugins/sdk"
)

func main() {
	timeout := flag.Duration("timeout", 30*time.Second, "how long a game waits on the opponent")
	bot := flag.Bool("bot", false, "answer every invite at once with a random move")
	flag.Parse()
	sdk.Serve(game.New(game.Config{Timeout: *timeout, AutoPlay: *bot}))
}
