package typed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/profile"
)

var errTorn = errors.New("torn")

// memFile is an EF in memory that applies at most budget bytes of writes
// (budget < 0: unlimited), then fails every call: the card was pulled.
type memFile struct {
	data   []byte
	chunk  int
	budget int
	dead   bool
}

func (m *memFile) readChunk() int { return m.chunk }

func (m *memFile) readAt(_ context.Context, off, n int) ([]byte, error) {
	if m.dead {
		return nil, errTorn
	}
	if off >= len(m.data) {
		return nil, nil
	}
	return append([]byte(nil), m.data[off:min(len(m.data), off+min(n, m.chunk))]...), nil
}

func (m *memFile) writeAt(_ context.Context, off int, b []byte) error {
	if m.dead {
		return errTorn
	}
	if m.budget >= 0 && len(b) > m.budget {
		copy(m.data[off:], b[:m.budget])
		m.budget, m.dead = 0, true
		return errTorn
	}
	copy(m.data[off:], b)
	if m.budget >= 0 {
		m.budget -= len(b)
	}
	return nil
}

func testKey(v uint32) []byte {
	s := sha256.Sum256([]byte(fmt.Sprintf("data key v%d", v)))
	return s[:]
}

func testKeys(versions ...uint32) keyFunc {
	return func(_ context.Context, h Header) ([]byte, error) {
		for _, x := range versions {
			if x == h.KeyVersion && h.KeyID == "k" {
				return testKey(h.KeyVersion), nil
			}
		}
		return nil, errors.New("no such key")
	}
}

var testBind = Binding{CUID: profile.CUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, AID: profile.DefaultAID(profile.TypeD), FID: profile.FIDData}

// write runs a whole tearing-safe write on f.
func write(t testing.TB, f *memFile, l layout, v uint32, pt []byte, seed byte) error {
	st, err := loadState(context.Background(), f, l, testKeys(1, 2), testBind)
	if err != nil {
		return err
	}
	plan, err := planWrite(st, l, testKey(v), "k", v, testBind, pt, bytes.NewReader(bytes.Repeat([]byte{seed}, 12)), false)
	if err != nil {
		return err
	}
	return writeChunks(context.Background(), f, l.offset(plan.slot), plan.env, 100)
}

func read(f *memFile, l layout) (*state, error) {
	return loadState(context.Background(), f, l, testKeys(1, 2), testBind)
}

// TestTearingEveryByte proves the tearing-safety claim of docs/PROTOCOL.md
// §7.4 on the slot logic: for a sequence of writes, a write interrupted
// after every possible number of applied bytes leaves the old or the new
// plaintext readable, never an error, never other data; and the write
// after it succeeds.
func TestTearingEveryByte(t *testing.T) {
	l := layout{capacity: 1200}
	contents := [][]byte{
		bytes.Repeat([]byte("A"), 300),
		bytes.Repeat([]byte("B"), 500),
		bytes.Repeat([]byte("C"), 10),
		bytes.Repeat([]byte("D"), 520),
	}
	base := &memFile{data: make([]byte, l.capacity), chunk: 223, budget: -1}
	require.NoError(t, write(t, base, l, 1, contents[0], 1))
	for step := 1; step < len(contents); step++ {
		old, nw := contents[step-1], contents[step]
		total := len(nw) + Overhead
		for k := 0; k <= total; k++ {
			f := &memFile{data: bytes.Clone(base.data), chunk: 223, budget: k}
			err := write(t, f, l, uint32(1+step%2), nw, byte(step))
			if k < total {
				require.ErrorIs(t, err, errTorn, "k=%d", k)
			}
			f.dead, f.budget = false, -1
			st, err := read(f, l)
			require.NoError(t, err)
			require.GreaterOrEqual(t, st.current, 0, "step %d k=%d: no data (%v)", step, k, st.why)
			switch {
			case k == total:
				assert.Equal(t, nw, st.plain, "step %d: complete write must read new", step)
			default:
				assert.Equal(t, old, st.plain, "step %d k=%d", step, k)
			}
			// The next write after the tear succeeds and reads back.
			require.NoError(t, write(t, f, l, 2, []byte("after"), 9))
			st, err = read(f, l)
			require.NoError(t, err)
			require.Equal(t, []byte("after"), st.plain)
		}
		require.NoError(t, write(t, base, l, uint32(1+step%2), nw, byte(step)))
	}
}

func TestBlankAndCapacity(t *testing.T) {
	l := layout{capacity: 400}
	f := &memFile{data: make([]byte, l.capacity), chunk: 223, budget: -1}
	st, err := read(f, l)
	require.NoError(t, err)
	assert.ErrorIs(t, st.why, ErrNoData)
	err = write(t, f, l, 1, make([]byte, l.slotSize()-Overhead+1), 1)
	var ce *CapacityError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 201, ce.Need)
	assert.Equal(t, 200, ce.Have)
	assert.Contains(t, ce.Error(), "at most 142 bytes")
	assert.Equal(t, make([]byte, l.capacity), f.data, "nothing written")
	require.NoError(t, write(t, f, l, 1, make([]byte, l.maxPlaintext()), 1))
}

func TestWrongBindingAndUnknownVersion(t *testing.T) {
	l := layout{capacity: 800}
	f := &memFile{data: make([]byte, l.capacity), chunk: 223, budget: -1}
	require.NoError(t, write(t, f, l, 2, []byte("secret"), 1))

	other := testBind
	other.CUID[0] ^= 1
	st, err := loadState(context.Background(), f, l, testKeys(1, 2), other)
	require.NoError(t, err)
	assert.ErrorIs(t, st.why, ErrAuthentication, "copied to another card")
	other = testBind
	other.FID = 5
	st, err = loadState(context.Background(), f, l, testKeys(1, 2), other)
	require.NoError(t, err)
	assert.ErrorIs(t, st.why, ErrAuthentication, "copied to another file")

	st, err = loadState(context.Background(), f, l, testKeys(1), testBind)
	require.NoError(t, err)
	var kv *KeyVersionError
	require.ErrorAs(t, st.why, &kv)
	assert.Equal(t, uint32(2), kv.Version)
	assert.ErrorIs(t, st.why, ErrUnknownKeyVersion)

	// A write over data it cannot read is refused, nothing written.
	before := bytes.Clone(f.data)
	_, err = planWrite(st, l, testKey(1), "k", 1, testBind, []byte("x"), bytes.NewReader(make([]byte, 12)), false)
	assert.ErrorIs(t, err, ErrUnreadableSlots)
	assert.Equal(t, before, f.data)

	// Flip one ciphertext bit: GCM fails, nothing is returned.
	f.data[HeaderLen+1] ^= 0x40
	st, err = read(f, l)
	require.NoError(t, err)
	assert.ErrorIs(t, st.why, ErrAuthentication)
	assert.Nil(t, st.plain)
}

func TestEnvelopeRoundTripAndLayout(t *testing.T) {
	env, err := SealEnvelope(testKey(1), Header{KeyID: "k", KeyVersion: 7, Generation: 3}, testBind, []byte("hello"), bytes.NewReader(bytes.Repeat([]byte{0xAB}, 12)))
	require.NoError(t, err)
	require.Len(t, env, Overhead+5)
	assert.Equal(t, []byte{'F', 'D', 0x02, 0x01, 'k'}, env[:5], "format 02 by default")
	assert.Equal(t, []byte{0, 0, 0, 7, 0, 0, 0, 3}, env[20:28])
	assert.Equal(t, bytes.Repeat([]byte{0xAB}, 12), env[28:40])
	assert.Equal(t, []byte{0, 5}, env[40:42])
	h, pt, err := OpenEnvelope(testKey(1), testBind, env)
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), pt)
	assert.Equal(t, uint32(7), h.KeyVersion)
	_, _, err = OpenEnvelope(testKey(2), testBind, env)
	assert.ErrorIs(t, err, ErrAuthentication)
	_, _, err = OpenEnvelope(testKey(1), testBind, env[:len(env)-1])
	assert.ErrorIs(t, err, profile.ErrMalformed)
	_, err = SealEnvelope(testKey(1)[:16], Header{KeyID: "k", KeyVersion: 1, Generation: 1}, testBind, nil, bytes.NewReader(make([]byte, 12)))
	assert.ErrorIs(t, err, ErrKey)
	_, err = SealEnvelope(testKey(1), Header{KeyID: "a key id that is too long", KeyVersion: 1, Generation: 1}, testBind, nil, bytes.NewReader(make([]byte, 12)))
	assert.ErrorIs(t, err, ErrKey)
	_, err = SealEnvelope(testKey(1), Header{Format: 0x03, KeyID: "k", KeyVersion: 1, Generation: 1}, testBind, nil, bytes.NewReader(make([]byte, 12)))
	assert.ErrorIs(t, err, ErrKey)

	// Format 01 is still sealable (for tests and migration tools) and
	// parses; the format byte is bound by the tag.
	old, err := SealEnvelope(testKey(1), Header{Format: Format01, KeyID: "k", KeyVersion: 7, Generation: 3}, testBind, []byte("hello"), bytes.NewReader(make([]byte, 12)))
	require.NoError(t, err)
	assert.Equal(t, Format01, old[2])
	h, _, err = OpenEnvelope(testKey(1), testBind, old)
	require.NoError(t, err)
	assert.Equal(t, Format01, h.Format)
	old[2] = Format02
	_, _, err = OpenEnvelope(testKey(1), testBind, old)
	assert.ErrorIs(t, err, ErrAuthentication, "format byte changed")
	old[2] = 0x03
	_, err = ParseHeader(old)
	assert.ErrorIs(t, err, profile.ErrMalformed)
}

func FuzzParseHeader(f *testing.F) {
	env, _ := SealEnvelope(testKey(1), Header{KeyID: "typed-data", KeyVersion: 1, Generation: 1}, testBind, []byte("x"), bytes.NewReader(make([]byte, 12)))
	f.Add(env)
	f.Add(env[:HeaderLen])
	f.Add([]byte("FD"))
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		if h.KeyVersion == 0 || h.Generation == 0 || !validKeyID(h.KeyID) {
			t.Fatalf("accepted invalid header %+v", h)
		}
		_, _, _ = OpenEnvelope(testKey(1), testBind, b)
	})
}

func FuzzLoadState(f *testing.F) {
	l := layout{capacity: 600}
	m := &memFile{data: make([]byte, l.capacity), chunk: 223, budget: -1}
	_ = write(f, m, l, 1, []byte("seed"), 1)
	f.Add(bytes.Clone(m.data))
	_ = write(f, m, l, 2, []byte("seed two"), 2)
	f.Add(bytes.Clone(m.data))
	f.Add(make([]byte, l.capacity))
	f.Fuzz(func(t *testing.T, b []byte) {
		mf := &memFile{data: b, chunk: 223, budget: -1}
		st, err := read(mf, l)
		if err != nil {
			t.Fatal(err)
		}
		if st.current < 0 && st.why == nil {
			t.Fatal("no data and no reason")
		}
	})
}

func FuzzContent(f *testing.F) {
	c := Content{Identity: profile.Identity{UserID: "U1"}, Data: []byte("payload")}
	b, _ := c.MarshalBinary()
	f.Add(b)
	f.Add([]byte{0x70, 0x04, 0x80, 0x02, 'U', '1'})
	f.Add([]byte{0x70, 0x04, 0x80, 0x02, 'U', '1', 0x53, 0x82, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Content
		if err := c.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, profile.ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var d Content
		if err := d.UnmarshalBinary(out); err != nil {
			t.Fatal(err)
		}
	})
}
