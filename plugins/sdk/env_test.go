package sdk

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"google.golang.org/grpc"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/proto"
	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

// fakeHost answers the Env's calls as a node would.
type fakeHost struct {
	logs []*pluginv1.LogRequest
	send pluginv1.SendError
	down bool
}

func (h *fakeHost) err() error {
	if h.down {
		return errors.New("unavailable")
	}
	return nil
}

func (h *fakeHost) Send(context.Context, *pluginv1.SendRequest, ...grpc.CallOption) (*pluginv1.SendResponse, error) {
	return &pluginv1.SendResponse{Error: h.send}, h.err()
}
func (h *fakeHost) Members(context.Context, *pluginv1.MembersRequest, ...grpc.CallOption) (*pluginv1.MembersResponse, error) {
	return &pluginv1.MembersResponse{Members: []*pluginv1.Peer{{Id: make([]byte, 16), Addr: "192.0.2.1:1873"}, {Id: []byte{1}}}}, h.err()
}
func (h *fakeHost) Self(context.Context, *pluginv1.SelfRequest, ...grpc.CallOption) (*pluginv1.SelfResponse, error) {
	return &pluginv1.SelfResponse{Id: func() []byte { id := proto.ID{15: 9}; return id[:] }()}, h.err()
}
func (h *fakeHost) WAN(context.Context, *pluginv1.WANRequest, ...grpc.CallOption) (*pluginv1.WANResponse, error) {
	return &pluginv1.WANResponse{Addr: "198.51.100.1:1873"}, h.err()
}
func (h *fakeHost) Sign(_ context.Context, r *pluginv1.SignRequest, _ ...grpc.CallOption) (*pluginv1.SignResponse, error) {
	return &pluginv1.SignResponse{Signature: make([]byte, 64)}, h.err()
}
func (h *fakeHost) Log(_ context.Context, r *pluginv1.LogRequest, _ ...grpc.CallOption) (*pluginv1.LogResponse, error) {
	h.logs = append(h.logs, r)
	return &pluginv1.LogResponse{}, h.err()
}

func TestEnv(t *testing.T) {
	h := &fakeHost{}
	e := newEnv(h)
	if got := e.Members(); len(got) != 1 || got[0].Addr.String() != "192.0.2.1:1873" {
		t.Errorf("Members %+v: want the one with a valid ID", got)
	}
	if e.Self() != (proto.ID{15: 9}) || e.WAN().String() != "198.51.100.1:1873" {
		t.Errorf("Self %v, WAN %v", e.Self(), e.WAN())
	}
	for code, want := range map[pluginv1.SendError]error{
		pluginv1.SendError_SEND_ERROR_NONE:         nil,
		pluginv1.SendError_SEND_ERROR_UNKNOWN_PEER: community.ErrUnknownPeer,
		pluginv1.SendError_SEND_ERROR_TOO_LARGE:    community.ErrTooLarge,
		pluginv1.SendError_SEND_ERROR_CLOSED:       community.ErrClosed,
		pluginv1.SendError_SEND_ERROR_BUSY:         community.ErrBusy,
	} {
		h.send = code
		if err := e.Send(proto.ID{}, 1, nil); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("%v: Send = %v, want %v", code, err, want)
		}
	}
	e.Logger().With("a", 1).WithGroup("g").Warn("hello", "b", "x", slog.Group("h", "c", true))
	if len(h.logs) != 1 {
		t.Fatalf("%d log calls", len(h.logs))
	}
	l := h.logs[0]
	if l.Level != int32(slog.LevelWarn) || l.Message != "hello" || !slices.Equal(l.Attrs, []string{"a", "1", "g.b", "x", "g.h.c", "true"}) {
		t.Errorf("log %v", l)
	}
	h.down = true
	if err := e.Send(proto.ID{}, 1, nil); !errors.Is(err, errNoNode) {
		t.Errorf("Send to a node that is gone: %v", err)
	}
	if e.Members() != nil || !e.Self().IsZero() || e.WAN().IsValid() {
		t.Error("a node that is gone still answers")
	}
}
