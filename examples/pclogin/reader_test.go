package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/examples/pclogin/internal/login"
	"github.com/mynacard/freespace/internal/pcsctest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// TestReaderThroughPCSCD runs pclogin's --reader path through a real pcscd:
// the mock card sits in a vpcd slot (scripts/test.sh starts the stack;
// skipped without it unless FREESPACE_REQUIRE_PCSC=1 or CI is set).
func TestReaderThroughPCSCD(t *testing.T) {
	slot := pcsctest.Acquire(t)
	cfgPath, _, _ := setup(t, "")
	mc, err := mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: "U-0001"}, CUID: cuid(1)}))
	require.NoError(t, err)

	pam := func(user string) (int, string) {
		var stderr bytes.Buffer
		code := run(context.Background(), []string{"pam", "--config", cfgPath, "--reader", slot.ReaderName},
			env(map[string]string{"PAM_USER": user, "PAM_TYPE": "auth"}), nil, &bytes.Buffer{}, &stderr)
		return code, stderr.String()
	}
	code, msg := pam("alice")
	assert.Equal(t, exitDenied, code)
	assert.Equal(t, "pclogin: denied: no card in the reader\n", msg)

	conn := slot.Attach(t, mc)
	code, msg = pam("alice")
	assert.Equal(t, exitOK, code, msg)
	code, _ = pam("bob")
	assert.Equal(t, exitDenied, code)

	var out bytes.Buffer
	require.Equal(t, exitOK, run(context.Background(), []string{"identify", "--reader", slot.ReaderName}, env(nil), nil, &out, &out))
	assert.Equal(t, "user_id\tU-0001\ncuid\t"+cuid(1).String()+"\n", out.String())

	// Watch: pulling the card out of the reader runs the lock.
	events := make(chan login.Event, 4)
	w := &login.Watcher{Card: login.Reader{Name: slot.ReaderName}, Interval: 50 * time.Millisecond,
		Lock: func(context.Context) error { return nil }, OnEvent: func(e login.Event, _ login.Card) { events <- e }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Run(ctx) }()
	require.Equal(t, login.CardArrived, <-events)
	require.NoError(t, conn.Close())
	pcsctest.WaitAbsent(t, slot)
	select {
	case e := <-events:
		assert.Equal(t, login.CardLeft, e)
	case <-time.After(pcsctest.Timeout):
		t.Fatal("the watcher did not notice the removal")
	}
}
