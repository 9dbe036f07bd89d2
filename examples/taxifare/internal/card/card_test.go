package card

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
)

func TestSlotWithMockCard(t *testing.T) {
	ctx := context.Background()
	var c profile.CUID
	c[0], c[15] = 0xAB, 0xCD
	mc, err := mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: "U-1"}, CUID: c}))
	require.NoError(t, err)
	var s Slot
	_, err = s.Identify(ctx)
	assert.ErrorIs(t, err, ErrNoCard)

	s.Insert(TypeC{Transport: mc})
	got, err := s.Identify(ctx)
	require.NoError(t, err)
	assert.Equal(t, c, got.CUID)
	assert.Equal(t, "U-1", got.Identity.UserID)

	mc.Remove()
	_, err = s.Identify(ctx)
	assert.ErrorIs(t, err, apdu.ErrCardRemoved)

	empty, err := mockcard.New()
	require.NoError(t, err)
	s.Insert(TypeC{Transport: empty})
	_, err = s.Identify(ctx)
	assert.ErrorIs(t, err, profile.ErrNotPresent)

	s.Insert(Fixed{CUID: c, Identity: profile.Identity{UserID: "U-2"}})
	got, err = s.Identify(ctx)
	require.NoError(t, err)
	assert.Equal(t, "U-2", got.Identity.UserID)

	s.Remove()
	_, err = s.Identify(ctx)
	assert.ErrorIs(t, err, ErrNoCard)
}

func TestCardapAdapter(t *testing.T) {
	ctx := context.Background()
	var c profile.CUID
	c[3] = 0x42
	mc, err := mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: "U-7"}, CUID: c}))
	require.NoError(t, err)
	client, err := cardap.New(cardap.Config{APs: []cardap.AP{cardap.TypeC(cardap.TypeCConfig{})}, AllowUnproven: true, NoRevocation: true})
	require.NoError(t, err)
	got, err := Cardap{Client: client, Transport: mc}.Identify(ctx)
	require.NoError(t, err)
	assert.Equal(t, c, got.CUID)
	assert.Equal(t, "U-7", got.Identity.UserID)

	empty, err := mockcard.New()
	require.NoError(t, err)
	_, err = Cardap{Client: client, Transport: empty}.Identify(ctx)
	assert.ErrorIs(t, err, cardap.ErrUnknownCard)
}
