package mockcard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStateRoundTrip(t *testing.T) {
	c := newTestCard(t)
	// Change persistent state: PIN counter, new PIN, EF content, record,
	// key counter, lifecycle of a second card below.
	tx(t, c, selTest)
	tx(t, c, "002000810430303030")
	tx(t, c, "00240081083132333439393939")
	tx(t, c, "00A4020C020101")
	tx(t, c, "00D6000003585858")
	tx(t, c, "00E2001002AABB")
	tx(t, c, "0084000008")
	tx(t, c, "0082000238"+strings.Repeat("00", 56)+"00")

	path := filepath.Join(t.TempDir(), "card.json")
	require.NoError(t, c.Save(path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	d, err := Load(path)
	require.NoError(t, err)
	for _, fid := range []uint16{0x0101, 0x0103, 0x0104} {
		want, _ := c.ReadEF(testAID, fid)
		got, err := d.ReadEF(testAID, fid)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	want, _ := c.ReadRecords(testAID, 0x0102)
	got, _ := d.ReadRecords(testAID, 0x0102)
	assert.Equal(t, want, got)
	n, _ := d.KeyTriesLeft(testAID, 0x02)
	assert.Equal(t, 1, n)
	assert.Equal(t, c.AIDs(), d.AIDs())

	// The new PIN works on the loaded card; the counter was saved at max.
	tx(t, d, selTest)
	assert.Equal(t, "63C3", tx(t, d, "00200081"))
	assert.Equal(t, "9000", tx(t, d, "002000810439393939"))

	// Saving again over the file works (atomic replace) and is stable.
	b1, _ := d.MarshalState()
	require.NoError(t, d.Save(path))
	b2, _ := os.ReadFile(path)
	assert.Equal(t, b1, b2)
}

func TestStateCountersSaved(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	tx(t, c, "002000810430303030")
	b, err := c.MarshalState()
	require.NoError(t, err)
	d, err := UnmarshalState(b)
	require.NoError(t, err)
	n, _ := d.PINTriesLeft(testAID, 0x81)
	assert.Equal(t, 2, n)
}

func TestLoadRefusesReadableFile(t *testing.T) {
	c := newTestCard(t)
	path := filepath.Join(t.TempDir(), "card.json")
	require.NoError(t, c.Save(path))
	require.NoError(t, os.Chmod(path, 0o644))
	_, err := Load(path)
	require.ErrorIs(t, err, ErrInsecureStateFile)
	require.NoError(t, os.Chmod(path, 0o600))
	_, err = Load(path)
	require.NoError(t, err)
	_, err = Load(filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestLoadRejectsDamagedState(t *testing.T) {
	c := newTestCard(t)
	good, err := c.MarshalState()
	require.NoError(t, err)
	var sf map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(good, &sf))
	edit := func(key, val string) []byte {
		m := map[string]json.RawMessage{}
		for k, v := range sf {
			m[k] = v
		}
		m[key] = json.RawMessage(val)
		b, _ := json.Marshal(m)
		return b
	}
	cases := map[string][]byte{
		"trailing data":    append(append([]byte(nil), good...), []byte("{}")...),
		"not json":         []byte("{"),
		"empty":            nil,
		"wrong format":     edit("format", `"other"`),
		"future version":   edit("version", `2`),
		"bad checksum":     edit("sha256", `"00"`),
		"checksum not hex": edit("sha256", `"zz"`),
		"unknown field":    edit("extra", `1`),
		"edited content":   bytes.Replace(good, []byte(`"name": "test"`), []byte(`"name": "tset"`), 1),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := UnmarshalState(b)
			assert.ErrorIs(t, err, ErrStateFile)
		})
	}
}

func TestClone(t *testing.T) {
	c := newTestCard(t, WithGetResponse(0))
	tx(t, c, selTest)
	d, err := c.Clone()
	require.NoError(t, err)
	tx(t, d, selTest)
	tx(t, d, "00A4020C020101")
	assert.Equal(t, "6105", tx(t, d, "00B0000005"), "configuration cloned")
	require.NoError(t, d.WriteEF(testAID, 0x0101, []byte("x")))
	got, _ := c.ReadEF(testAID, 0x0101)
	assert.Equal(t, "hello", string(got), "independent state")
}

// A state whose checksum is right but whose content is impossible (a retry
// counter above its limit) is refused with ErrStateFile, said once, and
// without the PIN in the message.
func TestLoadRejectsImpossibleCounter(t *testing.T) {
	c := newTestCard(t)
	good, err := c.MarshalState()
	require.NoError(t, err)
	var sf stateFile
	require.NoError(t, json.Unmarshal(good, &sf))
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, sf.Card))
	body := bytes.Replace(compact.Bytes(), []byte(`"left":3`), []byte(`"left":9`), 1)
	require.Equal(t, 1, bytes.Count(body, []byte(`"left":9`)))
	sum := sha256.Sum256(body)
	sf.SHA256, sf.Card = hex.EncodeToString(sum[:]), body
	bad, err := json.Marshal(sf)
	require.NoError(t, err)

	_, err = UnmarshalState(bad)
	require.ErrorIs(t, err, ErrStateFile)
	assert.Contains(t, err.Error(), "counter 9")
	assert.Equal(t, 1, strings.Count(err.Error(), ErrStateFile.Error()), "%v", err)
	assert.NotContains(t, err.Error(), "1234")
}
