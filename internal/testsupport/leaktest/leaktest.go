// Package leaktest checks that a test leaves no goroutine running.
package leaktest

import (
	"runtime"
	"testing"
	"time"
)

// Check records the number of goroutines and, when the test ends, fails
// it if more are still running after a grace period of 5 s (goroutines
// that are ending may take a moment to be gone), printing their stacks.
// The count is the process's: call it only from tests that do not run in
// parallel.
func Check(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines still running, %d before the test:\n%s", n, before, buf)
		}
	})
}
