package community

import "testing"

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"chat": true, "game-2": true, "0": true, "abcdefghijabcdefghijabcdefghijab": true,
		"": false, "-chat": false, "Chat": false, "chat room": false, "walkie/core": false,
		"abcdefghijabcdefghijabcdefghijabc": false, "é": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

// Every node must derive the same ID from the same name, across versions:
// these values are on the wire.
func TestIDFromNameGolden(t *testing.T) {
	for name, want := range map[string]string{
		"chat": "c0d54b47-323f-51e3-b429-c8b6606985e8",
		"game": "5ea28125-5496-513a-913d-704757e54142",
	} {
		if got := IDFromName(name).String(); got != want {
			t.Errorf("IDFromName(%q) = %s, want %s", name, got, want)
		}
	}
}
