package apsession_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
)

var aid = profile.AID{0xF0, 0x01, 0x02, 0x03, 0x04, 0x05}
var cuid = profile.CUID{0xAA, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// apWithCUIDAt is an AP whose EF.CUID is not at FID 0001, so its FCI has
// no CUID and the host must read the EF.
func apWithCUIDAt(fid uint16, sfi byte) mockcard.APSpec {
	return mockcard.APSpec{Name: "X", AID: aid, Lifecycle: mockcard.Operational, EFs: []mockcard.EFSpec{{
		FID: fid, SFI: sfi, Kind: mockcard.Transparent, MaxSize: 16, Data: cuid[:],
		Operational: mockcard.Access{Read: mockcard.Always(), Update: mockcard.Never(), Append: mockcard.Never()},
	}}}
}

func TestCUIDSources(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		spec  mockcard.APSpec
		cfg   apsession.Config
		apdus int
	}{
		{"FCI", apWithCUIDAt(profile.FIDCUID, 1), apsession.Config{AID: aid}, 1},
		{"SFI", apWithCUIDAt(0x0005, 1), apsession.Config{AID: aid, CUIDSFI: 1}, 2},
		{"FID", apWithCUIDAt(0x0005, 0), apsession.Config{AID: aid, CUIDFID: 0x0005}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := mockcard.MustNew(mockcard.WithAP(tt.spec))
			s, err := apsession.Open(ctx, card, tt.cfg)
			require.NoError(t, err)
			assert.Equal(t, cuid, s.CUID())
			assert.Equal(t, tt.apdus, card.Stats().APDUs)
		})
	}
	card := mockcard.MustNew()
	_, err := apsession.Open(ctx, card, apsession.Config{AID: aid})
	assert.ErrorIs(t, err, profile.ErrNotPresent)
}

func TestAuthenticateNeedsKeys(t *testing.T) {
	ctx := context.Background()
	card := mockcard.MustNew(mockcard.WithAP(apWithCUIDAt(profile.FIDCUID, 1)))
	s, err := apsession.Open(ctx, card, apsession.Config{AID: aid})
	require.NoError(t, err)
	assert.Error(t, s.Authenticate(ctx, keys.CardKey{Ref: 1}))
	s, err = apsession.Open(ctx, card, apsession.Config{AID: aid, Keys: keystest.Store(1), Suite: secure.AES128})
	require.NoError(t, err)
	err = s.Authenticate(ctx, keys.CardKey{Ref: 1})
	assert.Error(t, err, "no such master key")
	assert.False(t, s.Secure())
}

func TestPasswordRedacted(t *testing.T) {
	p := profile.Password("s3cr3t")
	for _, f := range []string{"%v", "%s", "%q", "%x", "%X", "%+v", "%#v", "%d"} {
		assert.NotContains(t, sprintf(f, p), "s3cr3t", f)
		assert.NotContains(t, sprintf(f, p), "733363", f)
	}
	p.Zero()
	assert.Equal(t, profile.Password{0, 0, 0, 0, 0, 0}, p)
	assert.Equal(t, "3 tries left", profile.PasswordStatus{Remaining: 3}.String())
	assert.Equal(t, "blocked", profile.PasswordStatus{Blocked: true}.String())
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }

func TestSealedAnswer(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantSealed bool
		wantErr    error
	}{
		{"open", nil, false, nil},
		{"open, short", apdu.WarnEndOfFile, false, nil},
		{"open, listed status", apdu.ErrRecordNotFound, false, nil},
		{"sealed", apdu.ErrSecurityStatusNotSatisfied, true, nil},
		{"other status", apdu.ErrFileNotFound, false, apdu.ErrFileNotFound},
		{"card removed", apdu.ErrCardRemoved, false, apdu.ErrCardRemoved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := apsession.SealedAnswer(tt.err, apdu.ErrRecordNotFound)
			assert.Equal(t, tt.wantSealed, sealed)
			if tt.wantErr == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}
