package chat

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/core"
	"github.com/walkie-p2p/walkie/core/coretest"
	"github.com/walkie-p2p/walkie/proto"
)

// oldChat is a chat node of version 1, scripted: it declares the types of
// version 1 only, keeps what reaches it and sends what the test says.
type oldChat struct {
	mu  sync.Mutex
	env community.Env
	got []community.Type
}

func (o *oldChat) Name() string { return DefaultName }

func (o *oldChat) Messages() []community.MessageSpec {
	keep := func(t community.Type) community.Handler {
		return func(context.Context, community.Peer, []byte) error {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.got = append(o.got, t)
			return nil
		}
	}
	return []community.MessageSpec{
		{Type: typeMessageV1, Name: "message", MaxSize: maxMessageBodyV1, Handle: keep(typeMessageV1)},
		{Type: typeSyncV1, Name: "sync", MaxSize: maxSyncBodyV1, Handle: keep(typeSyncV1)},
	}
}

func (o *oldChat) Start(_ context.Context, env community.Env) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.env = env
	return nil
}

func (o *oldChat) Close() error { return nil }

func (o *oldChat) received() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.got)
}

// syncV1 is a sync request as version 1 wrote it: [lo, hi, salt, bits].
var syncV1 = []byte{0x94, 0, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 7, 0xc4, 8, 0, 0, 0, 0, 0, 0, 0, 0}

// A node of this version and one of version 1 refuse each other, and each
// side counts it: the old node's core drops our pushes and sync requests
// as unknown types; we drop its message and its sync request by their
// version (Stats.Version1, the node's bad_body, a debug line naming the
// version), store nothing, and answer nothing. A body of our types but
// another version is refused by its number too.
func TestVersion1NodeRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		old := &oldChat{}
		var honest *Chat
		net := coretest.Start(t, coretest.Options{Nodes: 2, Latency: 10 * time.Millisecond, Config: debugTo(&logs)},
			func(i int) []community.Community {
				if i == 1 {
					return []community.Community{old}
				}
				c, err := New(Config{Dir: t.TempDir(), SyncInterval: time.Second})
				if err != nil {
					t.Fatal(err)
				}
				honest = c
				return []community.Community{c}
			})
		net.WaitMembers(DefaultName)
		a := net.Node(0).ID

		mustPost(t, honest, "hello, old node")
		time.Sleep(5 * time.Second) // a push and some sync requests
		if n := net.Node(1).Stats.Dropped(core.DropUnknownType); n < 2 {
			t.Errorf("the old node counted %d unknown types, want our push and sync requests", n)
		}

		v1 := unsigned(uuid.New(), 1, "hello from version 1")
		for typ, body := range map[community.Type][]byte{typeMessageV1: v1.encode(), typeSyncV1: syncV1} {
			if err := old.env.Send(a, typ, body); err != nil {
				t.Fatal(err)
			}
		}
		later := append([]byte{0x95, 0x03}, unhexT(t, goldenBody)[2:]...)
		if err := old.env.Send(a, typeMessage, later); err != nil {
			t.Fatal(err)
		}
		if _, err := net.WaitFor(time.Minute, func() error {
			if s := honest.Stats(); s.Version1 < 2 || s.OtherVersion < 1 {
				return errors.New("not all counted yet")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		s := honest.Stats()
		if s.Version1 != 2 || s.OtherVersion != 1 || s.Messages != 1 || s.Received != 0 || s.SyncsServed != 0 {
			t.Errorf("stats %+v: want 2 version 1 bodies and 1 of version 3 refused, nothing taken or answered", s)
		}
		if n := net.Node(0).Stats.Dropped(core.DropBadBody); n != 3 {
			t.Errorf("the node counted %d bad bodies, want the 3 of other versions", n)
		}
		for _, v := range []string{"version 1", "version 3"} {
			if !strings.Contains(logs.String(), "chat protocol "+v) {
				t.Errorf("no log line names %s:\n%s", v, logs.String())
			}
		}
		if n := old.received(); n != 0 {
			t.Errorf("the old node's chat received %d messages", n)
		}
		if h := honest.History(); len(h) != 1 || !h[0].Signed {
			t.Errorf("history %+v, want our one signed post", h)
		}
	})
}

// The handler of a version 1 type refuses whatever the body holds, and
// says which version it was.
func TestVersion1Handlers(t *testing.T) {
	c, err := New(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range c.Messages() {
		if s.Type != typeMessageV1 && s.Type != typeSyncV1 {
			continue
		}
		for _, body := range [][]byte{nil, syncV1, bytes.Repeat([]byte{0xc1}, 10)} {
			err := s.Handle(context.Background(), community.Peer{ID: proto.ID{1}}, body)
			var ve *VersionError
			if !errors.As(err, &ve) || ve.Version != 1 || ve.Type != s.Type {
				t.Errorf("type %d: %v, want a version 1 error", s.Type, err)
			}
		}
	}
	if s := c.Stats(); s.Version1 != 6 {
		t.Errorf("%d version 1 bodies counted, want 6", s.Version1)
	}
}
