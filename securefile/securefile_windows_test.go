//go:build windows

package securefile

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/windows"
)

// setDACL replaces path's DACL with the protected one in sddl ("D:P...").
func setDACL(t *testing.T, path, sddl string) {
	t.Helper()
	sd, err := windows.SecurityDescriptorFromString(sddl)
	require.NoError(t, err)
	dacl, _, err := sd.DACL()
	require.NoError(t, err)
	require.NoError(t, windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil))
}

// On Windows itself: a secret CreateSecret wrote passes Open as a secret,
// gains a refusal naming Users once Users may read it, and is never
// overwritten.
func TestWindowsSecretDACL(t *testing.T) {
	dir := t.TempDir() // under %TEMP%: the user, SYSTEM and Administrators
	p := filepath.Join(dir, "keys.json")
	require.NoError(t, WriteSecret(p, []byte("{}")))

	f, err := Open(p, Policy{Secret: true})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	setDACL(t, p, "D:P(A;;FA;;;OW)(A;;FR;;;BU)")
	_, err = Open(p, Policy{Secret: true})
	var e *Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, SecretAccessible, e.Problem)
	assert.Equal(t, "S-1-5-32-545", e.SID)
	assert.Contains(t, e.Remedy(), "icacls")

	f, err = Open(p, Policy{})
	require.NoError(t, err, "Users may read a non-secret")
	require.NoError(t, f.Close())

	_, err = CreateSecret(p)
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, Exists, e.Problem)
}
