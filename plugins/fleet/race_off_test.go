//go:build !race

package fleet_test

// raceOn: the race detector is on (race_on_test.go).
const raceOn = false
