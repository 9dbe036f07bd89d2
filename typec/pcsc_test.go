package typec_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/testsupport/pcsctest"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/typec"
)

// pullBefore is a transport decorator that pulls the card out of its vpcd
// slot just before the nth APDU and waits until pcscd has seen the slot
// empty, so the APDU meets a card that is really gone.
type pullBefore struct {
	next apdu.Transport
	n    int
	pull func()
	sent int
}

func (p *pullBefore) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	p.sent++
	if p.sent == p.n {
		p.pull()
	}
	return p.next.Transmit(ctx, cmd)
}

// Unwrap exposes the reader's card, so typec.Read still runs in its PC/SC
// transaction.
func (p *pullBefore) Unwrap() apdu.Transport { return p.next }

// noSFIAID is the AID of a second Type C AP on the PC/SC test card, one
// whose EFs have no short EF identifiers.
func noSFIAID() profile.AID {
	return profile.AID{0xF0, 0x46, 0x52, 0x45, 0x45, 0x53, 0x50, 0x41, 0x43, 0x45, 0x58}
}

// TestReadThroughPCSC goes mock card -> vpcd -> a real pcscd -> ebfe/scard
// -> reader -> typec: a read, a card without the AP, the card pulled out
// in the middle of a read (between the reads of EF.CUID and EF.Identity
// by short EF identifier, inside the read's transaction), reinsertion and
// a read on the same connection after Reconnect.
func TestReadThroughPCSC(t *testing.T) {
	slot := pcsctest.Acquire(t)
	id := profile.Identity{UserID: "PCSC-0001"}
	noSFI := withoutSFI(typeCSpec(encode(t, id, 40, 0xFF)))
	noSFI.AID = noSFIAID()
	card := mockcard.MustNew(mockcard.WithAP(typeCSpec(encode(t, id, 40, 0xFF))), mockcard.WithAP(noSFI))
	conn := slot.Attach(t, card)

	ctx := context.Background()
	rc := pcsctest.NewContext(t)
	cd, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cd.Close() })

	res, err := typec.Read(ctx, cd, typec.Config{})
	require.NoError(t, err)
	assert.Equal(t, id, res.Identity)
	assert.Equal(t, testCUID, res.CUID)
	assert.Equal(t, 3, res.APDUs)

	// A card whose EFs have no short EF identifiers, through the same
	// stack: the fallback to SELECT EF and its APDU count.
	res, err = typec.Read(ctx, cd, typec.Config{AID: noSFIAID()})
	require.NoError(t, err)
	assert.Equal(t, id, res.Identity)
	assert.Equal(t, 7, res.APDUs)
	res, err = typec.Read(ctx, cd, typec.Config{AID: noSFIAID(), SelectByFID: true})
	require.NoError(t, err)
	assert.Equal(t, 5, res.APDUs)

	_, err = typec.Read(ctx, cd, typec.Config{AID: profile.AID{0xF0, 0, 0, 0, 0, 1}})
	assert.ErrorIs(t, err, profile.ErrNotPresent)

	pull := &pullBefore{next: cd, n: 3, pull: func() {
		_ = conn.Close()
		pcsctest.WaitAbsent(t, slot)
	}}
	_, err = typec.Read(ctx, pull, typec.Config{})
	require.Error(t, err)
	assert.ErrorIs(t, err, apdu.ErrCardRemoved)

	slot.Attach(t, card)
	require.NoError(t, cd.Reconnect(ctx))
	res, err = typec.Read(ctx, cd, typec.Config{})
	require.NoError(t, err, "reads again after reinsertion")
	assert.Equal(t, id, res.Identity)
}

// TestReadThroughPCSCCardVanishesMidAPDU lets the card leave while pcscd
// waits for its answer (the card closes its vpcd connection on receiving
// the READ BINARY of EF.Identity). The read must fail with a typed error, never hang or
// return data, and the next card works.
func TestReadThroughPCSCCardVanishesMidAPDU(t *testing.T) {
	slot := pcsctest.Acquire(t)
	id := profile.Identity{UserID: "PCSC-0002"}
	card := mockcard.MustNew(mockcard.WithAP(typeCSpec(encode(t, id, 0, 0))))
	slot.Attach(t, card)
	ctx := context.Background()
	rc := pcsctest.NewContext(t)
	cd, err := rc.Connect(ctx, slot.ReaderName, reader.ConnectOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cd.Close() })

	require.NoError(t, card.Inject(mockcard.RemoveBefore(3)))
	_, err = typec.Read(ctx, cd, typec.Config{})
	require.Error(t, err)
	// pcscd's vpcd driver reports a card that disconnects during an
	// exchange either as a removal or as an empty answer, depending on
	// timing; package reader maps both to a removal, so the terminal says
	// "tap again" rather than "bad card data".
	assert.ErrorIs(t, err, apdu.ErrCardRemoved)
	pcsctest.WaitAbsent(t, slot)

	card.Insert()
	slot.Attach(t, card)
	require.NoError(t, cd.Reconnect(ctx))
	res, err := typec.Read(ctx, cd, typec.Config{})
	require.NoError(t, err)
	assert.Equal(t, id, res.Identity)
}
