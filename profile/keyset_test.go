package profile

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeySetPolicyCheck(t *testing.T) {
	aid := DefaultAID(TypeA)
	for _, tc := range []struct {
		name   string
		p      KeySetPolicy
		v      int
		reason KeySetReason // 0: accepted
	}{
		{"zero policy accepts 1", KeySetPolicy{}, 1, 0},
		{"zero policy accepts 255", KeySetPolicy{}, 255, 0},
		{"0 is no version", KeySetPolicy{}, 0, KeySetNotAccepted},
		{"256 is no version", KeySetPolicy{}, 256, KeySetNotAccepted},
		{"below Min is retired", KeySetPolicy{Min: 2}, 1, KeySetRetired},
		{"Min itself", KeySetPolicy{Min: 2}, 2, 0},
		{"in Accepted", KeySetPolicy{Accepted: []int{2, 4}}, 4, 0},
		{"not in Accepted", KeySetPolicy{Accepted: []int{2, 4}}, 3, KeySetNotAccepted},
		{"retired wins over not accepted", KeySetPolicy{Min: 3, Accepted: []int{3}}, 2, KeySetRetired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Check(aid, tc.v, false)
			if tc.reason == 0 {
				require.NoError(t, err)
				return
			}
			var ke *KeySetError
			require.ErrorAs(t, err, &ke)
			assert.ErrorIs(t, err, ErrKeySet)
			assert.Equal(t, tc.reason, ke.Reason)
			assert.Equal(t, tc.v, ke.Version)
			assert.Equal(t, aid, ke.AID)
		})
	}
}

func TestKeySetPolicyValidate(t *testing.T) {
	for _, p := range []KeySetPolicy{{}, {Default: 1, Min: 1}, {Min: 2, Accepted: []int{2, 3}}, {Default: 255}} {
		assert.NoError(t, p.Validate(), "%+v", p)
	}
	for _, p := range []KeySetPolicy{{Default: -1}, {Default: 256}, {Min: -1}, {Min: 256}, {Accepted: []int{0}}, {Accepted: []int{256}}, {Min: 3, Accepted: []int{2}}} {
		assert.Error(t, p.Validate(), "%+v", p)
	}
	assert.Equal(t, 1, KeySetPolicy{}.DefaultVersion())
	assert.Equal(t, 3, KeySetPolicy{Default: 3}.DefaultVersion())
}

func TestKeySetErrorText(t *testing.T) {
	aid := DefaultAID(TypeD)
	for _, tc := range []struct {
		e    KeySetError
		want string
	}{
		{KeySetError{AID: aid, Version: 1, Reason: KeySetRetired}, "card-key set 1 of AP " + aid.String() + " is retired on this terminal"},
		{KeySetError{AID: aid, Version: 1, Default: true, Reason: KeySetRetired}, "card-key set 1 of AP " + aid.String() + " (the card announces none: the configured default) is retired on this terminal"},
		{KeySetError{AID: aid, Version: 3, Reason: KeySetNotAccepted}, "card-key set 3 of AP " + aid.String() + " is not among the versions this terminal accepts"},
		{KeySetError{AID: aid, Version: 9, Reason: KeySetUnknown}, "card-key set 9 of AP " + aid.String() + ": the key provider holds none of its master keys"},
		{KeySetError{AID: aid, Version: 2, Reason: KeySetIncomplete, Missing: []string{"typed-auth-mac v2"}}, "card-key set 2 of AP " + aid.String() + " is incomplete: the key provider lacks typed-auth-mac v2"},
	} {
		assert.Equal(t, tc.want, tc.e.Error())
		assert.True(t, errors.Is(&tc.e, ErrKeySet))
	}
	for r, name := range map[KeySetReason]string{KeySetNotAccepted: "not-accepted", KeySetRetired: "retired", KeySetUnknown: "unknown", KeySetIncomplete: "incomplete", 0: "key-set-reason(0)"} {
		assert.Equal(t, name, r.String())
	}
}
