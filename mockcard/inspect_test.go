package mockcard

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mynacard/freespace/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInspection(t *testing.T) {
	c := MustNew()
	require.NoError(t, c.AddAP(testSpec()))
	assert.ErrorIs(t, c.AddAP(testSpec()), ErrConfig)

	require.NoError(t, c.WriteRecords(testAID, 0x0102, [][]byte{{1}, {2, 3}}))
	recs, err := c.ReadRecords(testAID, 0x0102)
	require.NoError(t, err)
	assert.Equal(t, [][]byte{{1}, {2, 3}}, recs)
	tx(t, c, selTest)
	tx(t, c, "002000810431323334")
	assert.Equal(t, "02039000", tx(t, c, "00B2021400"))

	assert.ErrorIs(t, c.WriteRecords(testAID, 0x0102, make([][]byte, 4)), ErrConfig)
	assert.ErrorIs(t, c.WriteRecords(testAID, 0x0102, [][]byte{{}}), ErrConfig)
	assert.ErrorIs(t, c.WriteEF(testAID, 0x0101, make([]byte, 65)), ErrConfig)
	_, err = c.ReadEF(testAID, 0x0102)
	assert.ErrorIs(t, err, ErrNotFound, "records EF read as transparent")
	_, err = c.ReadRecords(otherAID, 0x0102)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = c.PINTriesLeft(testAID, 0x99)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = c.KeyTriesLeft(otherAID, 0x01)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = c.Lifecycle(otherAID)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = c.CUID(testAID)
	assert.ErrorIs(t, err, ErrNotFound)
	tc := MustNew(WithTypeC(profile.Identity{UserID: "U1"}))
	require.NoError(t, tc.WriteEF(profile.DefaultAID(profile.TypeC), profile.FIDCUID, []byte{1, 2}))
	_, err = tc.CUID(profile.DefaultAID(profile.TypeC))
	assert.ErrorIs(t, err, profile.ErrInvalidCUID, "a corrupt card for host-side tests")
}

func TestSaveErrors(t *testing.T) {
	c := newTestCard(t)
	err := c.Save(filepath.Join(t.TempDir(), "missing-dir", "card.json"))
	assert.Error(t, err)
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o700))
	_, err = Load(dir)
	assert.Error(t, err, "a directory is not a state file")
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "no temporary file left behind")
}

func TestStringers(t *testing.T) {
	assert.Equal(t, "[redacted]", fmt.Sprintf("%#v", profile.Password("k")))
	assert.Equal(t, "lifecycle(9)", Lifecycle(9).String())
	assert.Equal(t, "efkind(9)", EFKind(9).String())
	assert.Equal(t, "transparent", Transparent.String())
	for k := FaultRemoveBefore; k <= FaultTruncate+1; k++ {
		assert.NotEmpty(t, k.String())
	}
	_, err := Lifecycle(9).MarshalText()
	assert.ErrorIs(t, err, ErrConfig)
	_, err = EFKind(9).MarshalText()
	assert.ErrorIs(t, err, ErrConfig)
	e := Exchange{Command: []byte{0}}
	assert.Zero(t, e.SW())
	assert.Zero(t, e.INS())
}
