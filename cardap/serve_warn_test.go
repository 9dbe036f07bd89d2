package cardap_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/internal/testsupport/syncbuf"
)

// outageSlot is a slot whose Present fails, as every reader does while
// pcscd is down, until the outage ends; then the slot is gone.
type outageSlot struct {
	name  string
	mu    sync.Mutex
	fails int
	over  chan struct{}
}

func (s *outageSlot) Name() string { return s.name }

func (s *outageSlot) Present(ctx context.Context) (cardap.Card, error) {
	select {
	case <-s.over:
		return nil, cardap.ErrSlotGone
	default:
	}
	s.mu.Lock()
	s.fails++
	s.mu.Unlock()
	// Two joined errors: errors.Join's message has a newline.
	return nil, errors.Join(errors.New("reader: SCardEstablishContext: SCARD_E_NO_SERVICE (0x8010001D): PC/SC service not running"),
		errors.New("reader: SCardReleaseContext: SCARD_F_COMM_ERROR (0x80100013)"))
}

func (s *outageSlot) failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fails
}

// logRecord is one JSON log record of the client.
type logRecord struct {
	Level      string `json:"level"`
	Msg        string `json:"msg"`
	Slot       string `json:"slot"`
	Err        string `json:"err"`
	Warning    string `json:"warning"`
	Suppressed int    `json:"suppressed"`
}

func parseLog(t *testing.T, s string) []logRecord {
	t.Helper()
	var out []logRecord
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var r logRecord
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		out = append(out, r)
	}
	return out
}

// TestServeRateLimitsWarnings: 8 slots failing again and again during an
// outage log one warning each, not one per retry; the repeats are counted
// and reported when the slot recovers; no attribute holds a newline.
func TestServeRateLimitsWarnings(t *testing.T) {
	var logs syncbuf.Buffer
	c := newClient(t, nil, func(c *cardap.Config) {
		c.NoRevocation = true
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	over := make(chan struct{})
	var slots []cardap.Slot
	var outs []*outageSlot
	for i := range 8 {
		s := &outageSlot{name: fmt.Sprintf("reader %d", i), over: over}
		slots, outs = append(slots, s), append(outs, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.Serve(ctx, func(context.Context, cardap.Tap, cardap.Card) { t.Error("no card was presented") }, slots...)
	}()
	// Retries back off 100, 200, 400, 800 ms...: wait for 4 failures each.
	require.Eventually(t, func() bool {
		for _, s := range outs {
			if s.failures() < 4 {
				return false
			}
		}
		return true
	}, 15*time.Second, 20*time.Millisecond)
	close(over)
	require.NoError(t, <-done)

	total := 0
	for _, s := range outs {
		total += s.failures()
	}
	warns := map[string]int{}
	suppressed := map[string]int{}
	for _, r := range parseLog(t, logs.String()) {
		switch r.Level {
		case "WARN":
			assert.Equal(t, "cardap: slot failed, retrying", r.Msg)
			assert.NotContains(t, r.Err, "\n", "one line per attribute")
			assert.Contains(t, r.Err, "SCARD_E_NO_SERVICE")
			warns[r.Slot]++
		case "INFO":
			assert.Equal(t, "cardap: slot failed, retrying", r.Warning)
			suppressed[r.Slot] += r.Suppressed
		}
	}
	t.Logf("%d failures across 8 slots, %d warnings logged", total, len(warns))
	for _, s := range outs {
		assert.Equal(t, 1, warns[s.name], "one warning for %s", s.name)
		assert.Equal(t, s.failures()-1, suppressed[s.name], "the repeats of %s are counted", s.name)
	}
}
