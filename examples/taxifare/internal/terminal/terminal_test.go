package terminal

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/examples/taxifare/internal/card"
	"github.com/mynacard/freespace/examples/taxifare/internal/fare"
	"github.com/mynacard/freespace/examples/taxifare/internal/wire"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

func testCUID(b byte) profile.CUID {
	var c profile.CUID
	for i := range c {
		c[i] = b ^ byte(0x5A+i)
	}
	return c
}

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func openTestStore(t *testing.T) *Store {
	t.Helper()
	st, err := OpenStore(context.Background(), filepath.Join(t.TempDir(), "terminal.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// operatorKeys are the test operator's master keys.
var operatorKeys = keystest.Store(0)

// testClient reads Type A cards with operatorKeys; its expiry check runs
// on the fixtures' first day (2026-11-20 10:00 in UTC+9).
func testClient(t testing.TB) *cardap.Client {
	t.Helper()
	c, err := card.NewClient(operatorKeys, func() time.Time { return time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC) })
	require.NoError(t, err)
	return c
}

// mockCard returns an Identifier reading the mock card's Type A AP (loaded
// with operatorKeys) after mutual authentication.
func mockCard(t *testing.T, userID string, c profile.CUID, expires time.Time) (card.Identifier, *mockcard.Card) {
	t.Helper()
	id := profile.Identity{UserID: userID, Expires: expires}
	mc, err := mockcard.New(mockcard.WithTypeA(mockcard.TypeA{Identity: id, CUID: c, Keys: mockcard.APKeys{Masters: operatorKeys}}))
	require.NoError(t, err)
	return card.Cardap{Client: testClient(t), Transport: mc}, mc
}

// typeCClone returns an Identifier reading a Type C card that carries
// userID and CUID c: what anyone makes of a keyless read of a card.
func typeCClone(t *testing.T, userID string, c profile.CUID) card.Identifier {
	t.Helper()
	mc, err := mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: userID}, CUID: c}))
	require.NoError(t, err)
	return card.TypeC{Transport: mc}
}

var quiet = slog.New(slog.DiscardHandler)

// regUser is one user of a test registry.
type regUser struct {
	id        string
	pin       *profile.CUID
	day, year int // rides on other terminals
}

// testRegistry builds a registry as the server sends it: keyed hashes of
// the users under a salt.
func testRegistry(asOf time.Time, day string, year int, users ...regUser) *wire.Registry {
	salt := make([]byte, wire.SaltBytes)
	salt[0] = 0x5A
	reg := &wire.Registry{AsOf: asOf, Day: day, Year: year, Salt: salt, Users: []wire.RegisteredUser{}}
	for _, u := range users {
		ru := wire.RegisteredUser{Key: wire.UserKey(salt, u.id), RidesDay: u.day, RidesYear: u.year}
		if u.pin != nil {
			ru.Pin = wire.PinKey(salt, u.id, *u.pin)
		}
		reg.Users = append(reg.Users, ru)
	}
	return reg
}

type failingRevocation struct{}

func (failingRevocation) CheckCUID(context.Context, profile.CUID) (cardap.RevocationStatus, error) {
	return cardap.RevocationStatus{}, errors.New("revocation store unreadable")
}

type fixture struct {
	t     *Terminal
	st    *Store
	slot  *card.Slot
	clk   *clock
	rev   *RevocationList
	rules fare.Rules
}

func newFixture(t *testing.T, reg *wire.Registry) *fixture {
	t.Helper()
	// 2026-11-20 10:00 in UTC+9.
	clk := &clock{t: time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)}
	f := &fixture{st: openTestStore(t), slot: &card.Slot{}, clk: clk, rules: fare.Default()}
	f.rev = NewRevocationList(clk.t.Add(-time.Hour), clk.Now, testCUID(3))
	if reg == nil {
		pin := testCUID(1)
		reg = testRegistry(clk.t, "2026-11-20", 2026, regUser{id: "U1", pin: &pin},
			regUser{id: "U2"}, regUser{id: "U3"}, regUser{id: "U4"}, regUser{id: "U5"}, regUser{id: "U6"})
	}
	require.NoError(t, f.st.ReplaceRegistry(context.Background(), reg))
	var err error
	f.t, err = New(Config{CompanyID: "kita-kotsu", VehicleID: "car-12", Rules: f.rules, Store: f.st,
		Card: f.slot, Revocation: f.rev, MaxRevocationAge: 48 * time.Hour, Now: clk.Now, Log: quiet})
	require.NoError(t, err)
	return f
}

// tap inserts a card, taps and removes it.
func (f *fixture) tap(t *testing.T, r *Ride, c card.Identifier) Decision {
	t.Helper()
	f.slot.Insert(c)
	defer f.slot.Remove()
	d, err := r.Tap(context.Background())
	require.NoError(t, err)
	return d
}

func TestTapDecisions(t *testing.T) {
	f := newFixture(t, nil)
	nextYear := time.Date(2027, 11, 20, 0, 0, 0, 0, time.UTC)
	u1, _ := mockCard(t, "U1", testCUID(1), nextYear)
	u1Other, _ := mockCard(t, "U1", testCUID(9), nextYear)
	u2, _ := mockCard(t, "U2", testCUID(2), time.Time{})
	revoked, _ := mockCard(t, "U3", testCUID(3), time.Time{})
	expired, _ := mockCard(t, "U4", testCUID(4), time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC))
	expiresToday, _ := mockCard(t, "U4", testCUID(4), time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	unknown, _ := mockCard(t, "U9", testCUID(8), time.Time{})
	pulled, pulledCard := mockCard(t, "U2", testCUID(2), time.Time{})
	require.NoError(t, pulledCard.Inject(mockcard.RemoveBefore(3)))
	noAP, err := mockcard.New()
	require.NoError(t, err)

	r := f.t.StartRide()
	cases := []struct {
		name string
		card card.Identifier
		want Reason
		is   error
	}{
		{"registered, pinned card", u1, Accepted, nil},
		{"same user again", u1, AlreadyInRide, nil},
		{"pinned to another card", u1Other, CardMismatch, nil},
		{"revoked", revoked, Revoked, nil},
		{"expired yesterday", expired, Expired, nil},
		{"not registered", unknown, NotRegistered, nil},
		{"pulled away mid-read", pulled, CardUnreadable, nil},
		{"no Type A AP", card.Cardap{Client: testClient(t), Transport: noAP}, CardUnreadable, cardap.ErrUnknownCard},
		{"a Type C clone of U2's card", typeCClone(t, "U2", testCUID(2)), Unproven, nil},
		{"no card", nil, CardUnreadable, card.ErrNoCard},
		{"expires today: still valid", expiresToday, Accepted, nil},
		{"registered, unpinned", u2, Accepted, nil},
	}
	for _, tc := range cases {
		var d Decision
		if tc.card == nil {
			var err error
			d, err = r.Tap(context.Background())
			require.NoError(t, err)
		} else {
			d = f.tap(t, r, tc.card)
		}
		assert.Equal(t, tc.want, d.Reason, tc.name+": "+d.String())
		if tc.is != nil {
			assert.ErrorIs(t, d.Err, tc.is, tc.name)
		}
	}
	assert.Equal(t, []string{"U1", "U4", "U2"}, r.Riders())

	// Ride full at 4 registered riders.
	u5, _ := mockCard(t, "U5", testCUID(5), time.Time{})
	u6, _ := mockCard(t, "U6", testCUID(6), time.Time{})
	assert.Equal(t, Accepted, f.tap(t, r, u5).Reason)
	assert.Equal(t, RideFull, f.tap(t, r, u6).Reason)

	trip, err := r.Finish(context.Background(), 4100)
	require.NoError(t, err)
	assert.Equal(t, int64(2000), trip.SubsidyYen) // half is 2050, 4 × 500 = 2000
	assert.Equal(t, int64(2100), trip.PaidYen)
	require.NoError(t, trip.Validate())
	stored, err := f.st.Trips(context.Background())
	require.NoError(t, err)
	require.Len(t, stored, 1)
	assert.Equal(t, trip.TripID, stored[0].TripID)
	assert.Equal(t, trip.Riders, stored[0].Riders)
}

// TestFinishSurvivesCancellation: the meter has stopped, then the
// terminal is interrupted (Ctrl-C, shutdown). The trip is still committed
// and pending upload: a cancelled context never drops a ride that happened.
func TestFinishSurvivesCancellation(t *testing.T) {
	f := newFixture(t, nil)
	u2, _ := mockCard(t, "U2", testCUID(2), time.Time{})
	r := f.t.StartRide()
	require.Equal(t, Accepted, f.tap(t, r, u2).Reason)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	trip, err := r.Finish(ctx, 1800)
	require.NoError(t, err)
	stored, err := f.st.Trips(context.Background())
	require.NoError(t, err)
	require.Len(t, stored, 1)
	assert.Equal(t, trip.TripID, stored[0].TripID)
	c, err := f.st.Counts(context.Background())
	require.NoError(t, err)
	assert.Equal(t, Counts{Pending: 1}, c)
}

func TestRevocationFailsClosed(t *testing.T) {
	f := newFixture(t, nil)
	u2, _ := mockCard(t, "U2", testCUID(2), time.Time{})
	// A list older than the limit.
	f.clk.t = f.clk.t.Add(72 * time.Hour)
	d := f.tap(t, f.t.StartRide(), u2)
	assert.Equal(t, RevocationUnavailable, d.Reason)
	// An unreadable list.
	f.t.cfg.Revocation = failingRevocation{}
	d = f.tap(t, f.t.StartRide(), u2)
	assert.Equal(t, RevocationUnavailable, d.Reason)
	assert.Error(t, d.Err)
}

func rideOnce(t *testing.T, f *fixture, c card.Identifier) Decision {
	t.Helper()
	r := f.t.StartRide()
	d := f.tap(t, r, c)
	if d.Accepted() {
		_, err := r.Finish(context.Background(), 1000)
		require.NoError(t, err)
	} else {
		_, err := r.Finish(context.Background(), 1000)
		require.ErrorIs(t, err, ErrNoRiders)
	}
	return d
}

func TestDailyAndYearlyLimits(t *testing.T) {
	// The server counts one ride today and 142 this year for U2 on other
	// terminals.
	reg := testRegistry(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), "2026-11-20", 2026, regUser{id: "U2", day: 1, year: 142})
	f := newFixture(t, reg)
	u2, _ := mockCard(t, "U2", testCUID(2), time.Time{})
	assert.Equal(t, Accepted, rideOnce(t, f, u2).Reason)   // day 2, year 143
	assert.Equal(t, DailyLimit, rideOnce(t, f, u2).Reason) // day would be 3
	// Next day (10:00 UTC+9): the server's day count no longer applies.
	f.clk.t = f.clk.t.Add(24 * time.Hour)
	assert.Equal(t, Accepted, rideOnce(t, f, u2).Reason)    // year 144
	assert.Equal(t, YearlyLimit, rideOnce(t, f, u2).Reason) // year would be 145
	// A new fiscal year (April in UTC+9) resets both.
	f.clk.t = time.Date(2027, 4, 1, 1, 0, 0, 0, time.UTC)
	f.rev = NewRevocationList(f.clk.t, f.clk.Now)
	f.t.cfg.Revocation = f.rev
	assert.Equal(t, Accepted, rideOnce(t, f, u2).Reason)
	onDay, inYear, err := f.st.LocalRides(context.Background(), "U2", "2027-04-01", 2027)
	require.NoError(t, err)
	assert.Equal(t, 1, onDay)
	assert.Equal(t, 1, inYear)
}

func TestNewRefusesBadConfig(t *testing.T) {
	st := openTestStore(t)
	good := Config{CompanyID: "c", VehicleID: "v", Rules: fare.Default(), Store: st, Card: &card.Slot{}, Revocation: NewRevocationList(time.Now(), nil)}
	_, err := New(good)
	require.NoError(t, err)
	for _, mutate := range []func(*Config){
		func(c *Config) { c.CompanyID = "" },
		func(c *Config) { c.VehicleID = "a b" },
		func(c *Config) { c.Revocation = nil },
		func(c *Config) { c.Card = nil },
		func(c *Config) { c.Rules = fare.Rules{} },
	} {
		c := good
		mutate(&c)
		_, err := New(c)
		assert.Error(t, err)
	}
}

// TestRevocationStore: the demo's revocation store, through
// cardap.RevocationStore, at the terminal.
func TestRevocationStore(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	rs, err := revocation.Open(t.TempDir(), revocation.Options{Now: clk.Now, Logger: quiet})
	require.NoError(t, err)
	defer rs.Close()
	chk := cardap.RevocationStore(rs)
	// Never synced: fail closed.
	_, err = chk.CheckCUID(ctx, testCUID(2))
	assert.ErrorIs(t, err, revocation.ErrStale)
	require.NoError(t, rs.Apply(ctx, &revocation.Update{Full: true, Seq: 1, AsOf: now.Add(-time.Hour),
		Add: []revocation.Record{{Key: revocation.CUIDKey(testCUID(3)), RevokedAt: now.Add(-2 * time.Hour).Unix(), Reason: revocation.ReasonLost}}}))
	st, err := chk.CheckCUID(ctx, testCUID(3))
	require.NoError(t, err)
	assert.True(t, st.Revoked)
	assert.Equal(t, time.Hour, st.Age)
	st, err = chk.CheckCUID(ctx, testCUID(2))
	require.NoError(t, err)
	assert.False(t, st.Revoked)
	// A local stop takes effect at once.
	require.NoError(t, rs.Stop(ctx, revocation.CUIDKey(testCUID(2)), revocation.StopOptions{Reason: revocation.ReasonStolen, By: "desk-1", Why: "reported at the counter"}))
	st, err = chk.CheckCUID(ctx, testCUID(2))
	require.NoError(t, err)
	assert.True(t, st.Revoked)
	// Through a terminal: a list past the store's policy refuses the ride.
	f := newFixture(t, nil)
	f.t.cfg.Revocation = chk
	clk.t = now.Add(72 * time.Hour)
	f.clk.t = clk.t
	u5, _ := mockCard(t, "U5", testCUID(5), time.Time{})
	d := f.tap(t, f.t.StartRide(), u5)
	assert.Equal(t, RevocationUnavailable, d.Reason)
	assert.ErrorIs(t, d.Err, revocation.ErrStale)
}

func benchCard(b *testing.B, userID string) (*mockcard.Card, card.Identifier) {
	b.Helper()
	id := profile.Identity{UserID: userID}
	mc, err := mockcard.New(mockcard.WithTypeA(mockcard.TypeA{Identity: id, CUID: testCUID(7), Keys: mockcard.APKeys{Masters: operatorKeys}}))
	if err != nil {
		b.Fatal(err)
	}
	return mc, card.Cardap{Client: testClient(b), Transport: mc}
}
