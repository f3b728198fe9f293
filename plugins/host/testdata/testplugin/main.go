// Command testplugin is a plugin for the host's tests: community "echo",
// whose type 1 echoes the body back to the sender, type 2 never returns
// (a hung plugin) and type 3 panics (a crash). Its HTTP API (api.go)
// misbehaves in every way the node must survive. Run with -garbage, it
// prints a line that is no go-plugin handshake instead; with -noapi it
// serves no API.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/sdk"
)

type echo struct{ env community.Env }

// noAPI is echo without its API.
type noAPI struct{ *echo }

// API hides echo's: a noAPI is no community.APIServer.
func (noAPI) API() {}

func (e *echo) Name() string { return "echo" }

func (e *echo) Messages() []community.MessageSpec {
	return []community.MessageSpec{
		{Type: 1, Name: "echo", MaxSize: 100, Handle: func(_ context.Context, from community.Peer, b []byte) error {
			e.env.Logger().Info("echoing", "bytes", len(b))
			return e.env.Send(from.ID, 1, b)
		}},
		{Type: 2, Name: "hang", MaxSize: 100, Handle: func(ctx context.Context, _ community.Peer, _ []byte) error {
			time.Sleep(time.Hour) // ignores ctx on purpose: a plugin stuck in a loop
			return nil
		}},
		{Type: 3, Name: "crash", MaxSize: 100, Handle: func(context.Context, community.Peer, []byte) error {
			panic("testplugin: crash on request")
		}},
	}
}

func (e *echo) Start(_ context.Context, env community.Env) error { e.env = env; return nil }
func (e *echo) Close() error                                     { return nil }

func main() {
	garbage := flag.Bool("garbage", false, "print garbage instead of a handshake")
	noapi := flag.Bool("noapi", false, "serve no HTTP API")
	flag.Parse()
	if *garbage {
		fmt.Println("hello, I am not a plugin")
		os.Exit(0)
	}
	if *noapi {
		sdk.Serve(noAPI{&echo{}})
		return
	}
	sdk.Serve(&echo{})
}
