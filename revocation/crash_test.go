package revocation

import (
	"context"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const crashEnv = "REVOCATION_CRASH_CHILD_DIR"

// crashUpdates is the fixed chain of updates both processes know: deltas,
// with a full list every seventh sequence, and the model after each.
func crashUpdates() ([]*Update, []model) {
	r := rand.New(rand.NewPCG(77, 78))
	ups := randomUpdates(r, 400, 16)
	var models []model
	m := model{}
	for i, u := range ups {
		m.apply(u)
		models = append(models, maps.Clone(m))
		if i > 0 && i%7 == 0 {
			full := &Update{Full: true, Seq: u.Seq, AsOf: u.AsOf}
			for _, rec := range m {
				full.Add = append(full.Add, rec)
			}
			if err := full.normalize("t"); err != nil {
				panic(err)
			}
			ups[i] = full
		}
	}
	return ups, models
}

// TestCrashDuringSync kills a process applying updates (and merging in the
// background) at random points with SIGKILL; the store must always open to
// a complete state: some sequence, with exactly that sequence's content.
func TestCrashDuringSync(t *testing.T) {
	ups, models := crashUpdates()
	if dir := os.Getenv(crashEnv); dir != "" {
		s, err := Open(dir, Options{CompactAfter: 150})
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("READY\n")
		for _, u := range ups {
			if u.Seq > s.Snapshot().Seq() {
				if err := s.Apply(context.Background(), u); err != nil {
					os.Exit(4)
				}
			}
		}
		s.Close()
		os.Exit(0)
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	dir := t.TempDir()
	var last uint64
	kills := 0
	var seen []uint64
	maxDelay := 150000 // µs; about one run of the chain under -race
	for i := 0; i < 40; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDuringSync$")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		ready := make([]byte, 6)
		_, err = io.ReadFull(out, ready)
		require.NoError(t, err)
		require.Equal(t, "READY\n", string(ready))
		time.Sleep(time.Duration(r.IntN(maxDelay)) * time.Microsecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err = cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			t.Fatalf("child failed: %v", err)
		}
		finished := err == nil // the child completed before the kill
		if !finished {
			kills++
		}

		log, _ := testLogger(t)
		s, err := Open(dir, Options{CompactAfter: -1, Logger: log})
		require.NoError(t, err)
		seq := s.Snapshot().Seq()
		require.GreaterOrEqual(t, seq, last, "never goes back")
		if seq > 0 {
			assertMatches(t, s.Snapshot(), models[seq-1], nil)
		}
		require.NoError(t, s.Close())
		// Keep the kill points inside the run: shorter when the child
		// finished, longer when it made no progress.
		switch {
		case finished:
			maxDelay = max(1000, maxDelay*3/4)
		case seq == last:
			maxDelay = maxDelay * 5 / 4
		}
		last = seq
		seen = append(seen, seq)
		if seq == uint64(len(ups)) {
			dir, last = t.TempDir(), 0
		}
	}
	t.Logf("%d kills, sequences after each: %v", kills, seen)
}
