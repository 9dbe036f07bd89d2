//go:build !linux

package meter

import "time"

var start = time.Now()

// ThreadCPU falls back to wall time where the thread CPU clock is not
// available.
func ThreadCPU() time.Duration { return time.Since(start) }
