package pluginv1_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walkie-p2p/walkie/proto/pluginv1"
)

// TestHandshakeStated: the handshake's constants are stated where a plugin
// author in another language reads them, with the values Go uses: the
// plugin page, the schema's head, and the Python example.
func TestHandshakeStated(t *testing.T) {
	root := filepath.Join("..", "..")
	line := fmt.Sprintf("%d|%d|unix|", pluginv1.CoreProtocolVersion, pluginv1.ProtocolVersion)
	for file, wants := range map[string][]string{
		"docs/writing-a-plugin.md": {
			pluginv1.MagicCookieKey + "=" + pluginv1.MagicCookieValue,
			fmt.Sprintf("PLUGIN_PROTOCOL_VERSIONS=%d", pluginv1.ProtocolVersion),
			"`" + line, fmt.Sprintf("service name `%s`", pluginv1.HealthService),
		},
		"proto/pluginv1/plugin.proto": {
			pluginv1.MagicCookieKey + " to\n// " + pluginv1.MagicCookieValue, "// " + line,
			fmt.Sprintf("reporting %q", pluginv1.HealthService),
		},
		"plugins/examples/pingpy/pingpy.py": {
			fmt.Sprintf("MAGIC_COOKIE_KEY = %q", pluginv1.MagicCookieKey),
			fmt.Sprintf("MAGIC_COOKIE_VALUE = %q", pluginv1.MagicCookieValue),
			fmt.Sprintf("CORE_PROTOCOL_VERSION = %d", pluginv1.CoreProtocolVersion),
			fmt.Sprintf("PROTOCOL_VERSION = %d", pluginv1.ProtocolVersion),
			fmt.Sprintf("HEALTH_SERVICE = %q", pluginv1.HealthService),
		},
	} {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s does not say %q", file, want)
			}
		}
	}
}
