package ping_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestTutorialsMatchCode keeps both tutorials honest: the first Go blocks of
// each page must be its example's files, byte for byte. One check for both
// pages: docs/writing-a-plugin.md serves this package's community out of
// process from plugins/examples/pingplugin.
func TestTutorialsMatchCode(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	for _, tc := range []struct {
		doc   string
		files []string
	}{
		{"writing-a-community.md", []string{"ping.go", "ping_test.go", filepath.Join("cmd", "pingnode", "main.go")}},
		{"writing-a-plugin.md", []string{
			filepath.Join(root, "plugins", "examples", "pingplugin", "main.go"),
			filepath.Join(root, "plugins", "examples", "pingplugin", "main_test.go"),
		}},
	} {
		doc, err := os.ReadFile(filepath.Join(root, "docs", tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(doc, -1)
		for i, file := range tc.files {
			code, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if i >= len(blocks) {
				t.Fatalf("docs/%s has no Go block for %s", tc.doc, file)
			}
			if string(blocks[i][1]) != string(code) {
				t.Errorf("Go block %d of docs/%s differs from %s: copy the file into the page", i+1, tc.doc, file)
			}
		}
	}
}
