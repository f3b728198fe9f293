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

func TestIDFromNameIsStable(t *testing.T) {
	// Every node must derive the same ID from the same name, across versions.
	if got := IDFromName("chat").String(); got != IDFromName("chat").String() || got == IDFromName("game").String() {
		t.Fatalf("IDs not stable or not distinct: %s", got)
	}
}
