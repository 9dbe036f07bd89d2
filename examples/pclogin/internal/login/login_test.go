package login

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/examples/pclogin/internal/config"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/typea"
)

var quiet = slog.New(slog.DiscardHandler)

func testCUID(b byte) profile.CUID {
	var c profile.CUID
	for i := range c {
		c[i] = b ^ byte(0x30+i)
	}
	return c
}

// operatorKeys are the test operator's master keys.
var operatorKeys = keystest.Store(0)

// saveCard writes a mock card carrying a Type A AP, loaded with keys
// diversified from operatorKeys, to path (inserting it).
func saveCard(t testing.TB, path, userID string, c profile.CUID, expires time.Time) {
	t.Helper()
	id := profile.Identity{UserID: userID, Expires: expires}
	mc, err := mockcard.New(mockcard.WithTypeA(mockcard.TypeA{Identity: id, CUID: c, Keys: mockcard.APKeys{Masters: operatorKeys}}))
	require.NoError(t, err)
	require.NoError(t, mc.Save(path))
}

// saveTypeC writes a mock card carrying only a Type C AP: what anyone
// makes from a keyless read of a card (same user ID, same CUID).
func saveTypeC(t testing.TB, path, userID string, c profile.CUID) {
	t.Helper()
	mc, err := mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: userID}, CUID: c}))
	require.NoError(t, err)
	require.NoError(t, mc.Save(path))
}

// testClient reads Type A with operatorKeys, and Type C when allowTypeC.
func testClient(t testing.TB, allowTypeC bool) *cardap.Client {
	t.Helper()
	c, err := NewClient(ClientConfig{Keys: operatorKeys, AllowTypeC: allowTypeC})
	require.NoError(t, err)
	return c
}

func testConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`{"accounts":[
		{"user_id":"U-0001","account":"alice","cuid":"` + testCUID(1).String() + `"},
		{"user_id":"U-0002","account":"bob"},
		{"user_id":"U-0003","account":"carol"},
		{"user_id":"U-0004","account":"dave"}]}`))
	require.NoError(t, err)
	return cfg
}

type brokenRevocation struct{}

func (brokenRevocation) CheckCUID(context.Context, profile.CUID) (cardap.RevocationStatus, error) {
	return cardap.RevocationStatus{}, errors.New("store unreadable")
}

func TestAuthorize(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	rs, err := revocation.Open(filepath.Join(dir, "rev"), revocation.Options{Now: func() time.Time { return now }, Logger: quiet})
	require.NoError(t, err)
	defer rs.Close()
	require.NoError(t, rs.Apply(ctx, &revocation.Update{Full: true, Seq: 1, AsOf: now.Add(-time.Hour),
		Add: []revocation.Record{{Key: revocation.CUIDKey(testCUID(3)), RevokedAt: now.Add(-2 * time.Hour).Unix(), Reason: revocation.ReasonStolen}}}))
	rev := cardap.RevocationStore(rs)
	cfg := testConfig(t)

	state := filepath.Join(dir, "card.json")
	id := MockState{Path: state, Client: testClient(t, false)}
	cases := []struct {
		name    string
		user    string
		cuid    profile.CUID
		expires time.Time
		account string
		rev     cardap.RevocationChecker
		want    Reason
	}{
		{"mapped, pinned card", "U-0001", testCUID(1), time.Time{}, "alice", rev, Allowed},
		{"mapped, unpinned", "U-0002", testCUID(2), now.AddDate(1, 0, 0), "bob", rev, Allowed},
		{"without a revocation check", "U-0002", testCUID(2), time.Time{}, "bob", nil, Allowed},
		{"another account", "U-0002", testCUID(2), time.Time{}, "alice", rev, WrongAccount},
		{"pinned to another card", "U-0001", testCUID(9), time.Time{}, "alice", rev, CardMismatch},
		{"not mapped", "U-0099", testCUID(5), time.Time{}, "alice", rev, NotMapped},
		{"revoked", "U-0003", testCUID(3), time.Time{}, "carol", rev, Revoked},
		{"expired", "U-0004", testCUID(4), time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC), "dave", rev, Expired},
		{"revocation unknown", "U-0004", testCUID(4), time.Time{}, "dave", brokenRevocation{}, RevocationUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			saveCard(t, state, tc.user, tc.cuid, tc.expires)
			res := Authorize(ctx, id, cfg, Policy{Revocation: tc.rev}, tc.account, now)
			assert.Equal(t, tc.want, res.Reason, "%v", res.Err)
			assert.Equal(t, tc.want == Allowed, res.Allowed())
		})
	}

	require.NoError(t, os.Remove(state))
	assert.Equal(t, NoCard, Authorize(ctx, id, cfg, Policy{Revocation: rev}, "alice", now).Reason)

	// A card without the Type A AP.
	empty, err := mockcard.New()
	require.NoError(t, err)
	require.NoError(t, empty.Save(state))
	res := Authorize(ctx, id, cfg, Policy{Revocation: rev}, "alice", now)
	assert.Equal(t, CardUnreadable, res.Reason)
	assert.ErrorIs(t, res.Err, cardap.ErrUnknownCard)

	// A state file others may read is refused by the mock card.
	saveCard(t, state, "U-0001", testCUID(1), time.Time{})
	require.NoError(t, os.Chmod(state, 0o644))
	res = Authorize(ctx, id, cfg, Policy{Revocation: rev}, "alice", now)
	assert.Equal(t, CardUnreadable, res.Reason)
	assert.ErrorIs(t, res.Err, mockcard.ErrInsecureStateFile)

	// A never-synced revocation store fails closed.
	rs2, err := revocation.Open(filepath.Join(dir, "rev2"), revocation.Options{Logger: quiet})
	require.NoError(t, err)
	defer rs2.Close()
	require.NoError(t, os.Chmod(state, 0o600))
	res = Authorize(ctx, id, cfg, Policy{Revocation: cardap.RevocationStore(rs2)}, "alice", now)
	assert.Equal(t, RevocationUnavailable, res.Reason)
	assert.ErrorIs(t, res.Err, revocation.ErrStale)
}

// unreachableReader fails like a reader that cannot be reached.
type unreachableReader struct{ err error }

func (u unreachableReader) Identify(context.Context) (Card, error) {
	return Card{}, readerUnavailable("connecting", u.err)
}

func TestAuthorizeReaderUnavailable(t *testing.T) {
	cfg := testConfig(t)
	for _, cause := range []error{reader.ErrNoService, reader.ErrNoReader, reader.ErrNoCgo} {
		res := Authorize(context.Background(), unreachableReader{cause}, cfg, Policy{}, "alice", time.Now())
		assert.Equal(t, ReaderUnavailable, res.Reason, "%v", cause)
		assert.ErrorIs(t, res.Err, ErrReaderUnavailable)
		assert.ErrorIs(t, res.Err, cause)
	}
	// Any other reader failure is about the card.
	res := Authorize(context.Background(), unreachableReader{reader.ErrSharingViolation}, cfg, Policy{}, "alice", time.Now())
	assert.Equal(t, CardUnreadable, res.Reason)
	assert.NotErrorIs(t, res.Err, ErrReaderUnavailable)
}

func TestReasonStrings(t *testing.T) {
	for r := Allowed; r <= Unproven; r++ {
		assert.NotContains(t, r.String(), "reason(")
	}
	assert.Equal(t, "reason(99)", Reason(99).String())
}

func TestWatcherLocksWhenTheCardLeaves(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "card.json")
	events := make(chan Event, 16)
	var locks int
	var mu sync.Mutex
	w := &Watcher{
		Card:     MockState{Path: state, Client: testClient(t, false)},
		Interval: 5 * time.Millisecond,
		Lock: func(context.Context) error {
			mu.Lock()
			locks++
			mu.Unlock()
			return nil
		},
		Accept:  func(c Card) bool { return c.Identity.UserID != "U-0099" },
		OnEvent: func(e Event, _ Card) { events <- e },
		Log:     quiet,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	next := func() Event {
		select {
		case e := <-events:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
			return -1
		}
	}

	saveCard(t, state, "U-0001", testCUID(1), time.Time{})
	assert.Equal(t, CardArrived, next())
	require.NoError(t, os.Remove(state))
	assert.Equal(t, CardLeft, next())
	// Another card arms it again; swapping it for a third card locks.
	saveCard(t, state, "U-0002", testCUID(2), time.Time{})
	assert.Equal(t, CardArrived, next())
	saveCard(t, state, "U-0003", testCUID(3), time.Time{})
	assert.Equal(t, CardLeft, next())
	assert.Equal(t, CardArrived, next(), "the new card arms the watcher")
	// A card not accepted does not arm it.
	saveCard(t, state, "U-0099", testCUID(7), time.Time{})
	assert.Equal(t, CardLeft, next())
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	select {
	case e := <-events:
		t.Fatalf("unexpected event %v", e)
	default:
	}
	mu.Lock()
	assert.Equal(t, 3, locks)
	mu.Unlock()
}

func TestWatcherReportsLockFailure(t *testing.T) {
	state := filepath.Join(t.TempDir(), "card.json")
	saveCard(t, state, "U-0001", testCUID(1), time.Time{})
	ch := make(chan Event, 8)
	w := &Watcher{Card: MockState{Path: state, Client: testClient(t, false)}, Interval: 5 * time.Millisecond,
		Lock: CommandLock([]string{"/nonexistent/lock"}, time.Second), OnEvent: func(e Event, _ Card) { ch <- e }, Log: quiet}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Run(ctx) }()
	assert.Equal(t, CardArrived, <-ch)
	require.NoError(t, os.Remove(state))
	assert.Equal(t, LockFailed, <-ch)
	assert.Equal(t, CardLeft, <-ch)
}

func TestCommandLock(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "locked")
	lock := CommandLock([]string{"/bin/sh", "-c", `echo locked > "$0"`, marker}, 5*time.Second)
	require.NoError(t, lock(context.Background()))
	b, err := os.ReadFile(marker)
	require.NoError(t, err)
	assert.Equal(t, "locked\n", string(b))
	assert.Error(t, CommandLock([]string{"/bin/false"}, time.Second)(context.Background()))
	assert.Error(t, CommandLock(nil, time.Second)(context.Background()))
}

func TestCardapAdapter(t *testing.T) {
	ctx := context.Background()
	id := profile.Identity{UserID: "U-0002"}
	mc, err := mockcard.New(mockcard.WithTypeA(mockcard.TypeA{Identity: id, CUID: testCUID(2), Keys: mockcard.APKeys{Masters: operatorKeys}}))
	require.NoError(t, err)
	client := testClient(t, false)
	res := Authorize(ctx, Cardap{Client: client, Transport: mc}, testConfig(t), Policy{}, "bob", time.Now())
	assert.Equal(t, Allowed, res.Reason, "%v", res.Err)
	assert.Equal(t, cardap.ProofMutualAuth, res.Card.Proof.Method)
	empty, err := mockcard.New()
	require.NoError(t, err)
	res = Authorize(ctx, Cardap{Client: client, Transport: empty}, testConfig(t), Policy{}, "bob", time.Now())
	assert.Equal(t, CardUnreadable, res.Reason)
	assert.ErrorIs(t, res.Err, cardap.ErrUnknownCard)
	_, err = NewClient(ClientConfig{})
	assert.ErrorIs(t, err, cardap.ErrConfig, "no AP to read")
}

// TestTypeCCloneRefused: a Type C card made from a keyless read of alice's
// card (same user ID, same CUID, so the mapping's CUID pin does not stop
// it) is refused by default; only a client and policy that allow unproven
// cards accept it.
func TestTypeCCloneRefused(t *testing.T) {
	ctx := context.Background()
	state := filepath.Join(t.TempDir(), "card.json")
	cfg := testConfig(t)
	now := time.Now()
	saveCard(t, state, "U-0001", testCUID(1), time.Time{})
	res := Authorize(ctx, MockState{Path: state, Client: testClient(t, false)}, cfg, Policy{}, "alice", now)
	require.Equal(t, Allowed, res.Reason, "%v", res.Err)
	assert.True(t, res.Card.Proof.Proven())

	saveTypeC(t, state, "U-0001", testCUID(1))
	res = Authorize(ctx, MockState{Path: state, Client: testClient(t, false)}, cfg, Policy{}, "alice", now)
	assert.Equal(t, CardUnreadable, res.Reason, "a client without Type C does not read it")
	assert.ErrorIs(t, res.Err, cardap.ErrUnknownCard)
	// A client that reads Type C, under a policy that requires a proof.
	res = Authorize(ctx, MockState{Path: state, Client: testClient(t, true)}, cfg, Policy{}, "alice", now)
	assert.Equal(t, Unproven, res.Reason)
	// A client that requires a proof but reads Type C refuses it itself.
	strict, err := cardap.New(cardap.Config{APs: []cardap.AP{cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: operatorKeys, Password: profile.PasswordNone}}),
		cardap.TypeC(cardap.TypeCConfig{})}, NoRevocation: true})
	require.NoError(t, err)
	res = Authorize(ctx, MockState{Path: state, Client: strict}, cfg, Policy{AllowUnproven: true}, "alice", now)
	assert.Equal(t, Unproven, res.Reason)
	assert.ErrorIs(t, res.Err, cardap.ErrUnproven)
	// Only with both: accepted, and the result says it proved nothing.
	res = Authorize(ctx, MockState{Path: state, Client: testClient(t, true)}, cfg, Policy{AllowUnproven: true}, "alice", now)
	assert.Equal(t, Allowed, res.Reason, "%v", res.Err)
	assert.False(t, res.Card.Proof.Proven())
	assert.Equal(t, profile.TypeC, res.Card.Proof.AP)
}
