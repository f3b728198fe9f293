package host

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/internal/wire"
	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

// Bounds on a plugin's log records: a plugin is a guest in the node's log.
// And on its calls: no message of the Host service needs more than a few
// KiB (a body is at most a datagram), nor a plugin many calls at once.
const (
	maxHostMessage = 64 << 10
	maxHostStreams = 64

	maxLogMessage = 1024
	maxLogAttrs   = 32 // strings: 16 key/value pairs
	maxLogValue   = 256
)

// hostServer is the node's end of the Host service: the community.Env the
// node lent, served to the plugin.
type hostServer struct {
	pluginv1.UnimplementedHostServer
	env community.Env
	log *slog.Logger
}

// newHostServer returns a server constructor for env: the broker's, and
// serveDirect's with no options.
func newHostServer(env community.Env, log *slog.Logger) func([]grpc.ServerOption) *grpc.Server {
	return func(opts []grpc.ServerOption) *grpc.Server {
		opts = append(opts, grpc.MaxRecvMsgSize(maxHostMessage), grpc.MaxConcurrentStreams(maxHostStreams))
		s := grpc.NewServer(opts...)
		pluginv1.RegisterHostServer(s, &hostServer{env: env, log: log})
		return s
	}
}

// Send implements pluginv1.HostServer.
func (h *hostServer) Send(_ context.Context, req *pluginv1.SendRequest) (*pluginv1.SendResponse, error) {
	to, err := wire.ID(req.GetTo())
	if err != nil {
		return nil, err
	}
	t, err := wire.Type(req.GetType())
	if err != nil {
		return nil, err
	}
	code, msg := wire.SendErrorOf(h.env.Send(to, t, req.GetBody()))
	return &pluginv1.SendResponse{Error: code, Message: msg}, nil
}

// Members implements pluginv1.HostServer.
func (h *hostServer) Members(context.Context, *pluginv1.MembersRequest) (*pluginv1.MembersResponse, error) {
	ms := h.env.Members()
	resp := &pluginv1.MembersResponse{Members: make([]*pluginv1.Peer, 0, len(ms))}
	for _, m := range ms {
		resp.Members = append(resp.Members, wire.ToPeer(m))
	}
	return resp, nil
}

// Self implements pluginv1.HostServer.
func (h *hostServer) Self(context.Context, *pluginv1.SelfRequest) (*pluginv1.SelfResponse, error) {
	id := h.env.Self()
	return &pluginv1.SelfResponse{Id: id[:], Key: h.env.Key()}, nil
}

// Sign implements pluginv1.HostServer.
func (h *hostServer) Sign(_ context.Context, req *pluginv1.SignRequest) (*pluginv1.SignResponse, error) {
	return &pluginv1.SignResponse{Signature: h.env.Sign(req.GetMessage())}, nil
}

// WAN implements pluginv1.HostServer.
func (h *hostServer) WAN(context.Context, *pluginv1.WANRequest) (*pluginv1.WANResponse, error) {
	resp := &pluginv1.WANResponse{}
	if a := h.env.WAN(); a.IsValid() {
		resp.Addr = a.String()
	}
	return resp, nil
}

// Log implements pluginv1.HostServer: the record goes to the node's log,
// tagged with the plugin, truncated to bounded sizes.
func (h *hostServer) Log(ctx context.Context, req *pluginv1.LogRequest) (*pluginv1.LogResponse, error) {
	level := slog.Level(req.GetLevel())
	if !h.log.Enabled(ctx, level) {
		return &pluginv1.LogResponse{}, nil
	}
	kv := req.GetAttrs()
	if len(kv) > maxLogAttrs {
		kv = kv[:maxLogAttrs]
	}
	args := make([]any, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		args = append(args, slog.String(truncate(kv[i], maxLogValue), truncate(kv[i+1], maxLogValue)))
	}
	h.log.Log(ctx, level, truncate(req.GetMessage(), maxLogMessage), args...)
	return &pluginv1.LogResponse{}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
