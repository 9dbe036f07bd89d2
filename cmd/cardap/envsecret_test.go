package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childSees runs a child process that prints the variable's value, or
// "<unset>", as it inherits the environment.
func childSees(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", `if [ "${`+name+`+set}" = set ]; then printf '%s' "$`+name+`"; else printf '<unset>'; fi`).Output()
	require.NoError(t, err)
	return string(out)
}

// TestPasswordEnvRemovedAfterReading: a password read from an environment
// variable (--password-env, --new-env, ...) is removed from the process's
// environment once read, so a child process started afterwards does not
// inherit it. Other variables stay.
func TestPasswordEnvRemovedAfterReading(t *testing.T) {
	const pw = "Kx7#pass-env"
	t.Setenv("FS_CHILD_PW", pw)
	t.Setenv("FS_CHILD_OTHER", "kept")
	require.Equal(t, pw, childSees(t, "FS_CHILD_PW"), "a child inherits it before")

	card, kf := freshABCD(t)
	src := &mockSource{slots: []mockSlot{{name: "Mock 0", card: card}}}
	var out, errb bytes.Buffer
	ctx := withSource(context.Background(), src)
	code := run(ctx, &cli{stdout: &out, stderr: &errb}, []string{"personalize", "--type", "a", "--keys", kf,
		"--user-id", "U-ENV", "--password-env", "FS_CHILD_PW", "--no-audit"})
	require.Equal(t, exitOK, code, errb.String())

	assert.Equal(t, "<unset>", childSees(t, "FS_CHILD_PW"), "the password is not inherited")
	_, ok := os.LookupEnv("FS_CHILD_PW")
	assert.False(t, ok)
	assert.Equal(t, "kept", childSees(t, "FS_CHILD_OTHER"))
	assert.NotContains(t, strings.Join(os.Environ(), "\n"), pw)

	// Unit level, for every secret flag: read once, gone after.
	for _, name := range []string{"password", "old", "new"} {
		t.Setenv("FS_CHILD_"+name, "secret-"+name)
		sec := secretFlags{env: map[string]*string{name: envFlagValue("FS_CHILD_" + name)}}
		got, err := sec.secret(context.Background(), name)
		require.NoError(t, err)
		assert.Equal(t, "secret-"+name, string(got))
		got.Zero()
		assert.Equal(t, "<unset>", childSees(t, "FS_CHILD_"+name))
	}
}

// envFlagValue is the value of a --NAME-env flag.
func envFlagValue(s string) *string { return &s }
