package host

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"

	"github.com/walkie-p2p/walkie/community"
)

// direct is the Host service of one plugin process at a plain address,
// StartRequest.host_address, for a plugin that does not speak go-plugin's
// broker (one in another language). It is a Unix socket in a directory
// of its own that only the node's user can enter (mode 0700), which is
// what keeps other users out: the same protection as go-plugin's sockets.
type direct struct {
	dir    string // removed by stop
	srv    *grpc.Server
	target string // the gRPC target: "unix:" and the socket's absolute path
}

// serveDirect serves env's Host service on a new socket in socketDir.
func serveDirect(socketDir string, env community.Env, log *slog.Logger) (*direct, error) {
	abs, err := filepath.Abs(socketDir)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(abs, "walkie-host-") // mode 0700
	if err != nil {
		return nil, fmt.Errorf("a directory for the host socket: %w", err)
	}
	path := filepath.Join(dir, "host.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("the host socket: %w", err)
	}
	d := &direct{dir: dir, srv: newHostServer(env, log)(nil), target: "unix:" + path}
	go d.srv.Serve(ln)
	return d, nil
}

// stop closes the server and its connections and removes the socket. It
// may be called on a nil *direct.
func (d *direct) stop() {
	if d == nil {
		return
	}
	d.srv.Stop()
	os.RemoveAll(d.dir)
}
