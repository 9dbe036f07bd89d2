package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

// mockSlot is a reader of mockSource; card nil means empty.
type mockSlot struct {
	name string
	card *mockcard.Card
}

// mockSource is a cardSource of in-process mock cards.
type mockSource struct{ slots []mockSlot }

func (m *mockSource) Readers(context.Context) ([]readerInfo, error) {
	out := make([]readerInfo, len(m.slots))
	for i, s := range m.slots {
		out[i] = readerInfo{Name: s.name, State: "empty"}
		if s.card != nil && s.card.Present() {
			out[i] = readerInfo{Name: s.name, Present: true, ATR: fmt.Sprintf("%X", s.card.ATR()), State: "present"}
		}
	}
	return out, nil
}

func (m *mockSource) Connect(_ context.Context, name string) (card, error) {
	for _, s := range m.slots {
		if s.name == name {
			if s.card == nil || !s.card.Present() {
				return nil, fmt.Errorf("connect %q: %w", name, apdu.ErrCardRemoved)
			}
			return mockConn{s.card, name}, nil
		}
	}
	return nil, fmt.Errorf("no reader %q: %w", name, errNoCard)
}

func (m *mockSource) Close() error { return nil }

type mockConn struct {
	*mockcard.Card
	name string
}

func (c mockConn) Reader() string { return c.name }
func (c mockConn) Close() error   { return nil }

// runCLI runs cardap in-process on src.
func runCLI(t *testing.T, src cardSource, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx := context.Background()
	if src != nil {
		ctx = withSource(ctx, src)
	}
	defer asSeparateProcess()()
	code = run(ctx, &cli{stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

// asSeparateProcess makes an in-process run of the command behave, for
// the environment, as a process of its own started from the same shell:
// the command removes the variables it read passwords from (--*-env), and
// the returned function puts them back for the next run, as the next
// invocation from the shell would find them.
func asSeparateProcess() (restore func()) {
	before := os.Environ()
	return func() {
		for _, kv := range before {
			k, v, _ := strings.Cut(kv, "=")
			if _, ok := os.LookupEnv(k); !ok {
				os.Setenv(k, v)
			}
		}
	}
}

var testCUID = profile.CUID{0xAB, 0xCD, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}

func typeCCard(t *testing.T, userID string, opts ...mockcard.Option) *mockcard.Card {
	t.Helper()
	all := append([]mockcard.Option{mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: userID}, CUID: testCUID})}, opts...)
	c, err := mockcard.New(all...)
	require.NoError(t, err)
	return c
}

func TestReaders(t *testing.T) {
	src := &mockSource{slots: []mockSlot{{name: "Reader A"}, {name: "Reader B", card: typeCCard(t, "U1")}}}
	code, out, _ := runCLI(t, src, "readers")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "Reader A")
	assert.Contains(t, out, "no card")
	assert.Contains(t, out, "Reader B")
	assert.Contains(t, out, "card present, ATR "+fmt.Sprintf("%X", mockcard.DefaultATR()))

	code, out, _ = runCLI(t, src, "readers", "--json")
	assert.Equal(t, exitOK, code)
	var got struct{ Readers []readerInfo }
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got.Readers, 2)
	assert.False(t, got.Readers[0].Present)
	assert.True(t, got.Readers[1].Present)

	code, _, stderr := runCLI(t, &mockSource{}, "readers")
	assert.Equal(t, exitNoCard, code)
	assert.Contains(t, stderr, "no readers")
	code, out, _ = runCLI(t, &mockSource{}, "readers", "--json")
	assert.Equal(t, exitNoCard, code)
	assert.JSONEq(t, `{"error":"no card: no readers","code":"no_card","exit":3}`, out)
}

func TestProbe(t *testing.T) {
	card := typeCCard(t, "U1", mockcard.WithPreinstalledAPs())
	src := &mockSource{slots: []mockSlot{{name: "R", card: card}}}
	code, out, stderr := runCLI(t, src, "probe", "--json")
	require.Equal(t, exitOK, code, stderr)
	var got struct {
		Reader string
		APs    []probeResult `json:"aps"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, "R", got.Reader)
	present := map[string]bool{}
	for _, r := range got.APs {
		present[r.Name] = r.Present
	}
	want := map[string]bool{"Type A (record AP)": false, "Type C (common card AP)": true, "Type D (binary AP)": false}
	for _, p := range mockcard.PreinstalledAPs() {
		// The mock carries only the pre-installed APs it implements
		// (profile 2.1 §1.1): the others answer 6A82 as on a card
		// without them.
		want[p.Name] = p.Implemented()
	}
	assert.Equal(t, want, present)

	// Overrides and extra AIDs; human output.
	code, out, _ = runCLI(t, src, "probe", "--aid-c", "F0 01 02 03 04", "--aid", "F0 AA BB CC DD", "--aid", profile.DefaultAID(profile.TypeC).String())
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "reader R, ATR ")
	assert.Regexp(t, `Type C \(common card AP\)\s+F001020304\s+absent`, out)
	assert.Regexp(t, `configured AID 2\s+F0465245455350414345 ?43\s+present`, out)

	code, _, stderr = runCLI(t, src, "probe", "--aid", "zz")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "invalid AID")
}

func TestTypeCRead(t *testing.T) {
	card := typeCCard(t, "LIB-42")
	other := typeCCard(t, "OTHER")
	src := &mockSource{slots: []mockSlot{{name: "Empty"}, {name: "First", card: card}, {name: "Second", card: other}}}

	code, out, stderr := runCLI(t, src, "typec", "read")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "reader   First")
	assert.Contains(t, out, "user ID  LIB-42")
	assert.Contains(t, out, "CUID     "+testCUID.String())

	code, out, _ = runCLI(t, src, "typec", "read", "--reader", "Second", "--json")
	require.Equal(t, exitOK, code)
	var got typecJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, "OTHER", got.UserID)
	assert.Equal(t, "Second", got.Reader)
	assert.Equal(t, testCUID, got.CUID)
	assert.Equal(t, 3, got.APDUs)

	tests := []struct {
		name string
		src  cardSource
		args []string
		code int
		msg  string
	}{
		{"no AP", &mockSource{slots: []mockSlot{{name: "R", card: mockcard.MustNew()}}}, nil, exitFailure, "the card has no AP with this AID"},
		{"other AID", src, []string{"--aid", "F0 00 00 00 01"}, exitFailure, "set --aid"},
		{"empty reader", src, []string{"--reader", "Empty"}, exitNoCard, "card removed"},
		{"no card anywhere", &mockSource{slots: []mockSlot{{name: "R"}}}, nil, exitNoCard, "no card in any of 1 readers"},
		{"no readers", &mockSource{}, nil, exitNoCard, "no readers"},
		{"bad FID", src, []string{"--cuid-fid", "xyz"}, exitUsage, "not 1 to 4 hex digits"},
		{"same FIDs", src, []string{"--cuid-fid", "0002"}, exitFailure, "IdentityFID: 0002 is also CUIDFID"},
		{"stray argument", src, []string{"extra"}, exitUsage, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.src, append([]string{"typec", "read"}, tt.args...)...)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, stderr, tt.msg)
		})
	}

	unpers := mockcard.MustNew(mockcard.WithAP(mockcard.APSpec{Name: "Type C", AID: profile.DefaultAID(profile.TypeC), Lifecycle: mockcard.Operational, EFs: []mockcard.EFSpec{
		{FID: 1, Kind: mockcard.Transparent, MaxSize: 16, Data: testCUID[:]},
		{FID: 2, Kind: mockcard.Transparent, MaxSize: 256},
	}}))
	code, out, _ = runCLI(t, &mockSource{slots: []mockSlot{{name: "R", card: unpers}}}, "typec", "read", "--json")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, out, `"error":"typec: the AP is not personalized`)
	assert.Contains(t, out, `"exit":1`)

	require.NoError(t, card.Inject(mockcard.RemoveBefore(2)))
	code, _, stderr = runCLI(t, src, "typec", "read", "--reader", "First")
	assert.Equal(t, exitNoCard, code)
	assert.Contains(t, stderr, "card removed")
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"typec"}, {"typec", "write"}, {"mock"}, {"mock", "run"}, {"readers", "--nope"}, {"nope"}} {
		code, _, _ := runCLI(t, &mockSource{}, args...)
		assert.Equal(t, exitUsage, code, "%q", args)
	}
	for _, args := range [][]string{{"typec", "--help"}, {"mock", "help"}, {"probe", "-h"}, {"help"}} {
		code, _, _ := runCLI(t, &mockSource{}, args...)
		assert.Equal(t, exitOK, code, "%q", args)
	}
}

func TestTrace(t *testing.T) {
	src := &mockSource{slots: []mockSlot{{name: "R", card: typeCCard(t, "U1")}}}
	code, _, stderr := runCLI(t, src, "typec", "read", "--trace")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, 3, strings.Count(stderr, "msg=apdu"), stderr)
	assert.Contains(t, stderr, "cmd=00B0810010")
	assert.Contains(t, stderr, "sw=9000")
}

func TestTypeCReadAddressingFlags(t *testing.T) {
	card := typeCCard(t, "LIB-42")
	src := &mockSource{slots: []mockSlot{{name: "R", card: card}}}
	tests := []struct {
		args  []string
		code  int
		apdus int
	}{
		{[]string{"--select-by-fid"}, exitOK, 5},
		{[]string{"--cuid-sfi", "1", "--identity-sfi", "2"}, exitOK, 3},
		{[]string{"--identity-sfi", "9"}, exitOK, 5}, // no EF has SFI 9 (6A82): SELECT EF + READ BINARY for that EF
		{[]string{"--cuid-sfi", "31"}, exitUsage, 0},
		{[]string{"--identity-sfi", "x"}, exitUsage, 0},
	}
	for _, tt := range tests {
		code, out, stderr := runCLI(t, src, append([]string{"typec", "read", "--json"}, tt.args...)...)
		require.Equal(t, tt.code, code, "%v: %s", tt.args, stderr)
		if tt.code != exitOK {
			continue
		}
		var got typecJSON
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		assert.Equal(t, "LIB-42", got.UserID)
		assert.Equal(t, tt.apdus, got.APDUs, "%v", tt.args)
	}
}
