package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/walkie-p2p/walkie/plugins/internal/wire"
	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

// process is one run of the plugin binary.
type process struct {
	client *plugin.Client
	conn   *wire.Conn
	run    *procRunner
	stderr *tail
	desc   *pluginv1.DescribeResponse
	up     time.Time
	direct *direct      // the Host service at a plain address, once started
	broker *grpc.Server // the Host service on the go-plugin broker, if the plugin has one
}

// launch starts the binary, completes the go-plugin handshake and asks the
// community for its name and message types.
func (p *Plugin) launch() (*process, error) {
	pr := &process{stderr: &tail{max: 2048}}
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake(),
		Plugins:          plugin.PluginSet{wire.PluginName: &wire.Plugin{}},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		// go-plugin lets a plugin send messages of up to 2 GiB; an HTTP
		// answer is the largest thing the node takes from one.
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxPluginMessage))},
		StartTimeout:    p.cfg.StartTimeout,
		Stderr:          pr.stderr,
		Logger:          p.hlog,
		// go-plugin makes a private directory for its Unix sockets inside
		// TempDir, tells the plugin through PLUGIN_UNIX_SOCKET_DIR, and
		// listens there itself for the broker; without a RunnerFunc it
		// would use $TMPDIR on both ends, which Android does not have.
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: p.cfg.SocketDir},
		RunnerFunc: func(_ hclog.Logger, spec *exec.Cmd, _ string) (runner.Runner, error) {
			if p.cfg.DataDir != "" {
				spec.Env = append(spec.Env, pluginv1.DataDirEnv+"="+p.cfg.DataDir)
			}
			r, err := newRunner(p.cfg.Path, p.cfg.Args, spec)
			pr.run = r
			return r, err
		},
	}
	pr.client = plugin.NewClient(cfg)
	rpc, err := pr.client.Client()
	if err != nil {
		pr.client.Kill()
		return nil, p.handshakeError(err, pr.stderr.String())
	}
	raw, err := rpc.Dispense(wire.PluginName)
	if err != nil {
		pr.client.Kill()
		return nil, fmt.Errorf("plugin %s: %w", p.cfg.Path, err)
	}
	pr.conn = raw.(*wire.Conn)
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.CallTimeout)
	defer cancel()
	// The gRPC health service must say the plugin serves: the last step
	// of the handshake that a plugin in another language implements.
	health, err := pr.conn.Health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: pluginv1.HealthService})
	if err == nil && health.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		err = fmt.Errorf("status %v", health.GetStatus())
	}
	if err != nil {
		pr.client.Kill()
		return nil, p.handshakeError(fmt.Errorf("health check of service %q: %w", pluginv1.HealthService, err), pr.stderr.String())
	}
	if pr.desc, err = pr.conn.Community.Describe(ctx, &pluginv1.DescribeRequest{}); err != nil {
		pr.client.Kill()
		return nil, fmt.Errorf("plugin %s: describe: %w", p.cfg.Path, err)
	}
	pr.up = time.Now()
	return pr, nil
}

// startIn serves the Host service to process pr, over the go-plugin
// broker and at a plain address, and starts the community in it.
func (p *Plugin) startIn(pr *process) error {
	d, err := serveDirect(p.cfg.SocketDir, p.env, p.log)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", p.cfg.Path, err)
	}
	pr.direct = d // stopped with the process
	id := pr.conn.Broker.NextId()
	// Not the broker's AcceptAndServe, which logs to the standard logger
	// when the plugin does not speak the broker (one in another language
	// dials HostAddress instead).
	if ln, err := pr.conn.Broker.Accept(id); err != nil {
		p.log.Debug("the plugin has no go-plugin broker for the Host service", "err", err)
	} else {
		pr.broker = newHostServer(p.env, p.log)(nil)
		go pr.broker.Serve(ln)
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.CallTimeout)
	defer cancel()
	resp, err := pr.conn.Community.Start(ctx, &pluginv1.StartRequest{HostBrokerId: id, HostAddress: d.target})
	if err == nil && resp.GetError() != "" {
		err = errors.New(resp.GetError())
	}
	if err != nil {
		return fmt.Errorf("plugin %s: start: %w", p.cfg.Path, err)
	}
	return nil
}

// handshakeError says in one line why a binary is not a working plugin.
func (p *Plugin) handshakeError(err error, stderr string) error {
	msg := fmt.Sprintf("plugin %s: handshake failed (is it a walkie plugin built with plugins/sdk.Serve, or one that follows docs/writing-a-plugin.md, for this OS and CPU?): %v", p.cfg.Path, err)
	if stderr != "" {
		msg += "; its stderr: " + stderr
	}
	return errors.New(msg)
}

// pid returns the process ID, 0 if unknown.
func (pr *process) pid() int {
	n, _ := strconv.Atoi(pr.client.ID())
	return n
}

// exited is closed when the process has exited.
func (pr *process) exited() <-chan struct{} { return pr.run.done }

// kill stops the process at once (a hung plugin would not answer a
// graceful shutdown) and releases what it held.
func (pr *process) kill() {
	pr.run.Kill(context.Background())
	pr.release()
}

// release stops the process if it still runs (gracefully first) and
// releases go-plugin's goroutines and sockets and the Host service's.
func (pr *process) release() {
	pr.client.Kill()
	pr.direct.stop()
	if pr.broker != nil {
		pr.broker.Stop()
	}
}

// procRunner runs the plugin binary for go-plugin. It is ours rather than
// go-plugin's default so that the socket directory is configurable (see
// launch) and so that the exit is observable.
type procRunner struct {
	cmd            *exec.Cmd
	stdout, stderr io.ReadCloser
	done           chan struct{}
	once           sync.Once
	err            error // the exit status, once done is closed
}

func newRunner(path string, args []string, spec *exec.Cmd) (*procRunner, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = spec.Env // the handshake cookie, PLUGIN_UNIX_SOCKET_DIR, ...
	// Stdin stays nil (/dev/null): a plugin has no business with ours.
	r := &procRunner{cmd: cmd, done: make(chan struct{})}
	var err error
	if r.stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if r.stderr, err = cmd.StderrPipe(); err != nil {
		return nil, err
	}
	return r, nil
}

// Start implements runner.Runner.
func (r *procRunner) Start(context.Context) error {
	err := r.cmd.Start()
	if err != nil {
		// go-plugin will not Wait for a process that never started.
		r.once.Do(func() { r.err = err; close(r.done) })
	}
	return err
}

// Wait implements runner.Runner. go-plugin calls it once; the exit status
// is kept for the log.
func (r *procRunner) Wait(context.Context) error {
	r.once.Do(func() {
		r.err = r.cmd.Wait()
		close(r.done)
	})
	<-r.done
	return r.err
}

// Kill implements runner.Runner.
func (r *procRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// ID implements runner.Runner: the process ID.
func (r *procRunner) ID() string {
	if r.cmd.Process == nil {
		return ""
	}
	return strconv.Itoa(r.cmd.Process.Pid)
}

// Stdout implements runner.Runner.
func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }

// Stderr implements runner.Runner.
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }

// Name implements runner.Runner.
func (r *procRunner) Name() string { return r.cmd.Path }

// Diagnose implements runner.Runner.
func (r *procRunner) Diagnose(context.Context) string {
	return "a walkie plugin is a binary whose main calls plugins/sdk.Serve"
}

// PluginToHost implements runner.AddrTranslator: same machine, same
// addresses.
func (r *procRunner) PluginToHost(n, a string) (string, string, error) { return n, a, nil }

// HostToPlugin implements runner.AddrTranslator.
func (r *procRunner) HostToPlugin(n, a string) (string, string, error) { return n, a, nil }

// tail keeps the last max bytes written to it: a crashed plugin's panic,
// for the log line that says why it went down.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}

// exitStatus describes how a process ended.
func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
