package chat

import (
	"os"
	"strings"
	"testing"
	"unicode"
)

// docs/protocol.md shows the chat's golden vectors, byte for byte.
func TestDocsHaveGoldenVectors(t *testing.T) {
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	flat := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, string(doc))
	for name, hex := range map[string]string{
		"signed bytes":         goldenSigned,
		"signature":            goldenSig,
		"message":              goldenBody,
		"sync request":         "950205cf000001000000000007c4080102030405060708",
		"version 1 message":    goldenV1,
		"message ID":           goldenID,
		"author of the golden": goldenAuthor,
	} {
		if !strings.Contains(flat, hex) {
			t.Errorf("docs/protocol.md lacks the chat's %s %s", name, hex)
		}
	}
}
