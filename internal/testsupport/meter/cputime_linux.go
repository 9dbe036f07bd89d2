//go:build linux

package meter

import (
	"time"

	"golang.org/x/sys/unix"
)

// ThreadCPU returns the CPU time consumed by the calling OS thread
// (CLOCK_THREAD_CPUTIME_ID). Benchmarks lock their goroutine to its thread
// (runtime.LockOSThread) so that the figure is the host code's own CPU time,
// unaffected by other processes on a loaded machine.
func ThreadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
