package typec_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typec"
)

var testCUID = profile.CUID{0xC0, 0xFF, 0xEE, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}

// typeCSpec is the Type C AP of docs/PROTOCOL.md §2.1 (short EF
// identifiers 1 and 2) with the given EF.Identity content, built from
// mockcard's generic file system so that any bytes (also malformed ones)
// can be put on the card.
func typeCSpec(identityEF []byte) mockcard.APSpec {
	ro := mockcard.Access{Read: mockcard.Always(), Update: mockcard.Never(), Append: mockcard.Never()}
	return mockcard.APSpec{
		Name:      "Type C",
		AID:       profile.DefaultAID(profile.TypeC),
		Lifecycle: mockcard.Operational,
		EFs: []mockcard.EFSpec{
			{FID: profile.FIDCUID, SFI: profile.SFICUID, Kind: mockcard.Transparent, MaxSize: profile.CUIDLen, Data: testCUID[:], Personalization: ro, Operational: ro},
			{FID: profile.FIDIdentity, SFI: profile.SFIIdentity, Kind: mockcard.Transparent, MaxSize: 1024, Data: identityEF, Personalization: ro, Operational: ro},
		},
	}
}

// withoutSFI is spec with no short EF identifiers: a card whose EFs can
// only be selected by file identifier (READ BINARY by SFI answers 6A82).
func withoutSFI(spec mockcard.APSpec) mockcard.APSpec {
	spec.EFs = append([]mockcard.EFSpec(nil), spec.EFs...)
	for i := range spec.EFs {
		spec.EFs[i].SFI = 0
	}
	return spec
}

func encode(t testing.TB, id profile.Identity, pad int, b byte) []byte {
	t.Helper()
	enc, err := id.MarshalBinary()
	require.NoError(t, err)
	return append(enc, bytes.Repeat([]byte{b}, pad)...)
}

func TestReadOnMockCard(t *testing.T) {
	valid := profile.Identity{UserID: "LIB-000123", Expires: time.Date(2031, 3, 31, 0, 0, 0, 0, time.UTC), Attributes: []profile.Attribute{{Name: "branch", Value: "中央"}}}
	long := profile.Identity{UserID: "L", Attributes: []profile.Attribute{{Name: "a", Value: strings.Repeat("x", 255)}, {Name: "b", Value: strings.Repeat("y", 255)}}}
	tests := []struct {
		name   string
		opts   []mockcard.Option
		ef     []byte
		noAP   bool
		noSFI  bool
		cfg    typec.Config
		faults []mockcard.Fault
		want   profile.Identity
		apdus  int
		errIs  []error
	}{
		{name: "valid", ef: encode(t, valid, 100, 0xFF), want: valid, apdus: 3},
		{name: "valid, zero padding", ef: encode(t, valid, 3, 0x00), want: valid, apdus: 3},
		{name: "valid, SelectByFID", ef: encode(t, valid, 100, 0xFF), cfg: typec.Config{SelectByFID: true}, want: valid, apdus: 5},
		{name: "valid, EFs without SFIs", ef: encode(t, valid, 100, 0xFF), noSFI: true, want: valid, apdus: 7},
		{name: "valid, EFs without SFIs, SelectByFID", ef: encode(t, valid, 100, 0xFF), noSFI: true, cfg: typec.Config{SelectByFID: true}, want: valid, apdus: 5},
		{name: "long identity", ef: encode(t, long, 0, 0), want: long, apdus: 5},
		{name: "long identity, EFs without SFIs", ef: encode(t, long, 0, 0), noSFI: true, want: long, apdus: 9},
		{name: "AP not present", noAP: true, errIs: []error{profile.ErrNotPresent}, apdus: 1},
		{name: "not personalized (empty EF)", ef: nil, errIs: []error{profile.ErrNotPersonalized}, apdus: 3},
		{name: "not personalized (empty EF), EFs without SFIs", ef: nil, noSFI: true, errIs: []error{profile.ErrNotPersonalized}, apdus: 7},
		{name: "not personalized (erased)", ef: []byte(strings.Repeat("\xFF", 300)), errIs: []error{profile.ErrNotPersonalized}, apdus: 3},
		{name: "malformed identity", ef: []byte{0x70, 0x04, 0x80, 0x02, 0x55, 0x07}, errIs: []error{profile.ErrMalformed, profile.ErrInvalidIdentity}, apdus: 3},
		{name: "identity runs past the EF", ef: []byte{0x70, 0x82, 0x01, 0x00, 0x80, 0x01, 0x55}, errIs: []error{profile.ErrMalformed, profile.ErrInvalidIdentity}, apdus: 4},
		{name: "removed before the first APDU", ef: encode(t, valid, 0, 0), faults: []mockcard.Fault{mockcard.RemoveBefore(1)}, errIs: []error{apdu.ErrCardRemoved}, apdus: 1},
		{name: "removed mid-read", ef: encode(t, valid, 0, 0), faults: []mockcard.Fault{mockcard.RemoveAfter(2)}, errIs: []error{apdu.ErrCardRemoved}, apdus: 2},
		{name: "removed before the identity read", ef: encode(t, valid, 0, 0), faults: []mockcard.Fault{mockcard.RemoveBefore(3)}, errIs: []error{apdu.ErrCardRemoved}, apdus: 3},
		{name: "removed during the fallback", ef: encode(t, valid, 0, 0), noSFI: true, faults: []mockcard.Fault{mockcard.RemoveBefore(3)}, errIs: []error{apdu.ErrCardRemoved}, apdus: 3},
		{name: "61xx on the CUID read", ef: encode(t, valid, 0, 0), faults: []mockcard.Fault{mockcard.Force61(2)}, want: valid, apdus: 4},
		{name: "61xx everywhere", ef: encode(t, valid, 0, 0), opts: []mockcard.Option{mockcard.WithGetResponse(0)}, want: valid, apdus: 5},
		{name: "61xx in small parts", ef: encode(t, long, 0, 0), opts: []mockcard.Option{mockcard.WithGetResponse(64)}, want: long, apdus: 5 + 2},
		{name: "6Cxx on the identity read", ef: encode(t, valid, 0, 0), faults: []mockcard.Fault{mockcard.Force6C(3)}, want: valid, apdus: 4},
		{name: "short read of the CUID", ef: encode(t, valid, 0, 0), faults: []mockcard.Fault{mockcard.Truncate(2, 8)}, errIs: []error{profile.ErrMalformed, profile.ErrInvalidCUID}, apdus: 2},
		{name: "short read of a long identity", ef: encode(t, long, 0, 0), faults: []mockcard.Fault{mockcard.Truncate(3, 100)}, want: long, apdus: 5},
		{name: "short extended-less card", ef: encode(t, long, 0, 0), opts: []mockcard.Option{mockcard.WithExtendedLength(false)}, want: long, apdus: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if !tt.noAP {
				spec := typeCSpec(tt.ef)
				if tt.noSFI {
					spec = withoutSFI(spec)
				}
				opts = append(opts, mockcard.WithAP(spec))
			}
			card := mockcard.MustNew(opts...)
			if tt.faults != nil {
				require.NoError(t, card.Inject(tt.faults...))
			}
			res, err := typec.Read(context.Background(), card, tt.cfg)
			assert.Equal(t, tt.apdus, res.APDUs, "APDUs sent")
			if tt.faults == nil {
				assert.Equal(t, card.Stats().APDUs, res.APDUs, "APDUs the card saw")
			}
			if tt.errIs != nil {
				require.Error(t, err)
				for _, e := range tt.errIs {
					assert.ErrorIs(t, err, e)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.Identity)
			assert.Equal(t, testCUID, res.CUID)
		})
	}
}

// TestReadOnBuiltInTypeC reads the Type C AP of mockcard.WithTypeC, the
// profile's card (short EF identifiers 1 and 2), in three APDUs.
func TestReadOnBuiltInTypeC(t *testing.T) {
	id := profile.Identity{UserID: "U1", Attributes: []profile.Attribute{{Name: "n", Value: "v"}}}
	card := mockcard.MustNew(mockcard.WithTypeC(id))
	res, err := typec.Read(context.Background(), card, typec.Config{})
	require.NoError(t, err)
	assert.Equal(t, id, res.Identity)
	assert.False(t, res.CUID.IsZero())
	assert.Equal(t, 3, res.APDUs)
	assert.Equal(t, 3, card.Stats().APDUs)
}

func TestHandleOnMockCard(t *testing.T) {
	id := profile.Identity{UserID: "U1"}
	card := mockcard.MustNew(mockcard.WithAP(typeCSpec(encode(t, id, 10, 0xFF))))
	ctx := context.Background()
	ap, err := typec.Open(ctx, card, typec.Config{})
	require.NoError(t, err)
	c, err := ap.CUID(ctx)
	require.NoError(t, err)
	assert.Equal(t, testCUID, c)
	// A reset between two operations loses the selection; the handle
	// selects the AP again.
	card.Reset()
	got, err := ap.ReadIdentity(ctx)
	require.NoError(t, err)
	assert.Equal(t, id, got)

	card.Remove()
	_, err = ap.ReadIdentity(ctx)
	assert.ErrorIs(t, err, apdu.ErrCardRemoved)
	card.Insert()
	got, err = ap.ReadIdentity(ctx)
	require.NoError(t, err, "works again after reinsertion")
	assert.Equal(t, id, got)
}
