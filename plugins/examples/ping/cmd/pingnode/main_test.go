package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// logBuffer is a node's log, written by its goroutines, read by the test.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// find returns the first submatch of re in the log, or "".
func (l *logBuffer) find(re *regexp.Regexp) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if m := re.FindSubmatch(l.b.Bytes()); m != nil {
		return string(m[1])
	}
	return ""
}

// wait waits for re in the log, for at most d.
func (l *logBuffer) wait(t *testing.T, re *regexp.Regexp, d time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if s := l.find(re); s != "" {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %v in the log:\n%s", re, l.b.String())
		}
	}
}

// start runs a node as main does, until the test ends.
func start(t *testing.T, args ...string) *logBuffer {
	logs := &logBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, slog.New(slog.NewTextHandler(logs, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return logs
}

// Two nodes as the tutorial runs them, on loopback over real UDP: the
// second finds the first through -bootstrap, and each gets pongs from the
// other.
func TestTwoNodes(t *testing.T) {
	dir := t.TempDir()
	a := start(t, "-listen", "127.0.0.1:0", "-data", filepath.Join(dir, "a"), "-every", "100ms")
	addr := a.wait(t, regexp.MustCompile(`pingnode started.* listen=(127\.0\.0\.1:\d+)`), 5*time.Second)
	b := start(t, "-listen", "127.0.0.1:0", "-data", filepath.Join(dir, "b"), "-every", "100ms", "-bootstrap", addr)
	pong := regexp.MustCompile(`msg=ping sent=1 pongs=map\[([0-9a-f-]{36}):[1-9]`)
	b.wait(t, pong, 20*time.Second)
	a.wait(t, pong, 20*time.Second)
}
