package pkcs11

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		in      string
		want    *URI
		errPart string
	}{
		{in: "pkcs11:token=freespace?module-path=/usr/lib/softhsm/libsofthsm2.so",
			want: &URI{Token: "freespace", SlotID: -1, ModulePath: "/usr/lib/softhsm/libsofthsm2.so", PINSource: DefaultPINSource}},
		{in: "pkcs11:token=my%20token;object=feed-signing;id=%00%00%00%02;slot-id=3?module-path=%2Fopt%2Fhsm.so&pin-source=env:HSM_PIN",
			want: &URI{Token: "my token", Object: "feed-signing", ID: []byte{0, 0, 0, 2}, SlotID: 3, ModulePath: "/opt/hsm.so", PINSource: "env:HSM_PIN"}},
		{in: "pkcs11:token=t;manufacturer=SoftHSM?module-path=/m.so&pin-source=file:///etc/hsm.pin",
			want: &URI{Token: "t", SlotID: -1, ModulePath: "/m.so", PINSource: "file:///etc/hsm.pin"}},
		{in: "pkcs11:token=t?module-path=/m.so&pin-source=stdin",
			want: &URI{Token: "t", SlotID: -1, ModulePath: "/m.so", PINSource: "stdin"}},
		{in: "pkcs11:token=t?module-path=/m.so&pin-value=1234", errPart: "pin-value is refused"},
		{in: "pkcs11:object=x?module-path=/m.so", errPart: "token= is required"},
		{in: "pkcs11:token=t", errPart: "module-path= is required"},
		{in: "pkcs11:token=t?module-path=libsofthsm2.so", errPart: "absolute"},
		{in: "pkcs11:token=t;tokn=x?module-path=/m.so", errPart: `unknown path attribute "tokn"`},
		{in: "pkcs11:token=t;token=u?module-path=/m.so", errPart: "twice"},
		{in: "pkcs11:token=t?module-path=/m.so&pin-source=relative.pin", errPart: "pin-source"},
		{in: "pkcs11:token=%zz?module-path=/m.so", errPart: "percent"},
		{in: "file:/x", errPart: "pkcs11:"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := ParseURI(tt.in)
			if tt.errPart != "" {
				require.ErrorIs(t, err, ErrURI)
				assert.ErrorContains(t, err, tt.errPart)
				assert.NotContains(t, err.Error(), "1234")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, u)
			again, err := ParseURI(u.String())
			require.NoError(t, err)
			assert.Equal(t, u, again, "String round-trips")
		})
	}
}

func TestReadPIN(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "pin")
	require.NoError(t, os.WriteFile(good, []byte("4321\n"), 0o600))
	open := filepath.Join(dir, "open.pin")
	require.NoError(t, os.WriteFile(open, []byte("4321\n"), 0o644))
	t.Setenv("TEST_PKCS11_PIN", "9876")
	t.Setenv("TEST_PKCS11_EMPTY", "")
	tests := []struct {
		src, stdin, want string
		err              error
	}{
		{src: "env:TEST_PKCS11_PIN", want: "9876"},
		{src: "env:TEST_PKCS11_EMPTY", err: ErrPINSource},
		{src: "env:TEST_PKCS11_UNSET_X", err: ErrPINSource},
		{src: "stdin", stdin: "5555\r\n", want: "5555"},
		{src: "stdin", stdin: "", err: ErrPINSource},
		{src: "stdin", stdin: strings.Repeat("9", 300), err: ErrPINSource},
		{src: good, want: "4321"},
		{src: "file://" + good, want: "4321"},
		{src: open, err: ErrPINSource},
		{src: "relative", err: ErrURI},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			pin, err := ReadPIN(tt.src, strings.NewReader(tt.stdin))
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.NotContains(t, err.Error(), "4321")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(pin))
		})
	}
}
