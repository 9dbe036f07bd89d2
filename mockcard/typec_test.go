package mockcard

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The byte sequence of docs/PROTOCOL.md §1.2 and §1.3: select the Type C
// AP, read EF 0001 (CUID) and EF 0002 (Identity).
func TestTypeCReadFlow(t *testing.T) {
	cuid, err := profile.ParseCUID("00112233445566778899aabbccddeeff")
	require.NoError(t, err)
	c := MustNew(WithTypeCConfig(TypeC{Identity: profile.Identity{UserID: "U1"}, CUID: cuid}))
	aid := strings.ToUpper(hex.EncodeToString(profile.DefaultAID(profile.TypeC)))
	assert.Equal(t, "9000", tx(t, c, "00A4040C0B"+aid))
	assert.Equal(t, "9000", tx(t, c, "00A4020C020001"))
	assert.Equal(t, "00112233445566778899AABBCCDDEEFF9000", tx(t, c, "00B0000010"))
	assert.Equal(t, "9000", tx(t, c, "00A4020C020002"))
	assert.Equal(t, "7004800255319000", tx(t, c, "00B0000000"), "docs/PROTOCOL.md §1.3 example")
	got, err := c.CUID(profile.DefaultAID(profile.TypeC))
	require.NoError(t, err)
	assert.Equal(t, cuid, got)

	// Sealed by default: CUID and Identity cannot be written.
	assert.Equal(t, "6982", tx(t, c, "00D6000001AA"))
	tx(t, c, "00A4020C020001")
	assert.Equal(t, "6982", tx(t, c, "00D6000001AA"))
}

func TestTypeCRandomCUIDAndUnsealed(t *testing.T) {
	r := bytes.NewReader(bytes.Repeat([]byte{0x42}, 64))
	c, err := New(WithRand(r), WithTypeCConfig(TypeC{Identity: profile.Identity{UserID: "U2"}, Unsealed: true}))
	require.NoError(t, err)
	aid := profile.DefaultAID(profile.TypeC)
	cuid, err := c.CUID(aid)
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("42", 16), cuid.String())

	life, _ := c.Lifecycle(aid)
	assert.Equal(t, Personalization, life)
	tx(t, c, "00A4040C0B"+strings.ToUpper(hex.EncodeToString(aid)))
	tx(t, c, "00A4020C020002")
	assert.Equal(t, "9000", tx(t, c, "00D6000006700480025533"), "personalization: identity writable")
	assert.Equal(t, "9000", tx(t, c, "00440000"), "anyone may seal a Type C AP")
	assert.Equal(t, "6982", tx(t, c, "00D6000006700480025534"))
	id, err := c.ReadEF(aid, profile.FIDIdentity)
	require.NoError(t, err)
	parsed, err := profile.ParseIdentity(id)
	require.NoError(t, err)
	assert.Equal(t, "U3", parsed.UserID)
}

func TestTypeCUpdateKey(t *testing.T) {
	enc, mac := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	c := MustNew(WithTypeCConfig(TypeC{Identity: profile.Identity{UserID: "U1"},
		UpdateKey: &KeySpec{Suite: "AES-128", Enc: mustKey(enc), Mac: mustKey(mac)}}))
	aid := profile.DefaultAID(profile.TypeC)
	ctx := context.Background()
	tx(t, c, "00A4040C0B"+strings.ToUpper(hex.EncodeToString(aid)))
	s, err := secure.MutualAuthenticate(ctx, c, secure.Config{Suite: secure.AES128, KEnc: enc, KMac: mac, KeyRef: DefaultTypeCKeyRef})
	require.NoError(t, err)
	id, _ := profile.Identity{UserID: "U9"}.MarshalBinary()
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, ctx, apdu.Command{INS: apdu.InsSelect, P1: 2, P2: 0x0C, Data: []byte{0, 2}}))
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, ctx, apdu.Command{INS: apdu.InsUpdateBinary, Data: id}))
	got, _ := c.ReadEF(aid, profile.FIDIdentity)
	assert.Equal(t, id, got)
}

func TestTypeCInvalid(t *testing.T) {
	_, err := NewTypeC(profile.Identity{})
	assert.ErrorIs(t, err, ErrConfig)
	_, err = NewTypeC(profile.Identity{UserID: "U1"}, WithRand(bytes.NewReader(nil)))
	assert.Error(t, err, "no randomness for the CUID")
	_, err = New(WithTypeC(profile.Identity{UserID: "U1"}), WithTypeC(profile.Identity{UserID: "U2"}))
	assert.ErrorIs(t, err, ErrConfig, "same AID twice")
}
