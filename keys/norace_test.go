//go:build !race

package keys

// raceEnabled: see race_test.go.
const raceEnabled = false
