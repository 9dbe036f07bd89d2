package main

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/internal/testsupport/syncbuf"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// startServe runs `cardap mock serve args...` in a goroutine; stop cancels
// it and returns its exit code and stderr.
func startServe(t *testing.T, args ...string) (stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &cli{stdout: io.Discard, stderr: &stderr}, append([]string{"mock", "serve"}, args...))
	}()
	var once sync.Once
	var code int
	stop = func() (int, string) {
		once.Do(func() {
			cancel()
			code = <-done
		})
		return code, stderr.String()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// vpcdExchange plays vpcd's side of one message on conn.
func vpcdExchange(t *testing.T, conn net.Conn, payload []byte) []byte {
	t.Helper()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	frame := binary.BigEndian.AppendUint16(nil, uint16(len(payload)))
	_, err := conn.Write(append(frame, payload...))
	require.NoError(t, err)
	var hdr [2]byte
	_, err = io.ReadFull(conn, hdr[:])
	require.NoError(t, err)
	resp := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	_, err = io.ReadFull(conn, resp)
	require.NoError(t, err)
	return resp
}

// TestMockServeToFakeVPCD plays vpcd: the served card answers the ATR
// request and a SELECT of the Type C AP; its state is saved on exit and
// loaded again by the next run.
func TestMockServeToFakeVPCD(t *testing.T) {
	state := filepath.Join(t.TempDir(), "card.json")
	selectC := append([]byte{0x00, 0xA4, 0x04, 0x0C, 0x0B}, profile.DefaultAID(profile.TypeC)...)

	var cuids []profile.CUID
	for i, wantOrigin := range []string{"demo card, user ID GATE-7, JPKI AP, saved to", "loaded from"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		stop := startServe(t, "--vpcd", ln.Addr().String(), "--state", state, "--user-id", "GATE-7")
		conn, err := ln.Accept()
		require.NoError(t, err)
		assert.Equal(t, mockcard.DefaultATR(), vpcdExchange(t, conn, []byte{0x04}), "run %d: ATR", i)
		assert.Equal(t, []byte{0x90, 0x00}, vpcdExchange(t, conn, selectC), "run %d: SELECT Type C", i)
		code, stderr := stop()
		_ = conn.Close()
		_ = ln.Close()
		assert.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stderr, wantOrigin)

		fi, err := os.Stat(state)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		card, err := mockcard.Load(state)
		require.NoError(t, err)
		cuid, err := card.CUID(profile.DefaultAID(profile.TypeC))
		require.NoError(t, err)
		cuids = append(cuids, cuid)
	}
	assert.Equal(t, cuids[0], cuids[1], "the saved card keeps its CUID")

	code, _, stderr := runCLI(t, nil, "mock", "serve", "--user-id", "has space")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--user-id")

	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{}"), 0o600))
	code, _, stderr = runCLI(t, nil, "mock", "serve", "--state", bad)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "mockcard")
}
