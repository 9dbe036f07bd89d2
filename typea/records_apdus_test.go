package typea_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// TestWriteRecordsAPDUs: records of a linear file are numbered 1..n
// without gaps, so once UPDATE RECORD finds no record i (6A83) none after
// it exists either: the rest are appended without trying UPDATE first,
// and no record is left to free (issue 11, APDUs per flow).
func TestWriteRecordsAPDUs(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	three := profile.Identity{UserID: "U-1", Attributes: []profile.Attribute{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}}
	one := profile.Identity{UserID: "U-2"}
	card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{Keys: mockcard.APKeys{Masters: st}, Unsealed: true}))
	rec, ins := recorder(card)
	a, err := typea.OpenUnauthenticated(ctx, rec, typea.Config{Keys: st})
	require.NoError(t, err)
	require.NoError(t, a.Authenticate(ctx, a.Config().AdminKey))

	*ins = nil
	require.NoError(t, a.WriteIdentity(ctx, three))
	assert.Equal(t, []apdu.Ins{apdu.InsUpdateRecord, apdu.InsAppendRecord, apdu.InsAppendRecord, apdu.InsAppendRecord}, *ins, "fresh AP")
	got, err := a.ReadAll(ctx)
	require.NoError(t, err)
	assert.Equal(t, three, got)

	// Fewer records over more: rewritten in place, the rest freed.
	*ins = nil
	require.NoError(t, a.WriteIdentity(ctx, one))
	assert.Equal(t, []apdu.Ins{apdu.InsUpdateRecord, apdu.InsUpdateRecord, apdu.InsUpdateRecord, apdu.InsUpdateRecord}, *ins, "record 1, records 2 and 3 freed, no record 4")
	got, err = a.ReadAll(ctx)
	require.NoError(t, err)
	assert.Equal(t, one, got)

	// More records over fewer: 1 to 3 updated in place, none appended.
	*ins = nil
	require.NoError(t, a.WriteIdentity(ctx, three))
	assert.Equal(t, []apdu.Ins{apdu.InsUpdateRecord, apdu.InsUpdateRecord, apdu.InsUpdateRecord, apdu.InsUpdateRecord}, *ins, "records 1 to 3, no record 4")
	got, err = a.ReadAll(ctx)
	require.NoError(t, err)
	assert.Equal(t, three, got)
}
