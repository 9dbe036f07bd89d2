package card

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys/keystest"
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
	masters := keystest.Store(0)
	id := profile.Identity{UserID: "U-7"}
	mc, err := mockcard.New(mockcard.WithTypeA(mockcard.TypeA{Identity: id, CUID: c, Keys: mockcard.APKeys{Masters: masters}}))
	require.NoError(t, err)
	client, err := NewClient(masters, nil)
	require.NoError(t, err)
	got, err := Cardap{Client: client, Transport: mc}.Identify(ctx)
	require.NoError(t, err)
	assert.Equal(t, c, got.CUID)
	assert.Equal(t, "U-7", got.Identity.UserID)
	assert.True(t, got.Proof.Proven())
	assert.Equal(t, cardap.ProofMutualAuth, got.Proof.Method)

	// A card loaded with another operator's keys fails the authentication.
	other, err := mockcard.New(mockcard.WithTypeA(mockcard.TypeA{Identity: id, CUID: c, Keys: mockcard.APKeys{Masters: keystest.StoreTDES()}}))
	require.NoError(t, err)
	_, err = Cardap{Client: client, Transport: other}.Identify(ctx)
	assert.Error(t, err)
	// A Type C clone is not read at all.
	clone, err := mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: id, CUID: c}))
	require.NoError(t, err)
	_, err = Cardap{Client: client, Transport: clone}.Identify(ctx)
	assert.ErrorIs(t, err, cardap.ErrUnknownCard)
	_, err = NewClient(nil, nil)
	assert.ErrorIs(t, err, cardap.ErrConfig)
}
