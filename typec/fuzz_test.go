package typec

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// FuzzReadIdentityEF drives the whole Identity path (READ BINARY with
// Le 00, header parsing, follow-up reads, validation) with arbitrary EF
// contents. Every outcome must be a valid Identity whose encoding starts
// the EF, or one of the package's typed errors; never a panic or a hang.
func FuzzReadIdentityEF(f *testing.F) {
	for _, s := range []string{
		"700480025531",
		"700480025531FFFFFFFF",
		"700e8002553181083230333030333331",
		"7014800255 31a10e8004646570748106e7b78fe58b99",
		"7082010180025531",
		"708200048002553100",
		"FFFFFFFF",
		"0000",
		"",
		"7081",
		"70838000048002553 1",
		"71048002553 1",
	} {
		f.Add(mustHex(s))
	}
	long, _ := profile.Identity{UserID: "X", Attributes: []profile.Attribute{{Name: "n", Value: string(bytes.Repeat([]byte("v"), 255))}, {Name: "m", Value: "w"}}}.MarshalBinary()
	f.Add(long)
	f.Fuzz(func(t *testing.T, ef []byte) {
		card := newEFCard(mustHex(testCUIDHex), ef)
		res, err := Read(context.Background(), card, Config{})
		if card.apdus > 3+profile.MaxIdentityBytes/apdu.MaxShortNe {
			t.Fatalf("%d APDUs for an EF of %d bytes", card.apdus, len(ef))
		}
		if err != nil {
			if !errors.Is(err, profile.ErrMalformed) && !errors.Is(err, profile.ErrNotPersonalized) {
				t.Fatalf("untyped error %v", err)
			}
			if errors.Is(err, profile.ErrMalformed) && !errors.Is(err, profile.ErrInvalidIdentity) && !errors.Is(err, apdu.ErrMalformedResponse) {
				t.Fatalf("malformed identity error does not say why: %v", err)
			}
			return
		}
		if _, err := res.Identity.MarshalBinary(); err != nil {
			t.Fatalf("identity read from the card does not re-encode: %v", err)
		}
		total, ok := objectLen(ef)
		if !ok || total > len(ef) {
			t.Fatalf("identity accepted without a complete object on the card")
		}
		again, err := profile.ParseIdentity(ef[:total])
		if err != nil || again.UserID != res.Identity.UserID || len(again.Attributes) != len(res.Identity.Attributes) {
			t.Fatalf("identity %+v is not the object at the start of the EF", res.Identity)
		}
		if !erased(ef[total:max(total, min(len(ef), apdu.MaxShortNe))]) {
			t.Fatalf("non-padding bytes after the object accepted")
		}
	})
}

// sfiOverride passes every APDU to a card and replaces its answers to the
// first and the second READ BINARY by short EF identifier with fuzzed
// bytes.
type sfiOverride struct {
	card    *efCard
	answers [2][]byte
	n       int
}

func (o *sfiOverride) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	r, err := o.card.Transmit(ctx, cmd)
	if err != nil || len(cmd) < 4 || cmd[1] != byte(apdu.InsReadBinary) || cmd[2]&p1ShortEF == 0 || o.n >= len(o.answers) {
		return r, err
	}
	o.n++
	return append([]byte(nil), o.answers[o.n-1]...), nil
}

// FuzzReadSFIAnswers gives the reads by short EF identifier arbitrary
// answers (refusals, data, malformed responses) on an otherwise correct
// card, so that the fallback to SELECT EF and its bookkeeping meet
// anything a card can send. Every outcome must be a read, profile.ErrMalformed,
// profile.ErrNotPersonalized or a *StatusError, within a bounded number of APDUs.
func FuzzReadSFIAnswers(f *testing.F) {
	cuid := mustHex(testCUIDHex + "9000")
	for _, s := range [][2]string{
		{"6A81", "6A81"}, {"6A86", ""}, {"6986", "9000"}, {"6A82", "6A82"},
		{"6981", "6B00"}, {"6B00", "6B00"}, {"6982", ""}, {"6D00", ""},
		{"6C10", "6C06"}, {"6110", "6106"}, {"90", "6A"}, {"", ""},
		{testCUIDHex + "6282", "700480025531 6282"}, {testCUIDHex + "00 9000", "6282"},
		{"FFEEDDCCBBAA99887766554433221100 9000", "7082010180025531 9000"},
	} {
		f.Add(mustHex(s[0]), mustHex(s[1]))
	}
	f.Add(cuid, mustHex("700480025531FFFF9000"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		card := newEFCard(mustHex(testCUIDHex), mustHex("700480025531FFFF"))
		tr := &sfiOverride{card: card, answers: [2][]byte{a, b}}
		res, err := Read(context.Background(), tr, Config{})
		// SELECT AP, two reads by SFI and their fallbacks, GET RESPONSE
		// and 6Cxx rounds on the fuzzed answers (the card itself answers
		// GET RESPONSE with 6D00), the rest of a long Identity.
		if card.apdus > 3+2*2+2*2+profile.MaxIdentityBytes/apdu.MaxShortNe {
			t.Fatalf("%d APDUs", card.apdus)
		}
		if res.APDUs != card.apdus {
			t.Fatalf("Result.APDUs %d, the card saw %d", res.APDUs, card.apdus)
		}
		if err != nil {
			var se *StatusError
			if !errors.Is(err, profile.ErrMalformed) && !errors.Is(err, profile.ErrNotPersonalized) && !errors.As(err, &se) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if res.CUID.String() != testCUIDHex && !bytes.HasPrefix(a, res.CUID[:]) {
			t.Fatalf("CUID %v neither the card's nor the answer's", res.CUID)
		}
		if _, err := res.Identity.MarshalBinary(); err != nil {
			t.Fatalf("identity does not re-encode: %v", err)
		}
	})
}
