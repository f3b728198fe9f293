package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTokenFile: the token is made once, 32 hex digits in a file of mode
// 0600, and reused; a file an operator wrote is taken as it is.
func TestTokenFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // made by the first call
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	token, path, err := loadOrCreateToken(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, httpTokenFile) || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(token) {
		t.Errorf("token %q in %s", token, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	if again, _, err := loadOrCreateToken(dir, log); err != nil || again != token {
		t.Errorf("second load: %q, %v; want %q", again, err, token)
	}
	if other, _, _ := loadOrCreateToken(t.TempDir(), log); other == token {
		t.Errorf("another data directory got the same token")
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 {
		t.Errorf("files in the data directory: %v, want only %s", left, httpTokenFile)
	}

	mine := "An-operators-token_of.at~least-32-characters"
	if err := os.WriteFile(path, []byte(mine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _, err := loadOrCreateToken(dir, log); err != nil || got != mine {
		t.Errorf("an operator's token: %q, %v", got, err)
	}
	if !strings.Contains(logs.String(), "chmod 600") {
		t.Errorf("a token file that others may read is not logged: %q", logs.String())
	}
	if strings.Contains(logs.String(), mine) {
		t.Errorf("the log shows the token: %q", logs.String())
	}
}

// TestTokenFileBad: a file that holds no token, or cannot be read, is an
// error that names it, never a silent new token.
func TestTokenFileBad(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for name, content := range map[string]string{
		"empty": "", "short": "abc123\n", "spaces": strings.Repeat("ab cd ", 8), "binary": "\x00\xff" + strings.Repeat("a", 40),
		"too long": strings.Repeat("a", tokenMaxLen+1),
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, httpTokenFile)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := loadOrCreateToken(dir, log)
		if err == nil || !strings.Contains(err.Error(), path+" holds no token") || !strings.Contains(err.Error(), "remove the file") {
			t.Errorf("%s: %v", name, err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("%s: the file was changed to %q", name, b)
		}
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, httpTokenFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateToken(dir, log); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, httpTokenFile)) {
		t.Errorf("unreadable: %v", err)
	}
}

// beyondLoopback are the flags of a quiet node whose HTTP server listens
// on every address, which makes it ask for the token.
func beyondLoopback(dir string, extra ...string) []string {
	return quietArgs(dir, append([]string{"-http", "0.0.0.0:0"}, extra...)...)
}

// TestRunBeyondLoopback: a node whose -http is not loopback warns, makes
// its token file, and asks for the token under /api/ and on /status,
// /metrics and /history; with it, they answer. The page needs none.
func TestRunBeyondLoopback(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, beyondLoopback(dir, "-communities", "chat"), io.Discard, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var warn, start string
	for sc.Scan() {
		if strings.Contains(sc.Text(), "listens beyond loopback") {
			warn = sc.Text()
		}
		if strings.Contains(sc.Text(), `msg="walkie started"`) {
			start = sc.Text()
			break
		}
	}
	if start == "" {
		t.Fatalf("no start line; run returned %d", <-done)
	}
	go io.Copy(io.Discard, pr)
	tokenFile := filepath.Join(dir, httpTokenFile)
	if !strings.Contains(warn, "level=WARN") || logField(warn, "token_file") != tokenFile {
		t.Errorf("warning %q, want one naming token_file=%s", warn, tokenFile)
	}
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if strings.Contains(warn, token) {
		t.Errorf("the log shows the token: %q", warn)
	}
	_, port, _ := net.SplitHostPort(logField(start, "http"))
	base := "http://127.0.0.1:" + port
	for path, want := range map[string]int{"/status": 401, "/metrics": 401, "/history": 401, "/api/chat": 401, "/": 200, "/page/app.js": 200} {
		for _, auth := range []string{"", "Bearer " + token} {
			req, _ := http.NewRequest("GET", base+path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
				want = 200
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s (Authorization %q): %d, want %d", path, auth, resp.StatusCode, want)
			}
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("run = %d", code)
	}
	runCancelled(t, beyondLoopback(dir))
	if again, _ := os.ReadFile(tokenFile); string(again) != string(b) {
		t.Errorf("the token changed on restart: %q, then %q", b, again)
	}
}

// TestRunCorruptToken: a damaged token file stops the node with one line
// naming it; on loopback the node needs no token and starts.
func TestRunCorruptToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, httpTokenFile)
	if err := os.WriteFile(path, []byte("half a tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr safeBuffer
	if code := run(context.Background(), beyondLoopback(dir), io.Discard, &stderr); code != exitError {
		t.Errorf("exit code %d, want %d", code, exitError)
	}
	checkOneLine(t, stderr.String(), path+" holds no token")
	runCancelled(t, quietArgs(dir))
}
