package revocation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// %x of a key prints its bytes once: fmt's default for a Stringer would
// hex-encode "cuid:..." itself (issue 14 §5).
func TestKeyFormat(t *testing.T) {
	cuid, err := ParseKey("cuid:00112233445566778899aabbccddeeff")
	require.NoError(t, err)
	serial, err := SerialKey([]byte{0x01, 0xab})
	require.NoError(t, err)
	tests := []struct {
		format string
		key    Key
		want   string
	}{
		{"%x", cuid, "00112233445566778899aabbccddeeff"},
		{"%X", cuid, "00112233445566778899AABBCCDDEEFF"},
		{"%x", serial, "01ab"},
		{"%v", cuid, "cuid:00112233445566778899aabbccddeeff"},
		{"%s", serial, "serial:01ab"},
		{"%q", serial, `"serial:01ab"`},
		{"%+v", serial, "serial:01ab"},
		{"%x", Key{}, ""},
		{"%v", Key{}, "invalid"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, fmt.Sprintf(tt.format, tt.key), "%s of %s", tt.format, tt.key.String())
	}
}

// An Origin survives JSON both ways (an audit log read back), and an
// unknown one is refused.
func TestOriginText(t *testing.T) {
	for _, o := range []Origin{OriginDelivered, OriginLocalStop} {
		b, err := json.Marshal(o)
		require.NoError(t, err)
		var back Origin
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, o, back)
	}
	var o Origin
	assert.ErrorIs(t, o.UnmarshalText([]byte("feed")), ErrMalformed)
}

// A nil Options.Logger discards: nothing reaches slog's default logger
// (issue 14 §5, the same rule everywhere in the SDK).
func TestNilLoggerDiscards(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	s, err := Open(t.TempDir(), Options{Policy: Policy{AllowStale: true}, RefreshInterval: -1,
		Now: fixedNow(testAsOf.Add(30 * 24 * time.Hour))})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Apply(context.Background(), &Update{Full: true, Seq: 1, AsOf: testAsOf}))
	res, err := s.Check(CUIDKey(randCUID(rand.New(rand.NewPCG(1, 2)))))
	require.NoError(t, err)
	require.True(t, res.Stale, "a stale list accepted by policy, which logs a warning")
	assert.Empty(t, buf.String())
}
