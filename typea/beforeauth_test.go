package typea_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
)

// recorder returns an interceptor in front of card and the instructions
// of the commands it passed, in order.
func recorder(card apdu.Transport) (*apdutest.Interceptor, *[]apdu.Ins) {
	var ins []apdu.Ins
	return &apdutest.Interceptor{Next: card, Rewrite: func(e apdutest.Exchange) ([]byte, error) {
		ins = append(ins, e.Ins())
		return e.Response, e.Err
	}}, &ins
}

// TestBeforeAuthSelectOrder: issue 11 §3.4, docs/PROTOCOL.md §6.4. In
// before-auth mode the password goes only to the AP selected (CUID read)
// in the same transaction, and no SELECT comes between VERIFY and MUTUAL
// AUTHENTICATE: a SELECT clears the verified password (§1.4), as the mock
// card shows. A Verify in a later transaction selects again and compares
// the CUID before VERIFY (TestBeforeAuthPasswordNeverGoesToSwappedCard).
func TestBeforeAuthSelectOrder(t *testing.T) {
	ctx := context.Background()
	pw := profile.Password("1234")
	t.Run("Read", func(t *testing.T) {
		f := newFixture(t, &mockcard.APPassword{Value: pw}, profile.PasswordBeforeAuth)
		rec, ins := recorder(f.card)
		_, err := typea.Read(ctx, rec, f.cfg, pw)
		require.NoError(t, err)
		want := []apdu.Ins{apdu.InsSelect, apdu.InsVerify, apdu.InsVerify, apdu.InsGetChallenge, apdu.InsMutualAuthenticate, apdu.InsReadRecord}
		assert.Equal(t, want, *ins, "one SELECT, before the password")
	})
	t.Run("Verify in a later transaction", func(t *testing.T) {
		f := newFixture(t, &mockcard.APPassword{Value: pw}, profile.PasswordBeforeAuth)
		rec, ins := recorder(f.card)
		a, err := typea.OpenUnauthenticated(ctx, rec, f.cfg)
		require.NoError(t, err)
		*ins = nil
		require.NoError(t, a.Verify(ctx, pw, typea.VerifyOptions{}))
		require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
		_, err = a.ReadIdentity(ctx)
		require.NoError(t, err, "the verified password survived: no SELECT after VERIFY")
		want := []apdu.Ins{apdu.InsSelect, apdu.InsVerify, apdu.InsVerify, apdu.InsGetChallenge, apdu.InsMutualAuthenticate, apdu.InsReadRecord}
		assert.Equal(t, want, *ins, "SELECT (CUID check) before VERIFY, none between VERIFY and MUTUAL AUTHENTICATE")
	})
	t.Run("a SELECT after VERIFY clears it", func(t *testing.T) {
		// What the host must not do: the card forgets the password on
		// SELECT, and the read under the read key is refused.
		f := newFixture(t, &mockcard.APPassword{Value: pw}, profile.PasswordBeforeAuth)
		a, err := typea.OpenUnauthenticated(ctx, f.card, f.cfg)
		require.NoError(t, err)
		require.NoError(t, a.Verify(ctx, pw, typea.VerifyOptions{}))
		_, err = a.Sealed(ctx) // selects the AP again (a later transaction)
		require.NoError(t, err)
		require.NoError(t, a.Authenticate(ctx, a.Config().ReadKey))
		_, err = a.ReadIdentity(ctx)
		require.ErrorIs(t, err, apdu.ErrSecurityStatusNotSatisfied)
	})
}
