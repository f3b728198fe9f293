// Package host runs an out-of-process community plugin (a binary built with
// plugins/sdk.Serve) and adapts it into a community.Community that a node
// serves like any other.
//
// A plugin never takes the node down:
//
//   - every call into it is bounded by Config.CallTimeout; a plugin that
//     does not answer a message in time is taken for hung and killed;
//   - while it is down (crashed, killed, hung, restarting) its messages are
//     dropped and counted (Dropped), and the handler's error tells the node
//     why; the first drop of each outage is logged;
//   - it is restarted with backoff, Config.MinBackoff doubling up to
//     Config.MaxBackoff, and the log says why it went down: the exit status
//     and the tail of its stderr (a panic, say).
//
// A binary that fails the go-plugin handshake (not a walkie plugin, another
// architecture, a crash at start) makes Load fail with an error that says
// so.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/walkie-p2p/walkie/community"
	"github.com/walkie-p2p/walkie/plugins/httpjson"
	"github.com/walkie-p2p/walkie/plugins/internal/wire"
	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

// Config configures a plugin.
type Config struct {
	Path string   // the plugin binary; required
	Args []string // its arguments
	// SocketDir is the directory in which go-plugin makes a private
	// directory for the Unix sockets between node and plugin. It must
	// exist and be writable. Default: os.TempDir(). Android has no
	// writable temporary directory: point it into the app's data.
	SocketDir string
	// DataDir is a directory the plugin may keep files in (a game's
	// scores, say), created (0700) if missing and given to the plugin in
	// the environment variable pluginv1.DataDirEnv. Default none: the
	// variable is not set.
	DataDir      string
	StartTimeout time.Duration // for the handshake; default 10 s
	CallTimeout  time.Duration // for each call into the plugin; default 5 s
	// HTTPTimeout bounds an HTTP request to the plugin's API: the whole
	// answer, or the head of a stream, must come within it, else the
	// node answers 504. Default DefaultHTTPTimeout (5 s).
	HTTPTimeout time.Duration
	MinBackoff  time.Duration // first restart delay; default 1 s
	MaxBackoff  time.Duration // longest restart delay; default 30 s
	Logger      *slog.Logger  // default slog.Default()
}

// ErrDown is the handler error for a message that arrives while the plugin
// is not running.
var ErrDown = errors.New("walkie plugin: down, message dropped")

// Plugin is a plugin binary as a community.Community. Create it with Load.
type Plugin struct {
	cfg      Config
	log      *slog.Logger
	hlog     hclog.Logger
	name     string
	authOnly bool // its Policy: only authenticated members
	api      bool // it serves an HTTP API
	specs    []*pluginv1.MessageSpec
	streams  *httpjson.Streams // the API's cap on streams outside a node (tests)

	dropped  atomic.Int64
	restarts atomic.Int64

	mu      sync.Mutex
	proc    *process // the latest process, serving or not
	serving bool     // proc is up and the community started in it
	env     community.Env
	warned  bool // the current outage's first drop was logged
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{} // closed when the supervisor ends
}

// Load starts the plugin binary, checks the handshake and learns the
// community's name and message types. The plugin runs from now on; Close
// stops it.
func Load(cfg Config) (*Plugin, error) {
	if cfg.Path == "" {
		return nil, errors.New("walkie plugin: no path")
	}
	if _, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", cfg.Path, err)
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&cfg.StartTimeout, 10*time.Second)
	setDur(&cfg.CallTimeout, 5*time.Second)
	setDur(&cfg.HTTPTimeout, DefaultHTTPTimeout)
	setDur(&cfg.MinBackoff, time.Second)
	setDur(&cfg.MaxBackoff, 30*time.Second)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SocketDir == "" {
		cfg.SocketDir = os.TempDir()
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("plugin %s: its data directory: %w", cfg.Path, err)
		}
	}
	p := &Plugin{cfg: cfg, log: cfg.Logger.With("plugin", cfg.Path), streams: httpjson.NewStreams(0, 0)}
	// go-plugin's own chatter (and plugin stderr lines) at debug level:
	// what matters, this package logs itself.
	p.hlog = hclog.FromStandardLogger(slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		&hclog.LoggerOptions{Name: "go-plugin", Level: hclog.Info})
	pr, err := p.launch()
	if err != nil {
		return nil, err
	}
	p.name, p.authOnly, p.api = pr.desc.GetName(), pr.desc.GetAuthenticated(), pr.desc.GetHttp()
	if !community.ValidName(p.name) {
		pr.kill()
		return nil, fmt.Errorf("plugin %s: community name %q must be 1 to 32 of a-z, 0-9 and -", cfg.Path, p.name)
	}
	for _, m := range pr.desc.GetMessages() {
		if _, err := wire.Type(m.GetType()); err != nil {
			pr.kill()
			return nil, fmt.Errorf("plugin %s: %w", cfg.Path, err)
		}
		p.specs = append(p.specs, m)
	}
	p.proc, p.serving = pr, true
	p.log = p.log.With("community", p.name)
	p.log.Info("plugin loaded", "pid", pr.pid(), "messages", len(p.specs), "http", p.api)
	return p, nil
}

// Name implements community.Community.
func (p *Plugin) Name() string { return p.name }

// Policy implements community.PolicyHolder: what the plugin described.
func (p *Plugin) Policy() community.Policy { return community.Policy{Authenticated: p.authOnly} }

// Messages implements community.Community: the plugin's types, each
// handled by a call into the plugin.
func (p *Plugin) Messages() []community.MessageSpec {
	out := make([]community.MessageSpec, 0, len(p.specs))
	for _, m := range p.specs {
		t := community.Type(m.GetType())
		out = append(out, community.MessageSpec{Type: t, Name: m.GetName(), MaxSize: int(m.GetMaxSize()),
			Handle: func(ctx context.Context, from community.Peer, body []byte) error {
				return p.handle(ctx, from, t, body)
			}})
	}
	return out
}

// Start implements community.Community: it starts the community in the
// plugin, then watches the process and restarts it when it dies.
func (p *Plugin) Start(ctx context.Context, env community.Env) error {
	p.mu.Lock()
	if p.closed || p.env != nil {
		p.mu.Unlock()
		return errors.New("walkie plugin: started twice or closed")
	}
	p.env = env
	pr := p.proc
	p.mu.Unlock()
	if err := p.startIn(pr); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	p.mu.Lock()
	p.cancel, p.done = cancel, make(chan struct{})
	p.mu.Unlock()
	go p.supervise(ctx, pr)
	return nil
}

// handle delivers one message to the plugin.
func (p *Plugin) handle(ctx context.Context, from community.Peer, t community.Type, body []byte) error {
	p.mu.Lock()
	pr := p.proc
	if !p.serving {
		warn := !p.warned
		p.warned = true
		p.mu.Unlock()
		p.dropped.Add(1)
		if warn {
			p.log.Warn("plugin is down: dropping its messages until it is back")
		}
		return ErrDown
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	defer cancel()
	resp, err := pr.conn.Community.Handle(ctx, &pluginv1.HandleRequest{From: wire.ToPeer(from), Type: uint32(t), Body: body})
	if err != nil {
		p.dropped.Add(1)
		if errors.Is(ctx.Err(), context.Canceled) {
			return err // the node is closing, not the plugin failing
		}
		// A plugin that fails a call is hung or dying: killing it is what
		// gets it back, since the supervisor restarts it once it exits.
		// The plugin's end may see the deadline (gRPC sends it along)
		// and cancel the call a moment before ours fires.
		if ctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded {
			p.log.Error("plugin did not answer a message in time: killing it", "timeout", p.cfg.CallTimeout, "pid", pr.pid())
		} else {
			p.log.Error("plugin failed a call: killing it", "err", err, "pid", pr.pid())
		}
		p.down(pr)
		go pr.run.Kill(context.Background())
		return fmt.Errorf("walkie plugin: %w", err)
	}
	if e := resp.GetError(); e != "" {
		return errors.New(e)
	}
	return nil
}

// down marks pr as no longer serving, if it is the current process.
func (p *Plugin) down(pr *process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == pr {
		p.serving, p.warned = false, false
	}
}

// supervise waits for the process to exit and restarts it with backoff,
// until Close.
func (p *Plugin) supervise(ctx context.Context, pr *process) {
	defer close(p.done)
	backoff := p.cfg.MinBackoff
	for {
		select {
		case <-ctx.Done():
			return
		case <-pr.exited():
		}
		p.down(pr)
		p.log.Warn("plugin exited", "pid", pr.pid(), "status", exitStatus(pr.run.err),
			"up", time.Since(pr.up).Round(time.Millisecond), "stderr", pr.stderr.String(), "restart_in", backoff)
		pr.release()
		// A plugin that ran a while before dying starts over at the
		// shortest delay; one that dies at once backs off further.
		if time.Since(pr.up) > p.cfg.MaxBackoff {
			backoff = p.cfg.MinBackoff
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, p.cfg.MaxBackoff)
			next, err := p.relaunch()
			if err == nil {
				pr = next
				break
			}
			p.log.Warn("plugin restart failed", "err", err, "retry_in", backoff)
		}
	}
}

// relaunch starts a new process and the community in it, and makes it the
// current one. A binary that changed its name or messages is refused: the
// node announced and registered the old ones.
func (p *Plugin) relaunch() (*process, error) {
	pr, err := p.launch()
	if err != nil {
		return nil, err
	}
	if err := p.sameAs(pr.desc); err != nil {
		pr.kill()
		return nil, err
	}
	if err := p.startIn(pr); err != nil {
		pr.kill()
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		pr.kill()
		return nil, ErrDown
	}
	p.proc, p.serving = pr, true
	p.mu.Unlock()
	n := p.restarts.Add(1)
	p.log.Info("plugin restarted", "pid", pr.pid(), "restarts", n, "dropped_total", p.dropped.Load())
	return pr, nil
}

// sameAs checks that a restarted binary describes the same community.
func (p *Plugin) sameAs(d *pluginv1.DescribeResponse) error {
	same := d.GetName() == p.name && d.GetAuthenticated() == p.authOnly && d.GetHttp() == p.api && len(d.GetMessages()) == len(p.specs)
	for i := 0; same && i < len(p.specs); i++ {
		a, b := d.GetMessages()[i], p.specs[i]
		same = a.GetType() == b.GetType() && a.GetMaxSize() == b.GetMaxSize() && a.GetName() == b.GetName()
	}
	if !same {
		return errors.New("the restarted binary describes another community; restart the node to load it")
	}
	return nil
}

// Close implements community.Community: it closes the community in the
// plugin (bounded by CallTimeout) and stops the process.
func (p *Plugin) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	// The supervisor has stopped: p.proc is final (relaunch checks closed).
	p.mu.Lock()
	pr, serving := p.proc, p.serving
	p.serving = false
	p.mu.Unlock()
	var err error
	if serving {
		ctx, ccancel := context.WithTimeout(context.Background(), p.cfg.CallTimeout)
		resp, cerr := pr.conn.Community.Close(ctx, &pluginv1.CloseRequest{})
		ccancel()
		if cerr == nil && resp.GetError() != "" {
			err = fmt.Errorf("plugin %s: close: %s", p.cfg.Path, resp.GetError())
		}
	}
	// Graceful first (go-plugin asks the plugin to exit, then kills it
	// after two seconds); the process is gone when this returns.
	pr.release()
	return err
}

// Path returns the plugin binary's path.
func (p *Plugin) Path() string { return p.cfg.Path }

// Dropped returns how many messages were dropped because the plugin was
// down, hung or failed to answer.
func (p *Plugin) Dropped() int64 { return p.dropped.Load() }

// Restarts returns how many times the plugin was restarted.
func (p *Plugin) Restarts() int64 { return p.restarts.Load() }

// PID returns the plugin's process ID, or 0 while it is down.
func (p *Plugin) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.serving {
		return 0
	}
	return p.proc.pid()
}
