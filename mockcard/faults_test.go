package mockcard

import (
	"bytes"
	"context"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func txErr(c *Card, cmd string) ([]byte, error) {
	return c.Transmit(context.Background(), mustHex(cmd))
}

func TestRemoveBeforeAndAfter(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	tx(t, c, "002000810431323334")
	tx(t, c, "00A4020C020101")

	require.NoError(t, c.Inject(RemoveBefore(1)))
	_, err := txErr(c, "00D6000001AA")
	require.ErrorIs(t, err, apdu.ErrCardRemoved)
	assert.False(t, c.Present())
	_, err = txErr(c, "00B0000001")
	require.ErrorIs(t, err, apdu.ErrCardRemoved, "every later call fails until Insert")
	data, _ := c.ReadEF(testAID, 0x0101)
	assert.Equal(t, "hello", string(data), "not executed")

	c.Insert()
	tx(t, c, selTest)
	tx(t, c, "002000810431323334")
	tx(t, c, "00A4020C020101")
	require.NoError(t, c.Inject(RemoveAfter(1)))
	_, err = txErr(c, "00D6000001AA")
	require.ErrorIs(t, err, apdu.ErrCardRemoved)
	data, _ = c.ReadEF(testAID, 0x0101)
	assert.Equal(t, "\xAAello", string(data), "executed, response lost")

	c.Insert()
	assert.Equal(t, "6A88", tx(t, c, "00200081"), "reinsertion is a cold reset: MF selected")
}

func TestFaultCountsFromInjection(t *testing.T) {
	c := newTestCard(t)
	require.NoError(t, c.Inject(RemoveBefore(3)))
	tx(t, c, selTest)
	tx(t, c, "00A4020C020101")
	assert.Equal(t, 1, c.PendingFaults())
	_, err := txErr(c, "00B0000001")
	require.ErrorIs(t, err, apdu.ErrCardRemoved)
	assert.Equal(t, 0, c.PendingFaults())

	c.Insert()
	require.NoError(t, c.Inject(RemoveAfter(1)))
	c.ClearFaults()
	assert.Equal(t, "9000", tx(t, c, selTest))
}

func TestForce61And6C(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	tx(t, c, "00A4020C020101")
	require.NoError(t, c.Inject(Force61(1)))
	assert.Equal(t, "6105", tx(t, c, "00B0000005"))
	assert.Equal(t, "68656C6C6F9000", tx(t, c, "00C0000005"))

	require.NoError(t, c.Inject(Force6C(1)))
	assert.Equal(t, "6C05", tx(t, c, "00B0000000"))
	assert.Equal(t, "68656C6C6F9000", tx(t, c, "00B0000005"))

	// The apdu Channel copes with both.
	ch := apdu.NewChannel(c, apdu.ChannelConfig{})
	require.NoError(t, c.Inject(Force61(1)))
	data, err := ch.Do(context.Background(), apdu.Command{INS: apdu.InsReadBinary, Ne: 5})
	require.NoError(t, err)
	assert.Equal(t, "hello", string(data))
	require.NoError(t, c.Inject(Force6C(1)))
	data, err = ch.Do(context.Background(), apdu.Command{INS: apdu.InsReadBinary, Ne: 3})
	require.NoError(t, err)
	assert.Equal(t, "hel", string(data))
}

func TestTruncate(t *testing.T) {
	c := newTestCard(t)
	tx(t, c, selTest)
	tx(t, c, "00A4020C020101")
	require.NoError(t, c.Inject(Truncate(1, 2)))
	assert.Equal(t, "68659000", tx(t, c, "00B0000005"))
	require.NoError(t, c.Inject(Truncate(1, 0)))
	assert.Equal(t, "9000", tx(t, c, "00B0000005"))
}

func TestInjectRejectsBadFaults(t *testing.T) {
	c := newTestCard(t)
	for _, f := range []Fault{{Kind: 0, At: 1}, {Kind: FaultTear, At: 0}, {Kind: FaultTruncate, At: 1, Bytes: -1}, {Kind: 99, At: 1}} {
		assert.ErrorIs(t, c.Inject(f), ErrConfig, "%+v", f)
	}
	assert.ErrorIs(t, c.Inject(RemoveBefore(1), RemoveBefore(0)), ErrConfig)
	assert.Zero(t, c.PendingFaults(), "an invalid fault schedules none of the batch")
}

// TestTearingExhaustive shows the pattern an exhaustive tearing test uses:
// for every APDU of an operation and every byte of its write, tear there,
// then check what the card holds. Here the operation is two UPDATE BINARY
// chunks over EF 0101; every outcome must be a prefix-wise mix of old and
// new content, exactly the bytes written before the tear.
func TestTearingExhaustive(t *testing.T) {
	base := newTestCard(t)
	old, _ := base.ReadEF(testAID, 0x0101)
	chunks := [][]byte{[]byte("ABCDEFGH"), []byte("IJKLMNOP")}
	op := []string{selTest, "002000810431323334", "00A4020C020101",
		"00D6000008" + encodeHex(chunks[0]), "00D6000808" + encodeHex(chunks[1])}
	for n := 1; n <= len(op); n++ {
		for k := 0; k <= 8; k++ {
			c, err := base.Clone()
			require.NoError(t, err)
			require.NoError(t, c.Inject(Tear(n, k)))
			var failed bool
			for _, cmd := range op {
				if _, err := txErr(c, cmd); err != nil {
					require.ErrorIs(t, err, apdu.ErrCardRemoved)
					failed = true
					break
				}
			}
			require.True(t, failed, "APDU %d byte %d: the card must have been removed", n, k)
			got, _ := c.ReadEF(testAID, 0x0101)
			want := append([]byte(nil), old...)
			write := func(off int, b []byte) {
				if end := off + len(b); end > len(want) {
					want = append(want, make([]byte, end-len(want))...)
				}
				copy(want[off:], b)
			}
			switch {
			case n == 4:
				write(0, chunks[0][:k])
			case n == 5:
				write(0, chunks[0])
				write(8, chunks[1][:k])
			}
			assert.True(t, bytes.Equal(want, got), "APDU %d byte %d: got %q want %q", n, k, got, want)
		}
	}
}

func TestTearRecords(t *testing.T) {
	spec := testSpec()
	spec.Lifecycle = Personalization
	c, err := New(WithAP(spec))
	require.NoError(t, err)
	tx(t, c, selTest)
	require.NoError(t, c.Inject(Tear(1, 1)))
	_, err = txErr(c, "00DC011403414243")
	require.ErrorIs(t, err, apdu.ErrCardRemoved)
	recs, _ := c.ReadRecords(testAID, 0x0102)
	assert.Equal(t, "A1", string(recs[0]), "first byte new, rest old")
	c.Insert()
	tx(t, c, selTest)
	require.NoError(t, c.Inject(Tear(1, 2)))
	_, err = txErr(c, "00E200100378797A")
	require.ErrorIs(t, err, apdu.ErrCardRemoved)
	recs, _ = c.ReadRecords(testAID, 0x0102)
	require.Len(t, recs, 3)
	assert.Equal(t, "xy", string(recs[2]))
}

func TestStatsAndTranscript(t *testing.T) {
	tr := &Transcript{}
	c := newTestCard(t, WithTranscript(tr))
	tx(t, c, selTest)
	tx(t, c, "002000810431323334")
	st := c.Stats()
	assert.Equal(t, 2, st.APDUs)
	assert.Equal(t, 11+9, st.BytesIn)
	assert.Equal(t, 4, st.BytesOut)
	assert.Equal(t, 2, tr.Len())
	assert.Equal(t, 1, tr.Count(apdu.InsVerify))
	assert.Equal(t, []apdu.StatusWord{apdu.SWSuccess, apdu.SWSuccess}, tr.SWs())
	last, ok := tr.Last()
	require.True(t, ok)
	assert.Equal(t, apdu.SWSuccess, last.SW())
	assert.NotContains(t, tr.String(), "31323334", "PIN masked")
	assert.Contains(t, tr.String(), "C: 0020008104** R: 9000")
	c.ResetStats()
	assert.Equal(t, Stats{}, c.Stats())
	c.Remove()
	_, err := txErr(c, selTest)
	require.Error(t, err)
	last, _ = tr.Last()
	assert.ErrorIs(t, last.Err, apdu.ErrCardRemoved)
	assert.Equal(t, 0, c.Stats().APDUs, "APDUs to a removed card are not counted")
	tr.Clear()
	assert.Equal(t, 0, tr.Len())
}

func TestContextCancelled(t *testing.T) {
	c := newTestCard(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Transmit(ctx, mustHex(selTest))
	assert.ErrorIs(t, err, context.Canceled)
}

// 6Cxx announces at most 256 bytes (SW2 00): a forced 6Cxx on a longer
// response must not announce the length modulo 256.
func TestForce6CLongResponse(t *testing.T) {
	big := make([]byte, 300)
	for i := range big {
		big[i] = byte(i)
	}
	c := MustNew(WithAP(APSpec{Name: "big", AID: testAID, Lifecycle: Operational, EFs: []EFSpec{{
		FID: 0x0101, Kind: Transparent, MaxSize: len(big), Data: big,
		Operational: Access{Read: Always(), Update: Never(), Append: Never()},
	}}}))
	tx(t, c, selTest)
	tx(t, c, "00A4020C020101")
	require.NoError(t, c.Inject(Force6C(1)))
	resp := tx(t, c, "00B00000000000") // extended Le 0000: everything
	assert.Equal(t, "9000", sw(resp))
	assert.Len(t, resp, 2*(300+2), "the whole EF, not 6C2C")
	assert.Equal(t, 0, c.PendingFaults())

	require.NoError(t, c.Inject(Force6C(1)))
	assert.Equal(t, "6C00", tx(t, c, "00B0000000"), "256 bytes: 6C00")
}
