package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `{
  "accounts": [
    {"user_id": "U-0001", "account": "alice", "cuid": "00112233445566778899aabbccddeeff"},
    {"user_id": "U-0002", "account": "bob"},
    {"user_id": "U-0003", "account": "alice"}
  ],
  "revocation_dir": "/var/lib/freespace/revocation",
  "revocation_max_age": "36h",
  "lock_command": ["/usr/bin/loginctl", "lock-sessions"],
  "poll_interval": "250ms"
}`

func TestParse(t *testing.T) {
	c, err := Parse([]byte(sample))
	require.NoError(t, err)
	m, ok := c.Lookup("U-0001")
	require.True(t, ok)
	assert.Equal(t, "alice", m.Account)
	require.NotNil(t, m.CUID)
	assert.Equal(t, "00112233445566778899aabbccddeeff", m.CUID.String())
	m, ok = c.Lookup("U-0003")
	require.True(t, ok)
	assert.Equal(t, "alice", m.Account, "several cards may map to one account")
	assert.Nil(t, m.CUID)
	_, ok = c.Lookup("U-0009")
	assert.False(t, ok)
	assert.Equal(t, 36*time.Hour, c.RevocationMaxAge)
	assert.Equal(t, 250*time.Millisecond, c.PollInterval)
	assert.Equal(t, []string{"/usr/bin/loginctl", "lock-sessions"}, c.LockCommand)

	min, err := Parse([]byte(`{"accounts":[]}`))
	require.NoError(t, err)
	assert.Equal(t, 500*time.Millisecond, min.PollInterval)
	assert.Empty(t, min.RevocationDir)
}

func TestParseRefuses(t *testing.T) {
	for _, doc := range []string{
		``, `[]`, `{"accounts":[{"user_id":"U 1","account":"a"}]}`,
		`{"accounts":[{"user_id":"U1","account":""}]}`,
		`{"accounts":[{"user_id":"U1","account":"-rf"}]}`,
		`{"accounts":[{"user_id":"U1","account":"a/b"}]}`,
		`{"accounts":[{"user_id":"U1","account":"` + strings.Repeat("a", 33) + `"}]}`,
		`{"accounts":[{"user_id":"U1","account":"a"},{"user_id":"U1","account":"b"}]}`,
		`{"accounts":[{"user_id":"U1","account":"a","cuid":"00"}]}`,
		`{"accounts":[{"user_id":"U1","account":"a","cuid":"00000000000000000000000000000000"}]}`,
		`{"accounts":[],"revocation_dir":"relative/dir"}`,
		`{"accounts":[],"revocation_max_age":"forever"}`,
		`{"accounts":[],"poll_interval":"1ns"}`,
		`{"accounts":[],"lock_command":["loginctl"]}`,
		`{"accounts":[],"lock_command":["/bin/x\u0000y"]}`,
		`{"accounts":[],"extra":1}`,
		`{"accounts":[]} {}`,
	} {
		_, err := Parse([]byte(doc))
		assert.ErrorIs(t, err, ErrInvalid, doc)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"accounts":[]}`))
	f.Add([]byte(`{"accounts":[{"user_id":"U1","account":"a","cuid":"zz"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for _, m := range c.Accounts {
			got, ok := c.Lookup(m.UserID)
			if !ok || got.Account != m.Account || !validAccount(got.Account) {
				t.Fatalf("lookup of %q gave %+v, %v", m.UserID, got, ok)
			}
		}
		if c.PollInterval < MinPollInterval || c.PollInterval > MaxPollInterval {
			t.Fatalf("poll interval %s accepted", c.PollInterval)
		}
	})
}
