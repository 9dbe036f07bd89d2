package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/examples/taxifare/internal/fare"
	"github.com/mynacard/freespace/internal/testsupport/syncbuf"
)

// TestDemoEndToEnd runs the whole example on the mock cards: server, two
// terminals, every kind of tap, uploads with an offline attempt, settlement.
func TestDemoEndToEnd(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	err := run(context.Background(), &out, options{Dir: dir, Addr: "127.0.0.1:0", Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err, out.String())
	s := out.String()
	for _, want := range []string{
		"U-0001: accepted",
		"city pays 1000 yen, riders pay 1400 yen; U-0001 1000 yen",
		"city pays 1000 yen, riders pay 2100 yen; U-0001 500 yen; U-0002 500 yen",
		"city pays 750 yen, riders pay 750 yen; U-0002 750 yen",
		"U-0001: daily ride limit reached",
		"U-0004: not registered",
		"U-0003: card revoked",
		"U-0005: card expired (card: cardap: card AP expired",
		"U-0001: registered to another card",
		"card unreadable (card: cardap: card removed",
		"card unreadable (card: cardap: no accepted card AP on the card)",
		"a Type C copy of U-0002's card                REFUSED U-0002: card not authenticated",
		"while offline failed; 2 trips stay pending",
		"upload from car-12: 2 accepted",
		"upload from car-07: 1 accepted",
		"upload from car-12: 0 accepted, 0 duplicate, 0 rejected",
	} {
		assert.Contains(t, s, want)
	}
	month := fare.Default().Month(time.Now())
	csv := s[strings.Index(s, "month,company_id"):]
	assert.Equal(t, "month,company_id,trips,riders,fare_yen,subsidy_yen,passenger_paid_yen\n"+
		month+",kita-kotsu,2,3,5500,2000,3500\n"+
		month+",minami-taxi,1,1,1500,750,750\n", csv)
	for _, db := range []string{"city.db", "car-12.db", "car-07.db"} {
		_, err := os.Stat(filepath.Join(dir, db))
		assert.NoError(t, err, db)
	}
}

func TestDemoRulesFile(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.json")
	require.NoError(t, os.WriteFile(rules, []byte(`{"cap_per_ride_yen": 800, "rides_per_day": 0}`), 0o600))
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, options{RulesFile: rules, Addr: "127.0.0.1:0", Log: slog.New(slog.DiscardHandler)}))
	assert.Contains(t, out.String(), "city pays 800 yen, riders pay 1600 yen")
	assert.NotContains(t, out.String(), "daily ride limit reached")

	require.NoError(t, os.WriteFile(rules, []byte(`{"subsidy_rate": "0.5"}`), 0o600))
	err := run(context.Background(), &out, options{RulesFile: rules, Addr: "127.0.0.1:0", Log: slog.New(slog.DiscardHandler)})
	assert.ErrorIs(t, err, fare.ErrInvalidRules)
}

func TestDemoRefusesUsedDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "city.db"), nil, 0o600))
	err := run(context.Background(), &bytes.Buffer{}, options{Dir: dir, Addr: "127.0.0.1:0", Log: slog.New(slog.DiscardHandler)})
	assert.ErrorContains(t, err, "new or empty directory")
}

// brokenListener fails Accept for good, as a listener whose socket was
// closed under the server or that ran out of file descriptors would.
type brokenListener struct {
	net.Listener
	err error
}

func (l brokenListener) Accept() (net.Conn, error) { return nil, l.err }

// TestServeCity: the demo's city server reports a Serve that ended with an
// error (logged at once, returned by stop), and stops quietly otherwise.
func TestServeCity(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var logs bytes.Buffer
	stop := serveCity(ln, h, slog.New(slog.NewTextHandler(&logs, nil)))
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.NoError(t, stop(), "a server closed by stop ends normally")
	assert.Empty(t, logs.String())

	ln, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	broken := errors.New("accept: too many open files")
	failed := &syncbuf.Buffer{}
	stop = serveCity(brokenListener{ln, broken}, h, slog.New(slog.NewTextHandler(failed, nil)))
	// Serve fails on its own; only then does the demo stop it.
	require.Eventually(t, func() bool { return strings.Contains(failed.String(), "city server stopped") },
		10*time.Second, time.Millisecond)
	err = stop()
	assert.ErrorIs(t, err, broken)
	assert.NotErrorIs(t, err, http.ErrServerClosed)
}
