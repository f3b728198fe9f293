package community

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNothingAboveProto keeps the one-way rule (cmd -> plugins, core
// -> community -> proto) from rotting: no package under community, nor its
// tests, may import a walkie package other than community's and proto's.
// Test support that needs a running node belongs under core (core/coretest).
func TestImportsNothingAboveProto(t *testing.T) {
	const module = "github.com/walkie-p2p/walkie/"
	// go test puts the go command it runs under first on PATH.
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the imports: %v", err)
	}
	// -test adds the tests' imports; "./..." is community and below, as the
	// test runs in the package's directory.
	cmd := exec.Command(goCmd, "list", "-deps", "-test", "-f", "{{.ImportPath}}", "./...")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	seen := false
	for line := range strings.Lines(string(out)) {
		// A test variant reads "pkg [pkg.test]", a test binary "pkg.test".
		path, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		path = strings.TrimSuffix(path, ".test")
		rest, ok := strings.CutPrefix(path, module)
		if !ok {
			continue // the standard library or a third-party module
		}
		top, _, _ := strings.Cut(rest, "/")
		switch top {
		case "community":
			seen = true
		case "community_test": // community's external tests (examples)
		case "proto":
		default:
			t.Errorf("community's packages or tests import %s: only community and proto are allowed", path)
		}
	}
	if !seen {
		t.Fatalf("go list did not list the community package itself; output:\n%s", out)
	}
}
