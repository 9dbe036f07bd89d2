package typed_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/apdu/apdutest"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/keystest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typed"
)

var fixedCUID = profile.CUID{0xC0, 0x01, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// seeded is a deterministic randomness source for reproducible cards.
type seeded struct{ r *rand.ChaCha8 }

func newSeeded(seed byte) *seeded { return &seeded{rand.NewChaCha8([32]byte{seed})} }

func (s *seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func newCard(t testing.TB, st *keys.Store, opts ...mockcard.Option) *mockcard.Card {
	t.Helper()
	card, err := mockcard.New(append([]mockcard.Option{mockcard.WithRand(newSeeded(1)),
		mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID, Keys: mockcard.APKeys{Masters: st}})}, opts...)...)
	require.NoError(t, err)
	return card
}

func content(user string, n int) typed.Content {
	return typed.Content{Identity: profile.Identity{UserID: user, Attributes: []profile.Attribute{{Name: "name", Value: "山田 太郎"}}},
		Data: bytes.Repeat([]byte(user[:1]), n)}
}

func TestWriteReadRotate(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := newCard(t, st)
	cfg := typed.Config{Keys: st, Rand: newSeeded(2)}
	ap, err := typed.Open(ctx, card, cfg, nil)
	require.NoError(t, err)
	_, err = ap.Read(ctx)
	require.ErrorIs(t, err, typed.ErrNoData)

	c1 := content("Alice", 1000)
	require.NoError(t, ap.Write(ctx, c1, typed.WriteOptions{}))
	got, err := ap.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, c1, got.Content)

	// Rotation: add data key v2, re-encrypt, read with v2 only.
	keystest.AddDataKey(st, 2)
	from, to, err := ap.Rotate(ctx, typed.RotateOptions{})
	require.NoError(t, err)
	assert.Equal(t, uint32(1), from)
	assert.Equal(t, uint32(2), to)
	_, rep, err := ap.ReadRaw(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint32(2), rep.Header.KeyVersion)
	assert.Equal(t, uint32(2), rep.Header.Generation)

	// A terminal without v2 gets a typed error, never the stale v1 copy.
	old := keystest.Store(1)
	ap2, err := typed.Open(ctx, card, typed.Config{Keys: old}, nil)
	require.NoError(t, err)
	_, err = ap2.Read(ctx)
	var kv *typed.KeyVersionError
	require.ErrorAs(t, err, &kv)
	assert.Equal(t, uint32(2), kv.Version)
	assert.ErrorIs(t, err, typed.ErrUnknownKeyVersion)
}

func TestCapacityExceededWritesNothing(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := newCard(t, st)
	ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	card.ResetStats()
	err = ap.Write(ctx, content("Bob", 4000), typed.WriteOptions{})
	var ce *typed.CapacityError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 2048, ce.Have)
	assert.Greater(t, ce.Need, 4000)
	assert.ErrorIs(t, err, typed.ErrCapacity)
	data, err := card.ReadEF(profile.DefaultAID(profile.TypeD), profile.FIDData)
	require.NoError(t, err)
	assert.Equal(t, make([]byte, 4096), data, "nothing written")
	assert.Equal(t, 2048-typed.Overhead, ap.Capacity())

	// Once the size is known (learnt from the FCP, or configured), the
	// check comes before any APDU.
	card.ResetStats()
	err = ap.Write(ctx, content("Bob", 4000), typed.WriteOptions{})
	require.ErrorAs(t, err, &ce)
	assert.Zero(t, card.Stats().APDUs, "refused before any APDU")
	ap, err = typed.Open(ctx, card, typed.Config{Keys: st, Capacity: 4096}, nil)
	require.NoError(t, err)
	card.ResetStats()
	require.ErrorAs(t, ap.Write(ctx, content("Bob", 4000), typed.WriteOptions{}), &ce)
	assert.Zero(t, card.Stats().APDUs)
}

func TestCopiedToAnotherCardFails(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := newCard(t, st)
	ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	require.NoError(t, ap.Write(ctx, content("Carol", 100), typed.WriteOptions{}))
	data, err := card.ReadEF(profile.DefaultAID(profile.TypeD), profile.FIDData)
	require.NoError(t, err)

	// A second card with another CUID gets the same EF bytes.
	other := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}, Data: data}))
	ap2, err := typed.Open(ctx, other, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	_, err = ap2.Read(ctx)
	require.ErrorIs(t, err, typed.ErrAuthentication)
	// And refuses to overwrite what it cannot read.
	err = ap2.Write(ctx, content("Mallory", 10), typed.WriteOptions{})
	require.ErrorIs(t, err, typed.ErrUnreadableSlots)
}

func TestCardSwappedAborts(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := newCard(t, st)
	other := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}}))
	sw := &apdutest.Interceptor{Next: card} // forwards to one card, then to another
	ap, err := typed.Open(ctx, sw, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	require.NoError(t, ap.Write(ctx, content("Dave", 300), typed.WriteOptions{}))
	sw.Next = other
	_, err = ap.Read(ctx)
	require.Error(t, err)
	err = ap.Write(ctx, content("Eve", 300), typed.WriteOptions{})
	require.ErrorIs(t, err, typed.ErrCardSwapped)
	ap2, err := typed.Open(ctx, other, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	_, err = ap2.Read(ctx)
	assert.ErrorIs(t, err, typed.ErrNoData, "nothing written on the other card")
}

func TestExtendedLengthFewerAPDUs(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := newCard(t, st, mockcard.WithExtendedLength(true))
	ap, err := typed.Open(ctx, card, typed.Config{Keys: st, ExtendedLength: true}, nil)
	require.NoError(t, err)
	require.NoError(t, ap.Write(ctx, content("Fay", 1024), typed.WriteOptions{}))
	ap, err = typed.Open(ctx, card, typed.Config{Keys: st, ExtendedLength: true}, nil)
	require.NoError(t, err)
	card.ResetStats()
	_, err = ap.Read(ctx)
	require.NoError(t, err)
	assert.LessOrEqual(t, card.Stats().APDUs, 3, "SELECT EF and one READ BINARY per slot")
}

// TestTearingOnCard injects a fault at every APDU of a multi-chunk write
// (card removed before it, after it, and torn after every byte of each
// UPDATE BINARY) and checks that a fresh session then reads the old or the
// new content, never an error, and that writing again works.
func TestTearingOnCard(t *testing.T) {
	if testing.Short() {
		t.Skip("exhaustive fault injection")
	}
	ctx := context.Background()
	st := keystest.Store(1)
	oldC, newC := content("Old", 700), content("New", 900)

	setup := func() (*mockcard.Card, *typed.AP) {
		card := newCard(t, st)
		ap, err := typed.Open(ctx, card, typed.Config{Keys: st, Rand: newSeeded(3)}, nil)
		require.NoError(t, err)
		require.NoError(t, ap.Write(ctx, oldC, typed.WriteOptions{}))
		require.NoError(t, ap.Write(ctx, content("Mid", 650), typed.WriteOptions{}))
		require.NoError(t, ap.Write(ctx, oldC, typed.WriteOptions{}))
		return card, ap
	}
	// Dry run: record the APDUs of the write.
	card, ap := setup()
	card.ResetStats()
	require.NoError(t, ap.Write(ctx, newC, typed.WriteOptions{}))
	n := card.Stats().APDUs
	require.Greater(t, n, 8, "a multi-chunk write")

	check := func(label string, card *mockcard.Card) {
		t.Helper()
		if !card.Present() {
			card.Insert()
		}
		ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
		require.NoError(t, err, label)
		got, err := ap.Read(ctx)
		require.NoError(t, err, "%s: never garbage, never no data", label)
		if !assert.True(t, equalContent(got.Content, oldC) || equalContent(got.Content, newC), label) {
			return
		}
		require.NoError(t, ap.Write(ctx, content("Next", 100), typed.WriteOptions{}), label)
		got, err = ap.Read(ctx)
		require.NoError(t, err, label)
		require.Equal(t, "Next", got.Identity.UserID, label)
	}
	cases := 0
	for i := 1; i <= n; i++ {
		for _, kind := range []mockcard.FaultKind{mockcard.FaultRemoveBefore, mockcard.FaultRemoveAfter} {
			card, ap := setup()
			require.NoError(t, card.Inject(mockcard.Fault{Kind: kind, At: i}))
			err := ap.Write(ctx, newC, typed.WriteOptions{})
			require.Error(t, err)
			check(fmt.Sprintf("APDU %d %v", i, kind), card)
			cases++
		}
	}
	// Tear every UPDATE BINARY after every byte. The write's last
	// len(chunks) APDUs are the UPDATE BINARY commands.
	env := len(mustMarshal(t, newC)) + typed.Overhead
	chunk := 223
	chunks := (env + chunk - 1) / chunk
	for c := 0; c < chunks; c++ {
		size := min(chunk, env-c*chunk)
		for k := 1; k < size; k++ {
			card, ap := setup()
			require.NoError(t, card.Inject(mockcard.Tear(n-chunks+1+c, k)))
			err := ap.Write(ctx, newC, typed.WriteOptions{})
			require.Error(t, err)
			check(fmt.Sprintf("chunk %d torn after %d bytes", c, k), card)
			cases++
		}
	}
	t.Logf("%d fault cases over a %d-APDU write of %d chunks", cases, n, chunks)
}

func equalContent(a, b typed.Content) bool {
	return a.Identity.UserID == b.Identity.UserID && bytes.Equal(a.Data, b.Data)
}

func mustMarshal(t testing.TB, c typed.Content) []byte {
	b, err := c.MarshalBinary()
	require.NoError(t, err)
	return b
}

func TestCapacityFromCard(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{Keys: mockcard.APKeys{Masters: st}, Capacity: 1000}))
	ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	err = ap.Write(ctx, content("Gil", 600), typed.WriteOptions{})
	var ce *typed.CapacityError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 500, ce.Have, "the card's 1000 bytes make two slots of 500")
	require.NoError(t, ap.Write(ctx, content("Gil", 400), typed.WriteOptions{}))
	assert.Equal(t, 500-typed.Overhead, ap.Capacity())

	ap, err = typed.Open(ctx, card, typed.Config{Keys: st, Capacity: 4096}, nil)
	require.NoError(t, err)
	_, err = ap.Read(ctx)
	assert.ErrorIs(t, err, profile.ErrMalformed, "a configured capacity the card does not have")
}

func TestRead1KiBAPDUCount(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := newCard(t, st)
	ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	pt := mustMarshal(t, typed.Content{Identity: profile.Identity{UserID: "X"}, Data: make([]byte, 1024-9)})
	require.Len(t, pt, 1024)
	require.NoError(t, ap.WriteRaw(ctx, pt, typed.WriteOptions{}))
	card.ResetStats()
	ap, err = typed.Open(ctx, card, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	_, err = ap.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, 10, card.Stats().APDUs, "docs/PROTOCOL.md §7.5: 3 + 1 + 2 + 4")
}

// TestHostileAndFlakyCard: a truncated protected response fails the MAC
// and is never returned as data (the session ends; the next operation
// re-selects, checks the CUID, authenticates again and succeeds); 61xx on
// any APDU of an open and read, and 6Cxx on the plain ones, are handled
// transparently.
func TestHostileAndFlakyCard(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := newCard(t, st)
	ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	want := content("Hal", 800)
	require.NoError(t, ap.Write(ctx, want, typed.WriteOptions{}))

	ap, err = typed.Open(ctx, card, typed.Config{Keys: st}, nil)
	require.NoError(t, err)
	card.ResetStats()
	_, err = ap.Read(ctx)
	require.NoError(t, err)
	n := card.Stats().APDUs
	for i := 1; i <= n; i++ {
		ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
		require.NoError(t, err)
		require.NoError(t, card.Inject(mockcard.Truncate(i, 20)))
		_, err = ap.Read(ctx)
		require.Error(t, err, "truncated response %d", i)
		card.ClearFaults()
		got, err := ap.Read(ctx)
		require.NoError(t, err, "resumed after truncation at %d", i)
		require.Equal(t, want, got.Content)
	}
	for _, kind := range []mockcard.FaultKind{mockcard.FaultForce61, mockcard.FaultForce6C} {
		for i := 1; i <= 10; i++ {
			if kind == mockcard.FaultForce6C && i >= 3 {
				// Only the plain APDUs: the mock executes MUTUAL
				// AUTHENTICATE (consuming the challenge) before it answers
				// a forced 6Cxx, and answers protected commands with a
				// plain 6Cxx, which no secure messaging session survives.
				break
			}
			require.NoError(t, card.Inject(mockcard.Fault{Kind: kind, At: i}))
			ap, err := typed.Open(ctx, card, typed.Config{Keys: st}, nil)
			require.NoError(t, err, "%v at %d", kind, i)
			got, err := ap.Read(ctx)
			require.NoError(t, err, "%v at %d", kind, i)
			require.Equal(t, want, got.Content)
			card.ClearFaults()
		}
	}
}

func TestTypeDMockConfigErrors(t *testing.T) {
	st := keystest.Store(1)
	for _, cfg := range []mockcard.TypeD{
		{Keys: mockcard.APKeys{Masters: st}, Capacity: 40000},
		{Keys: mockcard.APKeys{Masters: st}, Capacity: 10, Data: make([]byte, 11)},
		{},
	} {
		_, err := mockcard.New(mockcard.WithTypeD(cfg))
		assert.ErrorIs(t, err, mockcard.ErrConfig)
	}
}

// fcpLiar returns an interceptor in front of next that rewrites the EF
// size (tag 80) in the FCP answering a plain SELECT EF with P2 = 04 to
// size, and the list of every command it saw.
func fcpLiar(next apdu.Transport, size uint16) (*apdutest.Interceptor, *[][]byte) {
	var cmds [][]byte
	return &apdutest.Interceptor{Next: next, Rewrite: func(e apdutest.Exchange) ([]byte, error) {
		cmds = append(cmds, append([]byte(nil), e.Command...))
		resp := e.Response
		if e.Err != nil || len(e.Command) < 4 || !bytes.Equal(e.Command[:4], []byte{0x00, 0xA4, 0x02, 0x04}) {
			return resp, e.Err
		}
		if i := bytes.Index(resp, []byte{0x80, 0x02}); i >= 0 && i+4 <= len(resp) {
			resp[i+2], resp[i+3] = byte(size>>8), byte(size)
		}
		return resp, nil
	}}, &cmds
}

// TestHostileFCPSize: an EF size in the FCP beyond the 15-bit offsets of
// READ/UPDATE BINARY (ISO/IEC 7816-4 §11.3.3) is the card's error
// (ErrMalformed): the host never lays out slots past 7FFF, where P1 bit 8
// would turn an offset into a short EF identifier and write another file.
func TestHostileFCPSize(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	for _, size := range []uint16{0x8000, 0xFFFF} {
		card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID, Keys: mockcard.APKeys{Masters: st}, Unsealed: true}))
		liar, sent := fcpLiar(card, size)
		ap, err := typed.OpenUnauthenticated(ctx, liar, typed.Config{Keys: st, Rand: newSeeded(3)})
		require.NoError(t, err)
		opts := typed.WriteOptions{KeepAuthentication: true, OverwriteUnreadable: true}
		for range 2 {
			err = ap.Write(ctx, content("Ivy", 100), opts)
			require.ErrorIs(t, err, profile.ErrMalformed, "FCP size %04X", size)
		}
		for _, c := range *sent {
			if len(c) >= 3 && c[1] == 0xD6 {
				t.Errorf("FCP size %04X: UPDATE BINARY sent: % X", size, c[:4])
			}
		}
	}
}

// TestOpenRefusesLastTry: with one try left, Open does not send the
// password unless Config.AllowLastTry (a wrong one would block the card);
// the wrong password of that attempt never reaches the card, so the right
// one still works afterwards.
func TestOpenRefusesLastTry(t *testing.T) {
	ctx := context.Background()
	st := keystest.Store(1)
	card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID, Keys: mockcard.APKeys{Masters: st},
		Password: &mockcard.APPassword{Value: profile.Password("1234"), MaxTries: 3}}))
	cfg := typed.Config{Keys: st, Password: profile.PasswordAfterAuth}
	for left := 2; left >= 1; left-- {
		_, err := typed.Open(ctx, card, cfg, profile.Password("0000"))
		var te *apdu.TriesError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, left, te.Remaining)
	}
	_, err := typed.Open(ctx, card, cfg, profile.Password("0000"))
	require.ErrorIs(t, err, typed.ErrLastTry)
	cfg.AllowLastTry = true
	ap, err := typed.Open(ctx, card, cfg, profile.Password("1234"))
	require.NoError(t, err, "the refused wrong password was never sent")
	require.NoError(t, ap.Close())
}

// TestFCPSizeOnThreeBytes: the card's EF size is taken from tag 80 however
// many bytes encode it (3 or 4 here), not silently replaced by the default
// capacity.
func TestFCPSizeOnThreeBytes(t *testing.T) {
	for _, n := range []int{3, 4} {
		t.Run(fmt.Sprintf("%d bytes", n), func(t *testing.T) {
			ctx := context.Background()
			st := keystest.Store(1)
			card := mockcard.MustNew(mockcard.WithTypeD(mockcard.TypeD{CUID: fixedCUID, Keys: mockcard.APKeys{Masters: st}, Capacity: 1000, Unsealed: true}), mockcard.WithFCPSizeLen(n))
			ap, err := typed.OpenUnauthenticated(ctx, card, typed.Config{Keys: st})
			require.NoError(t, err)
			opts := typed.WriteOptions{KeepAuthentication: true}
			err = ap.Write(ctx, content("Jan", 600), opts)
			var ce *typed.CapacityError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, 500, ce.Have, "two slots of the card's 1000 bytes")
			require.NoError(t, ap.Write(ctx, content("Jan", 400), opts))
			assert.Equal(t, 500-typed.Overhead, ap.Capacity())
		})
	}
}
