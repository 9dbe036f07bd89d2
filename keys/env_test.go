package keys

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnvVersionSpelling: a version must be written in canonical decimal
// (no leading zero, no sign, at least 1). A variable that spells one
// otherwise (_V03, _V+3, _V0, _V) is refused with ErrInvalidEnvName
// naming it, for the latest version and for any explicit one alike: it is
// never taken for a different version, dropped, or allowed to stand next
// to a second spelling of the same version.
func TestEnvVersionSpelling(t *testing.T) {
	const k1, k3 = "aes:" + fileSecret, "aes:00112233445566778899AABBCCDDEEFF"
	ctx := context.Background()
	tests := []struct {
		name string
		vars []string
		bad  string // the variable the error names; "" when the lookup works
	}{
		{"zero padded latest", []string{"FREESPACE_KEY_T_V1=" + k1, "FREESPACE_KEY_T_V03=" + k3}, "FREESPACE_KEY_T_V03"},
		{"zero padded only", []string{"FREESPACE_KEY_T_V01=" + k1}, "FREESPACE_KEY_T_V01"},
		{"two spellings of one version", []string{"FREESPACE_KEY_T_V3=" + k3, "FREESPACE_KEY_T_V003=" + k1}, "FREESPACE_KEY_T_V003"},
		{"plus sign", []string{"FREESPACE_KEY_T_V1=" + k1, "FREESPACE_KEY_T_V+3=" + k3}, "FREESPACE_KEY_T_V+3"},
		{"minus sign", []string{"FREESPACE_KEY_T_V1=" + k1, "FREESPACE_KEY_T_V-3=" + k3}, "FREESPACE_KEY_T_V-3"},
		{"version zero", []string{"FREESPACE_KEY_T_V1=" + k1, "FREESPACE_KEY_T_V0=" + k3}, "FREESPACE_KEY_T_V0"},
		{"no digits", []string{"FREESPACE_KEY_T_V1=" + k1, "FREESPACE_KEY_T_V=" + k3}, "FREESPACE_KEY_T_V"},
		{"letters", []string{"FREESPACE_KEY_T_V1=" + k1, "FREESPACE_KEY_T_V3A=" + k3}, "FREESPACE_KEY_T_V3A"},
		{"too large", []string{"FREESPACE_KEY_T_V1=" + k1, "FREESPACE_KEY_T_V99999999999999999999=" + k3}, "FREESPACE_KEY_T_V99999999999999999999"},
		// Variables of other names sharing the prefix are not this name's.
		{"other name", []string{"FREESPACE_KEY_T_V1=" + k1, "FREESPACE_KEY_T_V_V03=" + k3, "FREESPACE_KEY_T_VX_V1=" + k3}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := Env{Environ: func() []string { return tt.vars }}
			for _, ref := range []KeyRef{{Name: "t"}, {Name: "t", Version: 1}, {Name: "t", Version: 3}} {
				k, err := env.Key(ctx, ref)
				if tt.bad == "" {
					if ref.Version == 3 {
						assert.ErrorIs(t, err, ErrKeyNotFound)
						continue
					}
					require.NoError(t, err, "%s", ref)
					assert.Equal(t, h(fileSecret), k.Bytes())
					continue
				}
				require.ErrorIs(t, err, ErrInvalidEnvName, "%s", ref)
				var ne *EnvNameError
				require.ErrorAs(t, err, &ne)
				assert.Equal(t, tt.bad, ne.Variable)
				assert.Contains(t, err.Error(), tt.bad)
				assert.False(t, errors.Is(err, ErrKeyNotFound))
				assert.NotContains(t, strings.ToUpper(err.Error()), fileSecret[:8])
				assert.NotContains(t, strings.ToUpper(err.Error()), "00112233")
			}
		})
	}
}
