// Package e2etest holds what the end-to-end suites (e2e/loopback,
// e2e/metrics, e2e/natlab) share: waiting on real processes, reading their
// HTTP answers and log lines, and the peer entries of /status.
package e2etest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Poll calls f every interval until it returns true or timeout passes, and
// reports whether f succeeded. Waiting on the clock is right here: these
// are real processes on a real network, and the deadlines are what the
// tests assert.
func Poll(timeout, interval time.Duration, f func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}

// Get returns the body of GET url through c, which must answer 200.
func Get(c *http.Client, url string) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return b, err
}

// LogField returns the value of key=value in a slog text line.
func LogField(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// Peer is one entry of /status peers, with the contract's field names
// (core.PeerStatus's).
type Peer struct {
	ID       string `json:"id"`
	Addr     string `json:"addr"`
	LAN      string `json:"lan"`
	Verified bool   `json:"verified"`
	// Authenticated: the peer proved its key, and what the node exchanges
	// with it is sealed.
	Authenticated bool  `json:"authenticated"`
	LastSeenMS    int64 `json:"last_seen_ms"`
}

// Verified returns the IDs of the verified peers among ps.
func Verified(ps []Peer) map[string]bool {
	out := map[string]bool{}
	for _, p := range ps {
		if p.Verified {
			out[p.ID] = true
		}
	}
	return out
}
