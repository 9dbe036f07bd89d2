package pcsctest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSlotsFromEnv(t *testing.T) {
	t.Setenv(EnvPorts, "35963, 35965")
	t.Setenv(EnvName, "Test vpcd")
	got, err := slots()
	require.NoError(t, err)
	assert.Equal(t, []Slot{
		{Addr: "127.0.0.1:35963", ReaderName: "Test vpcd 35963 00 00", Port: 35963},
		{Addr: "127.0.0.1:35964", ReaderName: "Test vpcd 35963 00 01", Port: 35964},
		{Addr: "127.0.0.1:35965", ReaderName: "Test vpcd 35965 00 00", Port: 35965},
		{Addr: "127.0.0.1:35966", ReaderName: "Test vpcd 35965 00 01", Port: 35966},
	}, got)

	for _, bad := range []string{"", "x", "0", "70000", ","} {
		t.Setenv(EnvPorts, bad)
		_, err := slots()
		assert.Error(t, err, "%q", bad)
	}
}

func TestLockSlotIsExclusive(t *testing.T) {
	dir := t.TempDir()
	all := []Slot{{Port: 1}, {Port: 2}}
	s1, unlock1, err := lockSlot(dir, all, "a")
	require.NoError(t, err)
	s2, unlock2, err := lockSlot(dir, all, "a")
	require.NoError(t, err)
	assert.NotEqual(t, s1.Port, s2.Port, "flock locks are per open file, so even one process gets distinct slots")

	got := make(chan Slot, 1)
	go func() {
		s, unlock, err := lockSlot(dir, all, "b")
		if err == nil {
			defer unlock()
		}
		got <- s
	}()
	select {
	case s := <-got:
		t.Fatalf("got slot %d while all were taken", s.Port)
	case <-time.After(100 * time.Millisecond):
	}
	unlock1()
	unlock2()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("waiter did not get a slot after release")
	}
}

// TestPrivateDaemon starts, stops and restarts a private pcscd with a
// different configuration.
func TestPrivateDaemon(t *testing.T) {
	d := NewPrivate(t, 2)
	require.Len(t, d.Slots(), 4)
	d.Start(1)
	assert.FileExists(t, d.Socket())
	assert.Equal(t, []string{d.Slots()[0].ReaderName, d.Slots()[1].ReaderName}, d.ReaderNames())
	assert.True(t, listening(d.Slots()[1].Port))
	assert.False(t, listening(d.Slots()[3].Port), "the second device is not configured")

	d.Stop()
	assert.NoFileExists(t, d.Socket(), "pcscd removes its socket on SIGTERM")
	assert.False(t, listening(d.Slots()[1].Port))
	d.Stop() // stopping a stopped daemon does nothing

	d.Start(2)
	assert.FileExists(t, d.Socket())
	assert.Len(t, d.ReaderNames(), 4)
	assert.True(t, listening(d.Slots()[3].Port))
	assert.Equal(t, "PCSCLITE_CSOCK_NAME="+d.Socket(), d.Env())
}
