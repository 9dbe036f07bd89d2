package typec_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typec"
)

// TestConfigErrorsNameTheField: every misconfiguration is an error from
// Validate, Open and Read before any APDU, wrapping ErrConfig, naming the
// field, with the package prefix once (issue 14 §3).
func TestConfigErrorsNameTheField(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		cfg   typec.Config
		field string
	}{
		{"bad AID", typec.Config{AID: profile.AID{0x01}}, "AID: "},
		{"reserved CUID FID", typec.Config{CUIDFID: 0x3F00}, "CUIDFID: "},
		{"reserved identity FID", typec.Config{IdentityFID: 0xFFFF}, "IdentityFID: "},
		{"same FIDs", typec.Config{CUIDFID: 0x0002}, "IdentityFID: "},
		{"CUID SFI", typec.Config{CUIDSFI: 31}, "CUIDSFI: "},
		{"identity SFI", typec.Config{IdentitySFI: 31}, "IdentitySFI: "},
		{"same SFIs", typec.Config{IdentitySFI: 1}, "IdentitySFI: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := mockcard.MustNew(mockcard.WithTypeC(profile.Identity{UserID: "U"}))
			_, openErr := typec.Open(ctx, card, tt.cfg)
			_, readErr := typec.Read(ctx, card, tt.cfg)
			for _, err := range []error{tt.cfg.Validate(), openErr, readErr} {
				require.ErrorIs(t, err, typec.ErrConfig)
				assert.Contains(t, err.Error(), "typec: invalid configuration: "+tt.field)
				assert.Equal(t, 1, strings.Count(err.Error(), "typec:"), err.Error())
			}
			assert.Zero(t, card.Stats().APDUs, "nothing sent")
		})
	}
	require.NoError(t, typec.Config{}.Validate())
}

// TestCardConditionsAreProfiles: typec reports the card's conditions with
// profile's canonical sentinels, prefixed once.
func TestCardConditionsAreProfiles(t *testing.T) {
	ctx := context.Background()
	_, err := typec.Open(ctx, mockcard.MustNew(), typec.Config{})
	assert.ErrorIs(t, err, profile.ErrNotPresent)
	assert.Equal(t, 1, strings.Count(err.Error(), "typec:"), err.Error())

	card := mockcard.MustNew(mockcard.WithTypeCConfig(mockcard.TypeC{Unsealed: true}))
	_, err = typec.Read(ctx, card, typec.Config{})
	assert.ErrorIs(t, err, profile.ErrNotPersonalized)
}
