// Command pingplugin serves the ping community of
// docs/writing-a-community.md out-of-process, as docs/writing-a-plugin.md
// explains. Load it with: walkie -plugin ./pingplugin
package main

import (
	"github.com/walkie-p2p/walkie/plugins/examples/ping"
	"github.com/walkie-p2p/walkie/plugins/sdk"
)

func main() { sdk.Serve(ping.New()) }
