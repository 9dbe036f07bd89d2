package cardap_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// TestIdentifyExpiryIsACalendarDate: an identity is valid through the
// whole day of its expiry date in the clock's time zone, not until the
// UTC midnight after it. A terminal in Japan at 08:00 JST on the day after
// the expiry date (still 23:00 UTC on the expiry date) refuses the card.
func TestIdentifyExpiryIsACalendarDate(t *testing.T) {
	jst := time.FixedZone("JST", 9*60*60)
	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-1", Expires: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)}))
	tests := []struct {
		name  string
		now   time.Time
		grace time.Duration
		want  error
	}{
		{"last day, morning JST", time.Date(2026, 11, 29, 0, 30, 0, 0, jst), 0, nil},
		{"last day, late evening JST", time.Date(2026, 11, 29, 23, 59, 0, 0, jst), 0, nil},
		{"next day 08:00 JST (23:00 UTC on the expiry date)", time.Date(2026, 11, 30, 8, 0, 0, 0, jst), 0, cardap.ErrExpired},
		{"next day 00:00 JST", time.Date(2026, 11, 30, 0, 0, 0, 0, jst), 0, cardap.ErrExpired},
		{"next day within a day's grace", time.Date(2026, 11, 30, 8, 0, 0, 0, jst), 24 * time.Hour, nil},
		{"two days later beyond a day's grace", time.Date(2026, 12, 1, 0, 0, 0, 0, jst), 24 * time.Hour, cardap.ErrExpired},
		{"UTC clock, last day", time.Date(2026, 11, 29, 23, 59, 0, 0, time.UTC), 0, nil},
		{"UTC clock, next day", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), 0, cardap.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, nil, func(c *cardap.Config) {
				c.NoRevocation = true
				c.Now = func() time.Time { return tt.now }
				c.ExpiryGrace = tt.grace
			})
			id, err := c.Identify(context.Background(), card)
			if tt.want == nil {
				require.NoError(t, err)
				assert.Equal(t, "U-1", id.UserID)
				return
			}
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), "expired on 2026-11-29")
		})
	}
}

// revokedWithError is a checker that knows the card is revoked but also
// reports a problem (a stale list, a journal it could not read).
type revokedWithError struct{ err error }

func (r revokedWithError) CheckCUID(context.Context, profile.CUID) (cardap.RevocationStatus, error) {
	return cardap.RevocationStatus{Revoked: true, Reason: revocation.ReasonStolen, Source: revocation.OriginDelivered, Age: time.Hour}, r.err
}

// TestIdentifyRevokedEvenWithCheckerError: a checker that says revoked is
// believed even when it also returns an error: the refusal's reason is
// ReasonRevoked (never weakened to revocation-unknown), and the checker's
// error stays reachable.
func TestIdentifyRevokedEvenWithCheckerError(t *testing.T) {
	problem := errors.New("list older than policy")
	c := newClient(t, revokedWithError{problem}, nil)
	_, err := c.Identify(context.Background(), mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U-1"})))
	require.ErrorIs(t, err, cardap.ErrRevoked)
	assert.Equal(t, cardap.ReasonRevoked, cardap.ReasonOf(err))
	assert.ErrorIs(t, err, problem)
	assert.Contains(t, err.Error(), "stolen")
	var e *cardap.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, time.Hour, e.Identity.RevocationListAge)
}

// noCUIDAP is an operator's own AP that reports an identity but no CUID.
type noCUIDAP struct{}

func (noCUIDAP) Type() profile.APType { return profile.TypeC }
func (noCUIDAP) Read(context.Context, apdu.Transport) (cardap.Identity, error) {
	return cardap.Identity{AP: profile.TypeC, UserID: "U-NOCUID"}, nil
}

// everythingRevoked is a list on which every card is revoked.
type everythingRevoked struct{}

func (everythingRevoked) CheckCUID(context.Context, profile.CUID) (cardap.RevocationStatus, error) {
	return cardap.RevocationStatus{Revoked: true, Reason: revocation.ReasonLost, Source: revocation.OriginDelivered}, nil
}

// TestIdentifyRefusesNoCUIDWithRevocation: the revocation list is keyed by
// CUID; a card whose AP reports none cannot be checked, so with a list
// configured it is refused (fail closed), never checked as the all-zero
// CUID. Without a list it is accepted.
func TestIdentifyRefusesNoCUIDWithRevocation(t *testing.T) {
	for _, rev := range []cardap.RevocationChecker{&fakeRevocation{}, everythingRevoked{}} {
		c := newClient(t, rev, func(c *cardap.Config) { c.APs = []cardap.AP{noCUIDAP{}} })
		_, err := c.Identify(context.Background(), mockcard.MustNew())
		require.Error(t, err)
		assert.Equal(t, cardap.ReasonRevocationUnknown, cardap.ReasonOf(err), "%v", err)
		assert.Contains(t, err.Error(), "no CUID")
	}
	c := newClient(t, nil, func(c *cardap.Config) { c.APs = []cardap.AP{noCUIDAP{}}; c.NoRevocation = true })
	id, err := c.Identify(context.Background(), mockcard.MustNew())
	require.NoError(t, err)
	assert.Equal(t, "U-NOCUID", id.UserID)
}
