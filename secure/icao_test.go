package secure

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
)

// The worked example of Basic Access Control, ICAO Doc 9303 Part 11
// (Security Mechanisms for MRTDs, 8th edition, 2021), Appendix D:
// D.2 key derivation from K_seed, D.3 authentication and establishment of
// session keys, D.4 secure messaging (protected SELECT EF.COM and two
// READ BINARY commands).
const (
	icaoKSeed   = "239AB9CB282DAF66231DC5A4DF6BFBAE"
	icaoKEnc    = "AB94FDECF2674FDFB9B391F85D7F76F2"
	icaoKMac    = "7962D9ECE03D1ACD4C76089DCE131543"
	icaoRndICC  = "4608F91988702212"
	icaoRndIFD  = "781723860C06C226"
	icaoKIFD    = "0B795240CB7049B01C19B33E32804F0B"
	icaoKICC    = "0B4F80323EB3191CB04970CB4052790B"
	icaoEIFD    = "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
	icaoMIFD    = "5F1448EEA8AD90A7"
	icaoAnswer  = "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"
	icaoKSEnc   = "979EC13B1CBFE9DCD01AB0FED307EAE5"
	icaoKSMac   = "F1CB1F1FB5ADF208806B89DC579DC1F8"
	icaoSSC     = "887022120C06C226"
	icaoKSSeedS = "0036D272F5C350ACAC50C3F572D23600"
)

// icaoSM is Appendix D.4: plain command, protected command, protected
// response, plain response.
var icaoSM = []struct {
	name                        string
	plain, wire, wireResp, resp string
}{
	{"SELECT EF.COM", "00A4020C02011E", "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800",
		"990290008E08FA855A5D4C50A8ED9000", "9000"},
	{"READ BINARY 4 bytes", "00B0000004", "0CB000000D9701048E08ED6705417E96BA5500",
		"8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000", "60145F019000"},
	{"READ BINARY 18 bytes", "00B0000412", "0CB000040D9701128E082EA28A70F3C7B53500",
		"871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
		"04303130365F36063034303030305C0261759000"},
}

func TestICAOKeyDerivation(t *testing.T) {
	// Appendix D.2: K_enc and K_mac from K_seed (SHA-1, counters 1 and 2,
	// DES parity); Appendix D.3: KS_enc and KS_mac from K.IFD xor K.ICC.
	enc, mac := TDES.deriveSessionKeys(h(icaoKSeed))
	assert.Equal(t, h(icaoKEnc), enc)
	assert.Equal(t, h(icaoKMac), mac)

	seed := make([]byte, 16)
	for i := range seed {
		seed[i] = h(icaoKIFD)[i] ^ h(icaoKICC)[i]
	}
	assert.Equal(t, h(icaoKSSeedS), seed)
	k := sessionKeys(TDES, seed, h(icaoRndICC), h(icaoRndIFD))
	assert.Equal(t, h(icaoKSEnc), k.Enc)
	assert.Equal(t, h(icaoKSMac), k.MAC)
	assert.Equal(t, h(icaoSSC), k.SSC)
}

func TestICAOHostFlow(t *testing.T) {
	// Appendix D.3 and D.4 replayed byte for byte from the host side.
	steps := []apdutest.Step{
		{Command: "0084000008", Response: icaoRndICC + "9000"},
		{Command: "0082000028" + icaoEIFD + icaoMIFD + "28", Response: icaoAnswer + "9000"},
	}
	for _, c := range icaoSM {
		steps = append(steps, apdutest.Step{Command: c.wire, Response: c.wireResp})
	}
	tr := apdutest.NewCard(t, steps...)
	ctx := context.Background()
	s, err := MutualAuthenticate(ctx, tr, Config{
		Suite: TDES, KEnc: h(icaoKEnc), KMac: h(icaoKMac),
		Rand: fixedRand(icaoRndIFD, icaoKIFD),
	})
	require.NoError(t, err)
	for _, c := range icaoSM {
		resp, err := s.Transmit(ctx, h(c.plain))
		require.NoError(t, err, c.name)
		assert.Equal(t, h(c.resp), resp, c.name)
	}
	assert.Zero(t, tr.Remaining())
	assert.NoError(t, s.Err())
}

func TestICAOCardFlow(t *testing.T) {
	// The same worked example from the card's side.
	a, err := NewCardAuthenticator(TDES, h(icaoKEnc), h(icaoKMac), fixedRand(icaoRndICC, icaoKICC))
	require.NoError(t, err)
	ch, err := a.Challenge()
	require.NoError(t, err)
	assert.Equal(t, h(icaoRndICC), ch)
	ans, cs, err := a.Authenticate(h(icaoEIFD + icaoMIFD))
	require.NoError(t, err)
	assert.Equal(t, h(icaoAnswer), ans)
	for _, c := range icaoSM {
		in, err := cs.UnwrapCommand(h(c.wire))
		require.NoError(t, err, c.name)
		want, err := apdu.ParseCommand(h(c.plain))
		require.NoError(t, err)
		assert.Equal(t, want.CLA, in.CLA, c.name)
		assert.Equal(t, want.INS, in.INS, c.name)
		assert.Equal(t, want.P1, in.P1, c.name)
		assert.Equal(t, want.P2, in.P2, c.name)
		assert.Equal(t, want.Ne, in.Ne, c.name)
		assert.Equal(t, []byte(want.Data), nilIfEmpty(in.Data), c.name)
		r, err := apdu.ParseResponse(h(c.resp))
		require.NoError(t, err)
		out, err := cs.WrapResponse(r)
		require.NoError(t, err)
		assert.Equal(t, h(c.wireResp), out, c.name)
	}
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
