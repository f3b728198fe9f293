package sdk

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/netip"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/internal/wire"
	"github.com/walkie-p2p/walkie/proto"
	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

// env is the community.Env of a plugin: every method is a call into the
// node's Host service.
type env struct {
	host pluginv1.HostClient
	log  *slog.Logger
}

// newEnv returns the Env of a plugin. Its logger adds no community tag:
// the node tags what it logs for the plugin.
func newEnv(host pluginv1.HostClient) *env {
	return &env{host: host, log: slog.New(&logHandler{host: host})}
}

// call returns a context bounded by CallTimeout.
func call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), CallTimeout)
}

// Send implements community.Env.
func (e *env) Send(to proto.ID, typ community.Type, body []byte) error {
	ctx, cancel := call()
	defer cancel()
	resp, err := e.host.Send(ctx, &pluginv1.SendRequest{To: to[:], Type: uint32(typ), Body: body})
	if err != nil {
		return errNoNode
	}
	return wire.ErrorOfSend(resp.GetError(), resp.GetMessage())
}

// Members implements community.Env. It returns nil if the node does not
// answer.
func (e *env) Members() []community.Peer {
	ctx, cancel := call()
	defer cancel()
	resp, err := e.host.Members(ctx, &pluginv1.MembersRequest{})
	if err != nil {
		return nil
	}
	out := make([]community.Peer, 0, len(resp.GetMembers()))
	for _, m := range resp.GetMembers() {
		if p, err := wire.FromPeer(m); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Self implements community.Env. It returns the zero ID if the node does
// not answer.
func (e *env) Self() proto.ID {
	ctx, cancel := call()
	defer cancel()
	resp, err := e.host.Self(ctx, &pluginv1.SelfRequest{})
	if err != nil {
		return proto.ID{}
	}
	id, _ := wire.ID(resp.GetId())
	return id
}

// WAN implements community.Env.
func (e *env) WAN() netip.AddrPort {
	ctx, cancel := call()
	defer cancel()
	resp, err := e.host.WAN(ctx, &pluginv1.WANRequest{})
	if err != nil {
		return netip.AddrPort{}
	}
	a, _ := netip.ParseAddrPort(resp.GetAddr())
	return a
}

// Logger implements community.Env.
func (e *env) Logger() *slog.Logger { return e.log }

// Key implements community.Env. It returns nil if the node does not answer
// or has no key.
func (e *env) Key() ed25519.PublicKey {
	ctx, cancel := call()
	defer cancel()
	resp, err := e.host.Self(ctx, &pluginv1.SelfRequest{})
	if err != nil || len(resp.GetKey()) != ed25519.PublicKeySize {
		return nil
	}
	return ed25519.PublicKey(resp.GetKey())
}

// Sign implements community.Env: the node signs with its key. It returns
// nil if the node does not answer or has no key.
func (e *env) Sign(msg []byte) []byte {
	ctx, cancel := call()
	defer cancel()
	resp, err := e.host.Sign(ctx, &pluginv1.SignRequest{Message: msg})
	if err != nil || len(resp.GetSignature()) != ed25519.SignatureSize {
		return nil
	}
	return resp.GetSignature()
}

// logHandler sends log records to the node, which logs them with its own
// handler and level.
type logHandler struct {
	host   pluginv1.HostClient
	attrs  []string // key, value, ...; keys carry the group prefix
	prefix string   // the open groups, "a.b."
}

// Enabled implements slog.Handler: the node filters by its own level.
func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := append([]string(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = h.flatten(attrs, h.prefix, a)
		return true
	})
	ctx, cancel := call()
	defer cancel()
	_, err := h.host.Log(ctx, &pluginv1.LogRequest{Level: int32(r.Level), Message: r.Message, Attrs: attrs})
	return err
}

// flatten appends a as key/value strings, groups as dotted keys.
func (h *logHandler) flatten(out []string, prefix string, a slog.Attr) []string {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			out = h.flatten(out, p, g)
		}
		return out
	}
	return append(out, prefix+a.Key, v.String())
}

// WithAttrs implements slog.Handler.
func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append([]string(nil), h.attrs...)
	for _, a := range as {
		h2.attrs = h.flatten(h2.attrs, h.prefix, a)
	}
	return &h2
}

// WithGroup implements slog.Handler.
func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix += name + "."
	return &h2
}
