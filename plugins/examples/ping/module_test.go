package ping_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOwnModule follows docs/writing-a-community.md, "Your own module", in
// a temporary directory: the page's files in a module of their own that
// depends on this repository through a replace directive, and go test
// there. Offline: the module cache has every dependency (CI's go mod
// download), and this repository's go.sum stands in for go mod tidy's.
func TestOwnModule(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "writing-a-community.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(doc, -1)
	mod := regexp.MustCompile("(?s)```go.mod\n(.*?)```").FindSubmatch(doc)
	if len(blocks) < 3 || mod == nil {
		t.Fatalf("the page has %d Go blocks and go.mod %v; want 3 and one", len(blocks), mod != nil)
	}
	const repoImport, ownImport = `"github.com/walkie-p2p/walkie/plugins/examples/ping"`, `"example.com/ping"`
	main := string(blocks[2][1])
	if !strings.Contains(main, repoImport) {
		t.Fatalf("the page's main does not import %s, which the page says to change", repoImport)
	}
	gomod := string(mod[1])
	const replace = "=> ../walkie\n"
	if !strings.Contains(gomod, replace) {
		t.Fatalf("the page's go.mod has no %q:\n%s", replace, gomod)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":               strings.Replace(gomod, replace, "=> "+root+"\n", 1),
		"go.sum":               string(sum),
		"ping.go":              string(blocks[0][1]),
		"ping_test.go":         string(blocks[1][1]),
		"cmd/pingnode/main.go": strings.Replace(main, repoImport, ownImport, 1),
	}
	for name, text := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^ok\s+example\.com/ping\s`).Match(out) {
		t.Fatalf("go test ./... in the module of the page: %v\n%s", err, out)
	}
}
