// Package sdk turns a community.Community into an out-of-process plugin
// binary that a walkie node loads with -plugin PATH:
//
//	func main() { sdk.Serve(mycommunity.New()) }
//
// The same Community value runs in-process too, so a community is written
// and tested once (with core/coretest) and shipped either way.
//
// A plugin exits when its node stops it or dies.
//
// In the plugin process the community's Env is a client of the node's Host
// service: Send, Members, Self and WAN are calls into the node (each bounded
// by CallTimeout), and the Logger's records go to the node's log, tagged
// with the community's name.
package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/internal/wire"
	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

// CallTimeout bounds each call the plugin makes into the node, so that a
// node that went away cannot hang the community.
const CallTimeout = 5 * time.Second

// Serve serves c as a plugin until the node stops the plugin, then closes
// c. If c implements community.APIServer, the node serves its API at
// /api/NAME and forwards every request there to it. Run by hand (not by a
// node), the binary prints that it is a plugin and exits with status 1.
func Serve(c community.Community) {
	s := &server{c: c}
	if a, ok := c.(community.APIServer); ok {
		s.api = a.API() // once, as a node does
	}
	go s.watchParent(os.Getppid(), time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake(),
		Plugins: plugin.PluginSet{wire.PluginName: &wire.Plugin{
			Register: func(b *plugin.GRPCBroker, gs *grpc.Server) {
				s.broker = b
				pluginv1.RegisterCommunityServer(gs, s)
			},
		}},
		GRPCServer: plugin.DefaultGRPCServer,
		// JSON on stderr: the node's go-plugin client reads it back as
		// structured log lines.
		Logger: hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Warn, JSONFormat: true}),
	})
	s.close()
}

// server is the plugin's end of the Community service.
type server struct {
	pluginv1.UnimplementedCommunityServer
	c      community.Community
	api    http.Handler // the community's API, nil if it serves none
	broker *plugin.GRPCBroker
	log    atomic.Pointer[slog.Logger] // the Env's, once started

	// mu serializes Start, Handle and Close: a community's handlers run
	// one at a time, as they do in-process.
	mu      sync.Mutex
	specs   map[community.Type]community.MessageSpec
	cancel  context.CancelFunc
	conn    *grpc.ClientConn
	started bool
	closed  bool
}

// Describe implements pluginv1.CommunityServer.
func (s *server) Describe(context.Context, *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	resp := &pluginv1.DescribeResponse{Name: s.c.Name(), Http: s.api != nil}
	if ph, ok := s.c.(community.PolicyHolder); ok {
		resp.Authenticated = ph.Policy().Authenticated
	}
	for _, m := range s.c.Messages() {
		resp.Messages = append(resp.Messages, &pluginv1.MessageSpec{Type: uint32(m.Type), Name: m.Name, MaxSize: uint32(max(m.MaxSize, 0))})
	}
	return resp, nil
}

// Start implements pluginv1.CommunityServer: it dials the node's Host
// service and starts the community with an Env backed by it.
func (s *server) Start(_ context.Context, req *pluginv1.StartRequest) (*pluginv1.StartResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return &pluginv1.StartResponse{Error: "started twice"}, nil
	}
	conn, err := s.broker.Dial(req.GetHostBrokerId())
	if err != nil {
		return &pluginv1.StartResponse{Error: fmt.Sprintf("dialing the node: %v", err)}, nil
	}
	s.specs = make(map[community.Type]community.MessageSpec)
	for _, m := range s.c.Messages() {
		s.specs[m.Type] = m
	}
	env := newEnv(pluginv1.NewHostClient(conn))
	// The community's context lives until Close, not until this call ends.
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.c.Start(ctx, env); err != nil {
		cancel()
		conn.Close()
		return &pluginv1.StartResponse{Error: err.Error()}, nil
	}
	s.started, s.cancel, s.conn = true, cancel, conn
	s.log.Store(env.Logger())
	return &pluginv1.StartResponse{}, nil
}

// Handle implements pluginv1.CommunityServer.
func (s *server) Handle(ctx context.Context, req *pluginv1.HandleRequest) (*pluginv1.HandleResponse, error) {
	from, err := wire.FromPeer(req.GetFrom())
	if err != nil {
		return nil, err
	}
	t, err := wire.Type(req.GetType())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	spec, ok := s.specs[t]
	switch {
	case !s.started || s.closed:
		return &pluginv1.HandleResponse{Error: "community not running"}, nil
	case !ok:
		return &pluginv1.HandleResponse{Error: fmt.Sprintf("unregistered message type %d", t)}, nil
	case len(req.GetBody()) > spec.MaxSize:
		return &pluginv1.HandleResponse{Error: "message larger than its MaxSize"}, nil
	}
	if err := spec.Handle(ctx, from, req.GetBody()); err != nil {
		return &pluginv1.HandleResponse{Error: err.Error()}, nil
	}
	return &pluginv1.HandleResponse{}, nil
}

// Close implements pluginv1.CommunityServer.
func (s *server) Close(context.Context, *pluginv1.CloseRequest) (*pluginv1.CloseResponse, error) {
	if err := s.close(); err != nil {
		return &pluginv1.CloseResponse{Error: err.Error()}, nil
	}
	return &pluginv1.CloseResponse{}, nil
}

// close closes the community once, if it was started.
func (s *server) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if !s.started {
		return nil
	}
	s.cancel()
	err := s.c.Close()
	s.conn.Close()
	return err
}

// watchParent exits the process once the node that started it is gone.
// go-plugin stops a plugin when the node closes it, but a node killed with
// SIGKILL (or by Android) closes nothing, and the orphan would run on: the
// kernel gives it a new parent, which is how we notice.
func (s *server) watchParent(ppid int, every time.Duration) {
	for {
		time.Sleep(every)
		if os.Getppid() != ppid {
			s.close()
			os.Exit(0)
		}
	}
}

// errNoNode is what the Env returns when the node does not answer.
var errNoNode = errors.New("walkie plugin: the node did not answer")
