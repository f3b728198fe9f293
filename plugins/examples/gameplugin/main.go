// Command gameplugin is the game community (plugins/game) served
// out-of-process, as a rock-paper-scissors bot: a node loads it with
//
//	walkie -communities chat -plugin /path/to/gameplugin
//
// and every member that challenges the node gets a game against it. It is
// the same code as the in-process game (-communities game); only the
// packaging differs, and since nobody can call Play inside the plugin
// process, it answers every invite at once with a random move
// (game.Config.AutoPlay).
package main

import (
	"flag"
	"time"

	"github.com/walkie-p2p/walkie/plugins/game"
	"github.com/walkie-p2p/walkie/plugins/sdk"
)

func main() {
	timeout := flag.Duration("timeout", 30*time.Second, "how long a game waits on the opponent")
	flag.Parse()
	sdk.Serve(game.New(game.Config{Timeout: *timeout, AutoPlay: true}))
}
