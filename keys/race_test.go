//go:build race

package keys

// raceEnabled: the race detector makes sync.Pool (used by fmt) drop items
// at random, so allocation counts are not exact under it.
const raceEnabled = true
