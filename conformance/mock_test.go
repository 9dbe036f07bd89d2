package conformance_test

import (
	"context"
	"testing"

	"github.com/mynacard/freespace/internal/testsupport/conformancetest"

	"github.com/mynacard/freespace/conformance"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testPassword = conformancetest.Password

// TestReadOnlyByDefault: without Destructive the runner spends no try and
// writes nothing; it skips what would.
func TestReadOnlyByDefault(t *testing.T) {
	st := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "U1"},
		Keys: mockcard.APKeys{Masters: st}, Password: &mockcard.APPassword{Value: profile.Password(testPassword)}}))
	before, err := card.MarshalState()
	require.NoError(t, err)
	rep, err := conformance.Run(context.Background(), card, conformance.Options{Type: profile.TypeA, Keys: st})
	require.NoError(t, err)
	assert.Zero(t, rep.Fail)
	assert.Positive(t, rep.Skip)
	for _, r := range rep.Results {
		if r.Requirement.Destructive {
			assert.Equal(t, conformance.Skip, r.Outcome, r.Requirement.ID)
		}
	}
	after, err := card.MarshalState()
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "no persistent state changed: no try spent, nothing written")
	pw, _ := card.PINTriesLeft(profile.DefaultAID(profile.TypeA), mockcard.PasswordRefAP)
	assert.Equal(t, 3, pw)
}

// TestDestructiveNeedsTestCard: a card without the test-card marker is
// refused for a destructive run unless the operator confirmed it.
func TestDestructiveNeedsTestCard(t *testing.T) {
	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U1"}), mockcard.WithTestMarker(false))
	_, err := conformance.Run(context.Background(), card, conformance.Options{Type: profile.TypeC, Destructive: true})
	require.ErrorIs(t, err, conformance.ErrNotTestCard)
	rep, err := conformance.Run(context.Background(), card, conformance.Options{Type: profile.TypeC, Destructive: true, NotTestCardConfirmed: true})
	require.NoError(t, err)
	assert.False(t, rep.TestCard)
	assert.Zero(t, rep.Fail)
}

// TestNoAP: a card without the AP is an error, not a report.
func TestNoAP(t *testing.T) {
	card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U1"}))
	_, err := conformance.Run(context.Background(), card, conformance.Options{Type: profile.TypeA})
	require.ErrorIs(t, err, conformance.ErrNoAP)
}

// TestWithoutKeys: without the operator's keys every requirement that
// needs a session is skipped, and the rest pass.
func TestWithoutKeys(t *testing.T) {
	for _, mc := range conformancetest.MockConfigs() {
		card := mockcard.MustNew(mc.Option())
		rep, err := conformance.Run(context.Background(), card, conformance.Options{Type: mc.Type, Destructive: true})
		require.NoError(t, err)
		for _, r := range rep.Results {
			assert.NotEqual(t, conformance.Fail, r.Outcome, "%s %s: %s", mc.Name, r.Requirement.ID, r.Reason)
			if r.Requirement.NeedsKeys() {
				assert.Equal(t, conformance.Skip, r.Outcome, "%s %s", mc.Name, r.Requirement.ID)
			}
		}
	}
}

// TestKeySetVersions: the keys are taken at the version the FCI announces
// (a card of key set 2), and a card that announces none at
// Options.KeyVersion, by default 1 (§5.3).
func TestKeySetVersions(t *testing.T) {
	st := keystest.Store(1)
	keystest.AddCardKeySet(st, 2)
	for _, tc := range []struct {
		keys mockcard.APKeys
		opt  int
	}{
		{mockcard.APKeys{Masters: st, KeySet: 2}, 0},
		{mockcard.APKeys{Masters: st, KeySet: 1, Silent: true}, 0},
		{mockcard.APKeys{Masters: st, KeySet: 2, Silent: true}, 2},
	} {
		card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Identity: profile.Identity{UserID: "U1"}, Keys: tc.keys}))
		rep, err := conformance.Run(context.Background(), card, conformance.Options{Type: profile.TypeA, Keys: st, KeyVersion: tc.opt})
		require.NoError(t, err)
		assert.Zero(t, rep.Fail, "%+v", tc)
		for _, r := range rep.Results {
			assert.NotEqual(t, conformance.Fail, r.Outcome, "%s: %s", r.Requirement.ID, r.Reason)
		}
	}
}
