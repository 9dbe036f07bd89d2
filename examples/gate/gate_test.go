package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/revocation"
)

// envDoorHelper makes the test binary act as a door command (see
// TestMain): "record:FILE" appends what it received to FILE, "fail" exits
// 3, "hang" never exits.
const envDoorHelper = "GATE_TEST_DOOR_HELPER"

// envTestPassword is the variable TestPasswordEnvNotInherited passes the
// demo cards' password in; the door helper records whether it inherited
// it.
const envTestPassword = "GATE_TEST_PASSWORD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(envDoorHelper); mode != "" {
		os.Exit(doorHelper(mode))
	}
	os.Exit(m.Run())
}

// doorHelper is the door command run by the tests.
func doorHelper(mode string) int {
	switch {
	case strings.HasPrefix(mode, "record:"):
		in, err := io.ReadAll(os.Stdin)
		if err != nil {
			return 4
		}
		rec, _ := json.Marshal(map[string]string{
			"stdin":    string(in),
			"decision": os.Getenv("GATE_DECISION"),
			"user_id":  os.Getenv("GATE_USER_ID"),
			"cuid":     os.Getenv("GATE_CUID"),
			"slot":     os.Getenv("GATE_SLOT"),
			"ap":       os.Getenv("GATE_AP"),
			"password": os.Getenv(envTestPassword),
			"args":     strings.Join(os.Args[1:], "|"),
		})
		f, err := os.OpenFile(strings.TrimPrefix(mode, "record:"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return 5
		}
		defer f.Close()
		if _, err := f.Write(append(rec, '\n')); err != nil {
			return 6
		}
		fmt.Println("door helper: opened")
		return 0
	case mode == "fail":
		fmt.Fprintln(os.Stderr, "door helper: relay not answering")
		return 3
	case mode == "hang":
		time.Sleep(time.Minute)
		return 0
	}
	return 7
}

// demoWant is the demo's series: label, outcome, reason, detail.
var demoWant = []struct {
	tap     string
	outcome Outcome
	reason  string
	detail  string
	user    string
}{
	{"valid card", Open, "ok", "valid", "EMP-0001"},
	{"revoked (lost)", Deny, "revoked", "revoked: lost (delivered list)", "EMP-0002"},
	{"stopped locally", Deny, "revoked", "revoked: stolen (local stop)", "EMP-0003"},
	{"expired card", Deny, "expired", "expired on ", "EMP-0004"},
	{"unknown card (no AP)", Deny, "unknown-card", "unknown card: none of the gate's APs", ""},
	{"not personalized", Deny, "not-personalized", "card not personalized", ""},
	{"malformed data", Deny, "malformed", "unreadable card data", ""},
	{"pulled away mid-read", Retry, "card-removed", "card removed during the read, tap again", ""},
	{"Type C copy of card 1", Deny, "unproven", "unproven card: Type C identifies, it does not authenticate", "EMP-0001"},
}

func runGate(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	require.Equal(t, exitOK, code, errb.String())
	return out.String(), errb.String()
}

func parseDecisions(t *testing.T, r io.Reader) []Decision {
	t.Helper()
	var ds []Decision
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var d Decision
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&d), "line %q", sc.Text())
		ds = append(ds, d)
	}
	require.NoError(t, sc.Err())
	return ds
}

// TestSimulationEndToEnd runs the gate as `go run ./examples/gate` does
// and checks the decision of every simulated tap.
func TestSimulationEndToEnd(t *testing.T) {
	out, errOut := runGate(t, context.Background())
	assert.Empty(t, errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, len(demoWant), out)
	for i, w := range demoWant {
		line := lines[i]
		assert.Regexp(t, `^\d\d:\d\d:\d\d  `, line)
		assert.Equal(t, w.tap, strings.TrimSpace(line[10:33]), line)
		assert.Equal(t, string(w.outcome), strings.TrimSpace(line[33:39]), line)
		assert.True(t, strings.HasPrefix(line[40:], w.detail), line)
		if w.user != "" {
			assert.True(t, strings.HasSuffix(line, ", user "+w.user), line)
		} else {
			assert.NotContains(t, line, "user")
		}
	}
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	assert.Contains(t, lines[3], "expired on "+yesterday)
}

// TestSimulationJSON checks the audit format of every demo decision.
func TestSimulationJSON(t *testing.T) {
	before := time.Now().UTC()
	out, _ := runGate(t, context.Background(), "--json")
	ds := parseDecisions(t, strings.NewReader(out))
	require.Len(t, ds, len(demoWant))
	for i, w := range demoWant {
		d := ds[i]
		assert.Equal(t, w.tap, d.Tap)
		assert.Equal(t, "demo gate", d.Slot)
		assert.Equal(t, w.outcome, d.Outcome, w.tap)
		assert.Equal(t, w.reason, d.Reason, w.tap)
		assert.True(t, strings.HasPrefix(d.Detail, w.detail), d.Detail)
		assert.Equal(t, w.user, d.UserID)
		assert.False(t, d.Time.Before(before.Add(-time.Second)))
		assert.Empty(t, d.Door, "no door configured")
		switch w.tap {
		case "revoked (lost)":
			require.NotNil(t, d.Revoked, w.tap)
			assert.Equal(t, Revoked{Reason: revocation.ReasonLost, Source: revocation.OriginDelivered, At: d.Revoked.At}, *d.Revoked)
			assert.False(t, d.Revoked.At.IsZero())
		case "stopped locally":
			require.NotNil(t, d.Revoked, w.tap)
			assert.Equal(t, revocation.ReasonStolen, d.Revoked.Reason)
			assert.Equal(t, revocation.OriginLocalStop, d.Revoked.Source)
		default:
			assert.Nil(t, d.Revoked, w.tap)
		}
	}
	// Cards whose identity was read were checked against the 6-hour-old
	// demo list; the others never reached the check.
	for i := range 4 {
		require.NotNil(t, ds[i].RevocationListAge, ds[i].Tap)
		assert.InDelta(t, 6*3600, *ds[i].RevocationListAge, 2, ds[i].Tap)
		assert.Equal(t, "A", ds[i].AP)
		assert.Equal(t, "mutual-auth", ds[i].Proof)
		assert.False(t, ds[i].PasswordVerified, "the demo cards have no password")
		assert.Equal(t, 4, ds[i].APDUs, "a Type A read without a password is four APDUs")
		assert.Equal(t, demoCUID(byte(i+1)).String(), ds[i].CUID)
	}
	for i := 4; i < len(ds); i++ {
		assert.Nil(t, ds[i].RevocationListAge, ds[i].Tap)
	}
	for i := 4; i < 8; i++ {
		assert.Empty(t, ds[i].Proof, "%s: nothing read, nothing proven", ds[i].Tap)
	}
	clone := ds[8]
	assert.Equal(t, "C", clone.AP)
	assert.Equal(t, "none", clone.Proof)
	assert.Equal(t, demoCUID(1).String(), clone.CUID, "the copy carries the original's CUID")

	// The raw lines carry the documented keys.
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &raw))
	for _, k := range []string{"time", "slot", "tap", "decision", "reason", "detail", "ap", "proof", "user_id", "cuid", "expires", "revocation_list_age_s", "apdus", "took_us"} {
		assert.Contains(t, raw, k)
	}
}

// TestTypeCCopyRefusedByDefault is the attack of issue 10 §2 on the gate:
// a Type C card cloned from a keyless read of a valid card (same CUID,
// same user ID) is refused as unproven by default, and opens the gate only
// with --allow-type-c, which logs a warning at start and with every
// decision and marks the open decision.
func TestTypeCCopyRefusedByDefault(t *testing.T) {
	last := len(demoWant) - 1
	out, errOut := runGate(t, context.Background(), "--json")
	ds := parseDecisions(t, strings.NewReader(out))
	require.Len(t, ds, len(demoWant))
	assert.Equal(t, Open, ds[0].Outcome, "the original opens")
	assert.Equal(t, Deny, ds[last].Outcome, "the copy does not")
	assert.Equal(t, "unproven", ds[last].Reason)
	assert.NotContains(t, errOut, "allow-type-c")

	out, errOut = runGate(t, context.Background(), "--json", "--allow-type-c")
	ds = parseDecisions(t, strings.NewReader(out))
	require.Len(t, ds, len(demoWant))
	assert.Equal(t, Open, ds[last].Outcome, "--allow-type-c: the copy opens the gate")
	assert.Equal(t, "none", ds[last].Proof)
	assert.Equal(t, "unproven card (Type C) accepted by --allow-type-c", ds[last].ProofWarning)
	assert.Empty(t, ds[0].ProofWarning, "the Type A card proved itself")
	assert.Equal(t, len(demoWant)+1, strings.Count(errOut, typeCWarning), "a warning at start and one per decision")

	out, _ = runGate(t, context.Background(), "--allow-type-c")
	assert.Contains(t, strings.Split(strings.TrimSpace(out), "\n")[last], "[warning: unproven card (Type C) accepted by --allow-type-c]")
}

// TestPasswordEnvNotInherited: the password given with --password-env is
// removed from the gate's environment once read, so the door command (a
// child process) does not inherit it; the demo cards then carry it and
// the gate verifies it after mutual authentication.
func TestPasswordEnvNotInherited(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "door.jsonl")
	t.Setenv(envDoorHelper, "record:"+rec)
	t.Setenv(envTestPassword, "2468")
	out, _ := runGate(t, context.Background(), "--json", "--password-env", envTestPassword, "--door-cmd", "'"+os.Args[0]+"'")
	_, inherited := os.LookupEnv(envTestPassword)
	assert.False(t, inherited, "removed from the gate's own environment")

	ds := parseDecisions(t, strings.NewReader(out))
	require.Len(t, ds, len(demoWant))
	assert.Equal(t, Open, ds[0].Outcome)
	assert.True(t, ds[0].PasswordVerified, "the card accepted the password")
	assert.NotContains(t, out, "2468")

	data, err := os.ReadFile(rec)
	require.NoError(t, err)
	var got map[string]string
	require.NoError(t, json.Unmarshal(data, &got))
	assert.Equal(t, "open", got["decision"], "the door command ran")
	assert.Empty(t, got["password"], "the door command did not inherit the password")

	var errb bytes.Buffer
	assert.Equal(t, exitUsage, run(context.Background(), []string{"--password-env", "GATE_TEST_NO_SUCH_VARIABLE"}, io.Discard, &errb))
	assert.Contains(t, errb.String(), "GATE_TEST_NO_SUCH_VARIABLE is not set or empty")
}

// TestStoreOpenedReadOnly: a gate that does not sync its store opens it
// read-only, so a mistyped --revocation path is an error that creates
// nothing, and an existing store cannot be changed through the gate; with
// --feed the gate is the store's writer.
func TestStoreOpenedReadOnly(t *testing.T) {
	g := &gate{now: time.Now, log: slog.New(slog.DiscardHandler)}
	o, code := parseFlags(nil, io.Discard)
	require.Equal(t, exitOK, code)
	missing := filepath.Join(t.TempDir(), "mistyped")
	_, err := g.openStore(missing, o, false)
	require.ErrorIs(t, err, revocation.ErrNoStore)
	_, err = os.Stat(missing)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing created at a mistyped path")

	dir := filepath.Join(t.TempDir(), "synced")
	writable, err := g.openStore(dir, o, true)
	require.NoError(t, err)
	require.NoError(t, writable.Close())

	store, err := g.openStore(dir, o, false)
	require.NoError(t, err)
	assert.Zero(t, store.Snapshot().Seq(), "no list")
	assert.ErrorIs(t, store.Stop(context.Background(), revocation.CUIDKey(demoCUID(1)), revocation.StopOptions{Reason: revocation.ReasonLost, By: "t"}), revocation.ErrReadOnly)
	require.NoError(t, store.Close())
}

// TestAuditFile appends decisions to the audit file, across runs.
func TestAuditFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	out, _ := runGate(t, context.Background(), "--audit", path)
	assert.Len(t, strings.Split(strings.TrimSpace(out), "\n"), len(demoWant), "stdout keeps the human lines")
	runGate(t, context.Background(), "--audit", path, "--json")

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	ds := parseDecisions(t, f)
	require.Len(t, ds, 2*len(demoWant), "the second run appends")
	for i, d := range ds {
		assert.Equal(t, demoWant[i%len(demoWant)].outcome, d.Outcome)
	}
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the audit log holds user IDs")

	var errb bytes.Buffer
	assert.Equal(t, exitFailure, run(context.Background(), []string{"--audit", filepath.Join(t.TempDir(), "no", "such", "dir")}, io.Discard, &errb))
	assert.Contains(t, errb.String(), "opening the audit log")
}

// TestDoorHook runs a test command as the door: it runs once, for the one
// open decision, with the decision on stdin and in the environment.
func TestDoorHook(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "door.jsonl")
	t.Setenv(envDoorHelper, "record:"+rec)
	out, errOut := runGate(t, context.Background(), "--json", "--door-cmd", "'"+os.Args[0]+"' relay-1 \"two words\"")
	assert.Contains(t, errOut, "door helper: opened", "the command's output goes to stderr")

	ds := parseDecisions(t, strings.NewReader(out))
	require.Len(t, ds, len(demoWant))
	for _, d := range ds {
		if d.Outcome == Open {
			assert.Equal(t, "opened", d.Door)
		} else {
			assert.Empty(t, d.Door, d.Tap)
		}
	}

	data, err := os.ReadFile(rec)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 1, "the door opens only for the valid card")
	var got map[string]string
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	assert.Equal(t, "open", got["decision"])
	assert.Equal(t, "EMP-0001", got["user_id"])
	assert.Equal(t, demoCUID(1).String(), got["cuid"])
	assert.Equal(t, "demo gate", got["slot"])
	assert.Equal(t, "A", got["ap"])
	assert.Equal(t, "relay-1|two words", got["args"], "argv without a shell")
	var in Decision
	require.NoError(t, json.Unmarshal([]byte(got["stdin"]), &in))
	assert.Equal(t, Open, in.Outcome)
	assert.Equal(t, "EMP-0001", in.UserID)
	assert.Equal(t, "valid card", in.Tap)
}

func TestDoorHookFailures(t *testing.T) {
	// The failing door gets time to start and exit even on a loaded
	// machine (the helper is this race-built test binary); the hanging one
	// is cut off.
	for _, tt := range []struct {
		mode, timeout, want string
	}{
		{"fail", "30s", "exit status 3"},
		{"hang", "200ms", "no exit within 200ms"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			t.Setenv(envDoorHelper, tt.mode)
			out, _ := runGate(t, context.Background(), "--json", "--door-timeout", tt.timeout, "--door-cmd", "'"+os.Args[0]+"'")
			ds := parseDecisions(t, strings.NewReader(out))
			require.Len(t, ds, len(demoWant), "a failing door does not stop the gate")
			assert.Equal(t, Open, ds[0].Outcome)
			assert.Equal(t, "failed", ds[0].Door)
			assert.Contains(t, ds[0].DoorError, tt.want)
		})
	}
	out, _ := runGate(t, context.Background(), "--door-cmd", filepath.Join(t.TempDir(), "no-such-command"))
	assert.Contains(t, out, "[door FAILED: door command failed")
}

// TestDoorInterface plugs a Go Door into the gate.
func TestDoorInterface(t *testing.T) {
	var (
		mu     sync.Mutex
		opened []Decision
	)
	var out bytes.Buffer
	g := &gate{now: time.Now, log: slog.New(slog.DiscardHandler), out: &out,
		door: DoorFunc(func(_ context.Context, d Decision) error {
			mu.Lock()
			defer mu.Unlock()
			opened = append(opened, d)
			if len(opened) > 1 {
				return errors.New("jammed")
			}
			return nil
		})}
	o, code := parseFlags(nil, io.Discard)
	require.Equal(t, exitOK, code)
	require.NoError(t, g.simulate(context.Background(), o))
	require.NoError(t, g.simulate(context.Background(), o))
	require.Len(t, opened, 2, "one open decision per run")
	assert.Equal(t, "EMP-0001", opened[0].UserID)
	assert.Contains(t, out.String(), "valid, user EMP-0001 [door opened]")
	assert.Contains(t, out.String(), "valid, user EMP-0001 [door FAILED: jammed]")
}

// TestRevocationFreshness: a list older than --max-list-age refuses every
// card not on it (fail closed), unless --allow-stale accepts with a warning.
func TestRevocationFreshness(t *testing.T) {
	out, _ := runGate(t, context.Background(), "--json", "--max-list-age", "1h")
	ds := parseDecisions(t, strings.NewReader(out))
	require.Len(t, ds, len(demoWant))
	assert.Equal(t, Deny, ds[0].Outcome)
	assert.Equal(t, "revocation-unknown", ds[0].Reason)
	assert.Equal(t, "revocation list too old to decide (fail closed)", ds[0].Detail)
	require.NotNil(t, ds[0].RevocationListAge)
	assert.InDelta(t, 6*3600, *ds[0].RevocationListAge, 2, "the age is reported with the refusal")
	assert.Equal(t, "revoked", ds[1].Reason, "a revoked card stays revoked on an old list")
	assert.Equal(t, "revoked", ds[2].Reason)

	out, _ = runGate(t, context.Background(), "--max-list-age", "1h", "--allow-stale")
	first := strings.SplitN(out, "\n", 2)[0]
	assert.Contains(t, first, " open ")
	assert.Contains(t, first, "[warning: revocation list sequence 1 is 6h0m0s old")
}

func TestRunFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--aid", "12"}, "invalid AID"},
		{[]string{"--type-c-aid", "12"}, "--type-c-aid: "},
		{[]string{"--keys", "k.json"}, "the simulation makes its own operator keys"},
		{[]string{"--reader", "R", "--no-revocation"}, "give --keys FILE (Type A with the operator's keys), --jpki-roots FILES (My Number Cards through JPKI), or --allow-type-c"},
		{[]string{"--nope"}, "flag provided but not defined"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--reader", "R", "--keys", "k.json"}, "give --revocation DIR"},
		{[]string{"--all-readers", "--allow-type-c"}, "give --revocation DIR"},
		{[]string{"--reader", ""}, "empty reader name"},
		{[]string{"--reader", "R", "--all-readers", "--no-revocation"}, "exclude each other"},
		{[]string{"--reader", "R", "--revocation", "d", "--no-revocation"}, "exclude each other"},
		{[]string{"--revocation", "d"}, "the simulation uses its own demo revocation store"},
		{[]string{"--no-revocation"}, "the simulation uses its own demo revocation store"},
		{[]string{"--max-list-age", "0s"}, "--max-list-age must be positive"},
		{[]string{"--door-timeout", "-1s"}, "--door-timeout must be positive"},
	} {
		var errb bytes.Buffer
		assert.Equal(t, exitUsage, run(context.Background(), tt.args, io.Discard, &errb), "%q", tt.args)
		assert.Contains(t, errb.String(), tt.want, "%q", tt.args)
	}
	var errb bytes.Buffer
	assert.Equal(t, exitFailure, run(context.Background(), []string{"--door-cmd", "'unterminated"}, io.Discard, &errb))
	assert.Contains(t, errb.String(), "unterminated")
	assert.Equal(t, exitOK, run(context.Background(), []string{"-h"}, io.Discard, io.Discard))

	// A Type A AID no demo card carries: the cards that also carry a Type
	// C AP (card 1 and its copy) are refused as unproven, the card pulled
	// away is still pulled away, the others are unknown.
	out, _ := runGate(t, context.Background(), "--aid", "F0 00 11 22 33")
	assert.Equal(t, len(demoWant)-3, strings.Count(out, "unknown card: none of the gate's APs"), out)
	assert.Equal(t, 2, strings.Count(out, "unproven card"), out)
	assert.Equal(t, 1, strings.Count(out, "card removed during the read"), out)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, _ = runGate(t, ctx)
	assert.Empty(t, out, "Ctrl-C before the first tap")
}

func TestDecide(t *testing.T) {
	now := time.Date(2030, 4, 1, 9, 0, 0, 0, time.UTC)
	id := &cardap.Identity{AP: profile.TypeC, UserID: "U", CUID: demoCUID(9), APDUs: 5, RevocationListAge: 90 * time.Second}
	tests := []struct {
		name    string
		ident   *cardap.Identity
		err     error
		want    Outcome
		reason  string
		detail  string
		ageSecs *int64
	}{
		{"valid", id, nil, Open, "ok", "valid", ptr(int64(90))},
		{"revoked", nil, &cardap.Error{Reason: cardap.ReasonRevoked, Identity: id, Revocation: &cardap.RevocationStatus{Revoked: true, Reason: revocation.ReasonLost, Source: revocation.OriginDelivered}}, Deny, "revoked", "revoked: lost (delivered list)", ptr(int64(90))},
		{"stale", nil, &cardap.Error{Reason: cardap.ReasonRevocationUnknown, Identity: id, Err: revocation.ErrStale}, Deny, "revocation-unknown", "revocation list too old to decide (fail closed)", ptr(int64(90))},
		{"store failure", nil, &cardap.Error{Reason: cardap.ReasonRevocationUnknown, Identity: id, Err: revocation.ErrClosed}, Deny, "revocation-unknown", "revocation status unknown (fail closed): cardap: revocation status unknown (list too old or unreadable) (card de400000000000000000000000000009): revocation: store closed", ptr(int64(90))},
		{"never synced", nil, &cardap.Error{Reason: cardap.ReasonRevocationUnknown, Identity: &cardap.Identity{CUID: demoCUID(9), RevocationListAge: neverSynced}}, Deny, "revocation-unknown", "no revocation list yet (fail closed)", ptr(int64(-1))},
		{"no list", &cardap.Identity{UserID: "U", RevocationListAge: -1}, nil, Open, "ok", "valid", nil},
		{"expired", nil, &cardap.Error{Reason: cardap.ReasonExpired, Identity: &cardap.Identity{Expires: now.AddDate(0, 0, -2), RevocationListAge: -1}}, Deny, "expired", "expired on 2030-03-30", nil},
		{"removed", nil, &cardap.Error{Reason: cardap.ReasonCardRemoved, Err: apdu.ErrCardRemoved}, Retry, "card-removed", "card removed during the read, tap again", nil},
		{"unknown", nil, &cardap.Error{Reason: cardap.ReasonUnknownCard}, Deny, "unknown-card", "unknown card: none of the gate's APs", nil},
		{"unproven", nil, &cardap.Error{Reason: cardap.ReasonUnproven, Identity: &cardap.Identity{AP: profile.TypeC, UserID: "U", RevocationListAge: -1}}, Deny, "unproven", "unproven card: Type C identifies, it does not authenticate", nil},
		{"retired key set", nil, &cardap.Error{Reason: cardap.ReasonKeySet, Err: &profile.KeySetError{Version: 1, Reason: profile.KeySetRetired}}, Deny, "key-set", "card-key set 1 retired on this gate: rekey the card or update the gate's keys", nil},
		{"key set, no detail", nil, &cardap.Error{Reason: cardap.ReasonKeySet}, Deny, "key-set", "card keys of a key set this gate does not accept (retired or not yet loaded): rekey the card or update the gate's keys", nil},
		{"not personalized", nil, &cardap.Error{Reason: cardap.ReasonNotPersonalized}, Deny, "not-personalized", "card not personalized", nil},
		{"malformed", nil, &cardap.Error{Reason: cardap.ReasonMalformed}, Deny, "malformed", "unreadable card data", nil},
		{"held exclusively elsewhere", nil, &cardap.Error{Reason: cardap.ReasonCardError, Err: reader.ErrSharingViolation}, Retry, "card-error", "card busy (used by another application), tap again", nil},
		{"interrupted", nil, &cardap.Error{Reason: cardap.ReasonCanceled, Err: context.Canceled}, Retry, "canceled", "read interrupted", nil},
		{"card error", nil, &cardap.Error{Reason: cardap.ReasonCardError, Err: errors.New("boom")}, Deny, "card-error", "card-error: cardap: card error: boom", nil},
		{"auth failed", nil, &cardap.Error{Reason: cardap.ReasonAuthFailed}, Deny, "auth-failed", "authentication failed: not a card of this operator's keys (or a forged one)", nil},
		{"password required", nil, &cardap.Error{Reason: cardap.ReasonPasswordRequired}, Deny, "password-required", "the card needs its password", nil},
		{"password wrong", nil, &cardap.Error{Reason: cardap.ReasonPasswordWrong}, Deny, "password-wrong", "wrong password", nil},
		{"password blocked", nil, &cardap.Error{Reason: cardap.ReasonPasswordBlocked}, Deny, "password-blocked", "password blocked (or one try left)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(cardap.Tap{Slot: "R", Time: now, Duration: 1500 * time.Microsecond, Identity: tt.ident, Err: tt.err})
			assert.Equal(t, tt.want, d.Outcome)
			assert.Equal(t, tt.reason, d.Reason)
			assert.Equal(t, tt.detail, d.Detail)
			assert.Equal(t, tt.ageSecs, d.RevocationListAge)
			assert.Equal(t, now, d.Time)
			assert.Equal(t, "R", d.Slot)
			assert.EqualValues(t, 1500, d.TookMicros)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestSplitArgs(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"/usr/bin/relay --open 1", []string{"/usr/bin/relay", "--open", "1"}, false},
		{"  a\t b \n", []string{"a", "b"}, false},
		{`'/opt/my door/open' "x y" z`, []string{"/opt/my door/open", "x y", "z"}, false},
		{`"say \"hi\" \\ now"`, []string{`say "hi" \ now`}, false},
		{`a\ b c`, []string{"a b", "c"}, false},
		{`''`, []string{""}, false},
		{`x"y z"w`, []string{"xy zw"}, false},
		{`$HOME; rm -rf /`, []string{"$HOME;", "rm", "-rf", "/"}, false},
		{"", nil, true},
		{"   ", nil, true},
		{"'open", nil, true},
		{`"open`, nil, true},
		{`"open\"`, nil, true},
		{`open\`, nil, true},
	} {
		got, err := splitArgs(tt.in)
		if tt.err {
			assert.ErrorIs(t, err, ErrArgs, "%q", tt.in)
			continue
		}
		require.NoError(t, err, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

// FuzzSplitArgs: any command line gives words or ErrArgs, never a panic,
// and words without quotes or escapes round-trip.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"a b", `'x y' "z"`, `"\"" \\`, "'", `"`, `\`, "\t\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := splitArgs(s)
		if err != nil {
			require.ErrorIs(t, err, ErrArgs)
			return
		}
		require.NotEmpty(t, args)
		if !strings.ContainsAny(s, `'"\`) {
			assert.Equal(t, strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }), args)
		}
	})
}
