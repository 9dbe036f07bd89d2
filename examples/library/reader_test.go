package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/internal/testsupport/syncbuf"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// TestLibraryOnReader runs `library --reader NAME --members FILE --ledger
// FILE` (the README's command) through a real pcscd: a member's card and a
// card of another service are presented in turn, then the program is
// stopped like with Ctrl-C. Skipped without the stack of scripts/test.sh
// (see pcsctest.Acquire).
func TestLibraryOnReader(t *testing.T) {
	slot := pcsctest.Acquire(t)
	dir := t.TempDir()
	members := filepath.Join(dir, "members.csv")
	require.NoError(t, os.WriteFile(members, []byte("user_id,name\nLIB-0042,Tanaka Yui\n"), 0o600))
	ledgerPath := filepath.Join(dir, "ledger.jsonl")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--reader", slot.ReaderName, "--members", members, "--ledger", ledgerPath}, &out, &errb)
	}()
	waitOut := func(want string) {
		t.Helper()
		deadline := time.Now().Add(pcsctest.Timeout)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the output:\n%s\nstderr:\n%s", want, out.String(), errb.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	conn := slot.Attach(t, mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "LIB-0042"})))
	waitOut("welcome Tanaka Yui (+10 points, 10 in total)")
	require.NoError(t, conn.Close())
	pcsctest.WaitAbsent(t, slot)
	slot.Attach(t, mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "GYM-0001"})))
	waitOut("card GYM-0001 is not a member here")

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, errb.String())
	case <-time.After(pcsctest.Timeout):
		t.Fatal("library did not stop after its context was cancelled")
	}
	b, err := os.ReadFile(ledgerPath)
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(b), "\n"), "one visit recorded: %s", b)
	assert.Contains(t, string(b), `"user_id":"LIB-0042"`)
}
