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
		if card.apdus > 5+profile.MaxIdentityBytes/apdu.MaxShortNe {
			t.Fatalf("%d APDUs for an EF of %d bytes", card.apdus, len(ef))
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotPersonalized) {
				t.Fatalf("untyped error %v", err)
			}
			if errors.Is(err, ErrMalformed) && !errors.Is(err, profile.ErrInvalidIdentity) && !errors.Is(err, apdu.ErrMalformedResponse) {
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
