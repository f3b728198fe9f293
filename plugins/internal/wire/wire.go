// Package wire is what the two ends of an out-of-process plugin share: the
// go-plugin handshake, the go-plugin Plugin that carries the gRPC schema of
// proto/pluginv1, and conversions between that schema and package
// community. plugins/host (the node's end) and plugins/sdk (the plugin's
// end) use it; nothing else should.
package wire

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

// PluginName is the one plugin a walkie plugin binary serves.
const PluginName = "community"

// Handshake returns the go-plugin handshake, whose values live in
// pluginv1 where a plugin author in another language finds them.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  pluginv1.ProtocolVersion,
		MagicCookieKey:   pluginv1.MagicCookieKey,
		MagicCookieValue: pluginv1.MagicCookieValue,
	}
}

// Plugin is the go-plugin plugin of a community. Register, set on the
// plugin's end, registers the Community service; the host's end gets a
// *Conn from Dispense.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Register func(broker *plugin.GRPCBroker, s *grpc.Server)
}

// Conn is what the host's end dispenses: the Community client and the
// broker to serve the Host service on.
type Conn struct {
	Community pluginv1.CommunityClient
	Health    grpc_health_v1.HealthClient
	Broker    *plugin.GRPCBroker
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *Plugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Register == nil {
		return errors.New("walkie plugin: no community to serve")
	}
	p.Register(broker, s)
	return nil
}

// GRPCClient implements plugin.GRPCPlugin.
func (p *Plugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &Conn{Community: pluginv1.NewCommunityClient(c), Health: grpc_health_v1.NewHealthClient(c), Broker: broker}, nil
}

// ToPeer converts a community.Peer to the schema.
func ToPeer(p community.Peer) *pluginv1.Peer {
	pp := &pluginv1.Peer{Id: p.ID[:], Key: p.Key, Authenticated: p.Authenticated}
	if p.Addr.IsValid() {
		pp.Addr = p.Addr.String()
	}
	return pp
}

// FromPeer converts a schema peer; the ID must be 16 bytes.
func FromPeer(pp *pluginv1.Peer) (community.Peer, error) {
	var p community.Peer
	id, err := ID(pp.GetId())
	if err != nil {
		return p, err
	}
	p.ID = id
	if k := pp.GetKey(); len(k) > 0 {
		if len(k) != ed25519.PublicKeySize {
			return p, fmt.Errorf("walkie plugin: a peer key is %d bytes, not %d", ed25519.PublicKeySize, len(k))
		}
		p.Key = ed25519.PublicKey(k)
	}
	p.Authenticated = pp.GetAuthenticated()
	if a := pp.GetAddr(); a != "" {
		if p.Addr, err = netip.ParseAddrPort(a); err != nil {
			return p, fmt.Errorf("walkie plugin: bad peer address %q", a)
		}
	}
	return p, nil
}

// ID converts 16 bytes to a peer ID.
func ID(b []byte) (proto.ID, error) {
	var id proto.ID
	if len(b) != len(id) {
		return id, fmt.Errorf("walkie plugin: a peer ID is %d bytes, not %d", len(id), len(b))
	}
	copy(id[:], b)
	return id, nil
}

// Type converts a schema type to a message type.
func Type(t uint32) (community.Type, error) {
	if t > 255 {
		return 0, fmt.Errorf("walkie plugin: message type %d out of range", t)
	}
	return community.Type(t), nil
}

// SendErrorOf maps an error of community.Env.Send to the schema.
func SendErrorOf(err error) (pluginv1.SendError, string) {
	switch {
	case err == nil:
		return pluginv1.SendError_SEND_ERROR_NONE, ""
	case errors.Is(err, community.ErrUnknownPeer):
		return pluginv1.SendError_SEND_ERROR_UNKNOWN_PEER, ""
	case errors.Is(err, community.ErrTooLarge):
		return pluginv1.SendError_SEND_ERROR_TOO_LARGE, ""
	case errors.Is(err, community.ErrClosed):
		return pluginv1.SendError_SEND_ERROR_CLOSED, ""
	case errors.Is(err, community.ErrBusy):
		return pluginv1.SendError_SEND_ERROR_BUSY, ""
	}
	return pluginv1.SendError_SEND_ERROR_OTHER, err.Error()
}

// ErrorOfSend maps a schema send error back, so that errors.Is works on
// the plugin's end as it does in-process.
func ErrorOfSend(e pluginv1.SendError, msg string) error {
	switch e {
	case pluginv1.SendError_SEND_ERROR_NONE:
		return nil
	case pluginv1.SendError_SEND_ERROR_UNKNOWN_PEER:
		return community.ErrUnknownPeer
	case pluginv1.SendError_SEND_ERROR_TOO_LARGE:
		return community.ErrTooLarge
	case pluginv1.SendError_SEND_ERROR_CLOSED:
		return community.ErrClosed
	case pluginv1.SendError_SEND_ERROR_BUSY:
		return community.ErrBusy
	}
	return fmt.Errorf("walkie plugin: send: %s", msg)
}
