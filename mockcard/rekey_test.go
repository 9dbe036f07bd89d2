package mockcard

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/secure"
)

var (
	newKey1Enc = bytes.Repeat([]byte{0xA1}, 16)
	newKey1Mac = bytes.Repeat([]byte{0xA2}, 16)
	newKey2Enc = bytes.Repeat([]byte{0xB1}, 16)
	newKey2Mac = bytes.Repeat([]byte{0xB2}, 16)
)

// keyTemplate is A0 { 83 01 ref 80 L enc 81 L mac }.
func keyTemplate(ref byte, enc, mac []byte) []byte {
	body := append([]byte{0x83, 0x01, ref, 0x80, byte(len(enc))}, enc...)
	body = append(append(body, 0x81, byte(len(mac))), mac...)
	return append([]byte{0xA0, byte(len(body))}, body...)
}

// stagedData is the value of PUT DATA C3 for the test AP's keys 01, 02.
func stagedData(v byte, tmpl ...[]byte) []byte {
	out := []byte{0xC1, 0x01, v}
	for _, t := range tmpl {
		out = append(out, t...)
	}
	return out
}

func putData(tag byte, data []byte) apdu.Command {
	return apdu.Command{CLA: 0x00, INS: apdu.InsPutData, P1: 0x00, P2: tag, Data: data}
}

// TestRekeyCommands: PUT DATA C3 stages, PUT DATA C1 commits; both need
// secure messaging with the administrative key; the card checks the
// staged set whole; the commit swaps every key at once, announces the
// version and ends the session.
func TestRekeyCommands(t *testing.T) {
	ctx := context.Background()
	good := stagedData(2, keyTemplate(0x01, newKey1Enc, newKey1Mac), keyTemplate(0x02, newKey2Enc, newKey2Mac))

	c := newTestCard(t)
	// Plain, and under the non-administrative key: 6982.
	require.Equal(t, "9000", tx(t, c, selTest))
	assert.Equal(t, "6982", sw(tx(t, c, "00DA00C3"+encodeHex([]byte{byte(len(good))})+encodeHex(good))))
	s := authenticate(t, c, 0x01, testKey1Enc, testKey1Mac)
	assert.Equal(t, apdu.ErrSecurityStatusNotSatisfied, smSW(t, s, ctx, putData(0xC3, good)))

	s = authenticate(t, c, 0x02, testKey2Enc, testKey2Mac)
	for name, bad := range map[string][]byte{
		"version not newer":  stagedData(1, keyTemplate(0x01, newKey1Enc, newKey1Mac), keyTemplate(0x02, newKey2Enc, newKey2Mac)),
		"a key missing":      stagedData(2, keyTemplate(0x01, newKey1Enc, newKey1Mac)),
		"an unknown key":     stagedData(2, keyTemplate(0x01, newKey1Enc, newKey1Mac), keyTemplate(0x02, newKey2Enc, newKey2Mac), keyTemplate(0x03, newKey2Enc, newKey2Mac)),
		"a key twice":        stagedData(2, keyTemplate(0x01, newKey1Enc, newKey1Mac), keyTemplate(0x01, newKey1Enc, newKey1Mac)),
		"a short key":        stagedData(2, keyTemplate(0x01, newKey1Enc[:8], newKey1Mac), keyTemplate(0x02, newKey2Enc, newKey2Mac)),
		"no version":         stagedData(2, keyTemplate(0x01, newKey1Enc, newKey1Mac), keyTemplate(0x02, newKey2Enc, newKey2Mac))[3:],
		"an unknown object":  append(bytes.Clone(good), 0xC4, 0x00),
		"a broken TLV":       append(bytes.Clone(good), 0xA0, 0x05),
		"key reference 00":   stagedData(2, keyTemplate(0x00, newKey1Enc, newKey1Mac), keyTemplate(0x02, newKey2Enc, newKey2Mac)),
		"version 0":          stagedData(0, keyTemplate(0x01, newKey1Enc, newKey1Mac), keyTemplate(0x02, newKey2Enc, newKey2Mac)),
		"a template without": append(stagedData(2, keyTemplate(0x02, newKey2Enc, newKey2Mac)), 0xA0, 0x03, 0x83, 0x01, 0x01),
	} {
		assert.Equal(t, apdu.ErrIncorrectDataField, smSW(t, s, ctx, putData(0xC3, bad)), name)
	}
	_, staged, err := c.KeySet(testAID)
	require.NoError(t, err)
	assert.Zero(t, staged, "nothing refused was staged")
	// Other tags, commit without a staged set, wrong commit length.
	assert.Equal(t, apdu.ErrReferencedDataNotFound, smSW(t, s, ctx, putData(0xC2, []byte{2})))
	assert.Equal(t, apdu.ErrReferencedDataNotFound, smSW(t, s, ctx, apdu.Command{CLA: 0x00, INS: apdu.InsPutData, P1: 0x01, P2: 0xC1, Data: []byte{2}}))
	assert.Equal(t, apdu.ErrReferencedDataNotFound, smSW(t, s, ctx, putData(0xC1, []byte{2})))

	// Stage: nothing changes but the shadow; the old keys still work.
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, ctx, putData(0xC3, good)))
	active, staged, err := c.KeySet(testAID)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 2}, []int{active, staged})
	assert.Equal(t, apdu.ErrWrongLength, smSW(t, s, ctx, putData(0xC1, []byte{2, 2})))
	assert.Equal(t, apdu.ErrReferencedDataNotFound, smSW(t, s, ctx, putData(0xC1, []byte{3})), "not the staged version")

	// Commit: answered under the session, which then ends.
	assert.Equal(t, apdu.SWSuccess, smSW(t, s, ctx, putData(0xC1, []byte{2})))
	raw, err := apdu.Command{CLA: 0x00, INS: apdu.InsReadBinary, P1: 0x83, Ne: 1}.Bytes()
	require.NoError(t, err)
	_, err = s.Transmit(ctx, raw)
	assert.ErrorIs(t, err, secure.ErrSessionClosed, "the session ended with the commit")
	active, staged, err = c.KeySet(testAID)
	require.NoError(t, err)
	assert.Equal(t, []int{2, 0}, []int{active, staged})

	// The FCI announces 2; old keys fail, new ones work.
	assert.Contains(t, tx(t, c, "00A4040006F0010203040500"), "A509C10102C20454455354")
	_, err = secure.MutualAuthenticate(ctx, c, secure.Config{Suite: secure.AES128, KEnc: testKey1Enc, KMac: testKey1Mac, KeyRef: 0x01})
	assert.ErrorIs(t, err, secure.ErrTerminalRejected)
	authenticate(t, c, 0x01, newKey1Enc, newKey1Mac)
	authenticate(t, c, 0x02, newKey2Enc, newKey2Mac)
}

// TestStagedSetSurvivesSaveAndReset: the shadow is persistent state:
// kept by Reset, removal, Clone and the state file, and a commit after a
// reload swaps the keys.
func TestStagedSetSurvivesSaveAndReset(t *testing.T) {
	ctx := context.Background()
	c := newTestCard(t)
	s := authenticate(t, c, 0x02, testKey2Enc, testKey2Mac)
	require.Equal(t, apdu.SWSuccess, smSW(t, s, ctx, putData(0xC3, stagedData(5, keyTemplate(0x01, newKey1Enc, newKey1Mac), keyTemplate(0x02, newKey2Enc, newKey2Mac)))))
	c.Remove()
	c.Insert()
	d, err := c.Clone()
	require.NoError(t, err)
	active, staged, err := d.KeySet(testAID)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 5}, []int{active, staged})
	// Still the old keys until the commit.
	s = authenticate(t, d, 0x02, testKey2Enc, testKey2Mac)
	require.Equal(t, apdu.SWSuccess, smSW(t, s, ctx, putData(0xC1, []byte{5})))
	authenticate(t, d, 0x01, newKey1Enc, newKey1Mac)
	e, err := d.Clone()
	require.NoError(t, err)
	active, staged, err = e.KeySet(testAID)
	require.NoError(t, err)
	assert.Equal(t, []int{5, 0}, []int{active, staged})
	assert.Contains(t, tx(t, e, "00A4040006F0010203040500"), "A509C10105C20454455354")
}

// TestFCIAnnouncesKeySet: Type A and Type D APs announce their key set
// (1 by default), a Silent one announces none, and Masters are taken at
// the announced version.
func TestFCIAnnouncesKeySet(t *testing.T) {
	for _, tc := range []struct {
		keys APKeys
		want string // the A5 template: key set (if announced), test marker
	}{
		{APKeys{Keys: testAPKeys()}, "A509C10101C20454455354"},
		{APKeys{Keys: testAPKeys(), KeySet: 7}, "A509C10107C20454455354"},
		{APKeys{Keys: testAPKeys(), Silent: true}, "A506C20454455354"},
	} {
		for _, aid := range []string{"F046524545535041434541", "F046524545535041434544"} {
			c := MustNew(WithTypeA(TypeA{Keys: tc.keys}), WithTypeD(TypeD{Keys: tc.keys}))
			resp := tx(t, c, "00A404000B"+aid+"00")
			require.Equal(t, "9000", sw(resp))
			assert.True(t, strings.HasSuffix(resp, tc.want+"9000"), "%s: %s", aid, resp)
		}
	}
	_, err := New(WithAP(APSpec{Name: "x", AID: testAID, KeySet: 256}))
	assert.ErrorIs(t, err, ErrConfig)
}

// testAPKeys are explicit keys 01, 02, 03 for a Type A or D AP.
func testAPKeys() []KeySpec {
	var out []KeySpec
	for _, ref := range []byte{KeyRefRead, KeyRefUpdate, KeyRefAdmin} {
		out = append(out, KeySpec{Ref: ref, Suite: "AES-128", Enc: mustKey(testKey1Enc), Mac: mustKey(testKey1Mac)})
	}
	return out
}
