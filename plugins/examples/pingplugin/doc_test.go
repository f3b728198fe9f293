package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestTutorialMatchesCode keeps docs/writing-a-plugin.md honest: its first
// two Go blocks must be main.go and main_test.go, byte for byte.
func TestTutorialMatchesCode(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "writing-a-plugin.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(doc, -1)
	for i, file := range []string{"main.go", "main_test.go"} {
		code, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(blocks) {
			t.Fatalf("the tutorial has no Go block for %s", file)
		}
		if string(blocks[i][1]) != string(code) {
			t.Errorf("Go block %d of docs/writing-a-plugin.md differs from %s: copy the file into the page", i+1, file)
		}
	}
}
