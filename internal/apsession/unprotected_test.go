package apsession_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
)

// plainAfterAuth passes every APDU to the card and, once armed, answers
// the next protected command itself in plain: a card (or a relay) that
// dropped secure messaging.
type plainAfterAuth struct {
	card   apdu.Transport
	armed  bool
	answer []byte
}

func (p *plainAfterAuth) Transmit(ctx context.Context, raw []byte) ([]byte, error) {
	if p.armed && len(raw) > 0 && secure.IsProtected(raw[0]) {
		p.armed = false
		return append([]byte(nil), p.answer...), nil
	}
	return p.card.Transmit(ctx, raw)
}

// TestUnprotectedAnswerWithData: issue 11 §3.1. A plain answer with data
// to a protected command (70 04 80 02 55 31 90 00) is the unprotected
// answer of docs/PROTOCOL.md §4.4 (secure.ErrResponseUnprotected), not a
// malformed protected response, and it ends the session (Lost).
func TestUnprotectedAnswerWithData(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		answer []byte
		want   error
	}{
		{"template and 9000", []byte{0x70, 0x04, 0x80, 0x02, 0x55, 0x31, 0x90, 0x00}, secure.ErrResponseUnprotected},
		{"plain 9000", []byte{0x90, 0x00}, secure.ErrResponseUnprotected},
		{"plain 6982", []byte{0x69, 0x82}, secure.ErrCardRejectedSM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := keystest.Store(1)
			card := mockcard.MustNew(mockcard.WithTypeA(mockcard.TypeA{
				Identity: profile.Identity{UserID: "U-1"}, Keys: mockcard.APKeys{Masters: st},
			}))
			tr := &plainAfterAuth{card: card, answer: tt.answer}
			s, err := apsession.Open(ctx, tr, apsession.Config{AID: profile.DefaultAID(profile.TypeA), Suite: secure.AES128, Keys: st, CUIDSFI: 1})
			require.NoError(t, err)
			require.NoError(t, s.Authenticate(ctx, apsession.ProfileKey("typea", 1)))
			tr.armed = true
			_, err = s.Channel().Do(ctx, apdu.Command{INS: apdu.InsReadRecord, P1: 1, P2: 0x04, Ne: apdu.MaxShortNe})
			require.ErrorIs(t, err, tt.want)
			assert.ErrorIs(t, err, secure.ErrSessionClosed)
			assert.NotErrorIs(t, err, secure.ErrResponseMalformed)
			assert.True(t, apsession.Lost(err), "the session is over")
			assert.False(t, s.Secure())
		})
	}
}
