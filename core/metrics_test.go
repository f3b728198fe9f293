package core

import (
	"regexp"
	"testing"
)

// Every counter and drop reason has its own, well-formed name: a missing case
// in a switch would show up as a duplicate "unknown".
func TestMetricNames(t *testing.T) {
	seen := map[string]bool{}
	series := regexp.MustCompile(`^walkie_[a-z_]+_total$`)
	for _, c := range Counters() {
		n := c.Name()
		if !series.MatchString(n) || seen[n] || n == "walkie_unknown_total" {
			t.Errorf("counter %d: bad or duplicate name %q", c, n)
		}
		seen[n] = true
	}
	label := regexp.MustCompile(`^[a-z_]+$`)
	for _, r := range DropReasons() {
		n := r.String()
		if !label.MatchString(n) || seen[n] || n == "unknown" {
			t.Errorf("drop reason %d: bad or duplicate label %q", r, n)
		}
		seen[n] = true
	}
}
