package personalize

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// Card-key sets (docs/PROTOCOL.md §5.3, §5.4, §8.1): a personalization
// run leaves the AP with the newest key set the terminal holds whole (or
// the one Request.KeySet names), rekeying the AP in place first when the
// loading system loaded an older one; RekeyTypeA and RekeyTypeD rotate
// the keys of an AP in the field.

// RekeyOptions tune RekeyTypeA and RekeyTypeD.
type RekeyOptions struct {
	// To is the key-set version the AP holds afterwards, 1 to 255; 0:
	// the newest set the key provider holds whole (it must list its
	// versions, keys.VersionLister).
	To int
}

// RekeyResult reports a rekey.
type RekeyResult struct {
	// CUID is the card-unique identifier of the AP.
	CUID profile.CUID
	// From is the key-set version the AP held before, To the one it
	// holds now.
	From, To int
	// AlreadyDone: the AP held key set To already (a run whose commit
	// went through before the card was pulled); it authenticated with
	// that set's administrative key and nothing was changed.
	AlreadyDone bool
}

// keyed is what the key-set steps need of an opened Type A or Type D AP.
type keyed interface {
	CUID() profile.CUID
	KeySet() int
	Rekey(ctx context.Context, to int) error
	Authenticate(ctx context.Context, k keys.CardKey) error
	Close() error
}

// RekeyTypeA rotates the card keys of a Type A AP in place
// (docs/PROTOCOL.md §5.4): in one PC/SC transaction, SELECT (the card's
// key set from the FCI, which cfg.KeySets must accept), then
// typea.AP.Rekey to opts.To. Removal at any APDU leaves the AP under its
// old set or the new one; running the same rekey again completes it (an
// AP already at To reports AlreadyDone after authenticating with To's
// administrative key). A version older than the card's is
// profile.ErrKeySetNotNewer.
func RekeyTypeA(ctx context.Context, t apdu.Transport, cfg typea.Config, opts RekeyOptions) (RekeyResult, error) {
	if err := cfg.Validate(); err != nil {
		return RekeyResult{}, err
	}
	return rekeyRun(ctx, t, "rekey Type A", opts, cfg.Keys, func(ctx context.Context) (keyed, []keys.CardKey, error) {
		ap, err := typea.OpenUnauthenticated(ctx, t, cfg)
		if err != nil {
			return nil, nil, err
		}
		c := ap.Config()
		return ap, []keys.CardKey{c.ReadKey, c.UpdateKey, c.AdminKey}, nil
	})
}

// RekeyTypeD is RekeyTypeA for a Type D AP. The data in EF.Data is not
// touched: its envelopes are sealed under the data key, not the card
// keys.
func RekeyTypeD(ctx context.Context, t apdu.Transport, cfg typed.Config, opts RekeyOptions) (RekeyResult, error) {
	if err := cfg.Validate(); err != nil {
		return RekeyResult{}, err
	}
	return rekeyRun(ctx, t, "rekey Type D", opts, cfg.Keys, func(ctx context.Context) (keyed, []keys.CardKey, error) {
		ap, err := typed.OpenUnauthenticated(ctx, t, cfg)
		if err != nil {
			return nil, nil, err
		}
		c := ap.Config()
		return ap, []keys.CardKey{c.ReadKey, c.UpdateKey, c.AdminKey}, nil
	})
}

// rekeyRun is a rekey in one PC/SC transaction.
func rekeyRun(ctx context.Context, t apdu.Transport, what string, opts RekeyOptions, p keys.Provider, open func(context.Context) (keyed, []keys.CardKey, error)) (RekeyResult, error) {
	var res RekeyResult
	if opts.To < 0 || opts.To > profile.MaxKeySet {
		return res, fmt.Errorf("%w: To: %d, want 0 to %d", ErrInvalidRequest, opts.To, profile.MaxKeySet)
	}
	err := apsession.WithTransaction(ctx, t, func(ctx context.Context) error {
		ap, cardKeys, err := open(ctx)
		if err != nil {
			return err
		}
		defer ap.Close()
		res.CUID, res.From = ap.CUID(), ap.KeySet()
		to, err := targetKeySet(ctx, p, cardKeys, opts.To)
		if err != nil {
			return err
		}
		if to == 0 {
			return fmt.Errorf("%w: the key provider holds no complete key set", profile.ErrKeySet)
		}
		res.To = to
		if to == res.From {
			res.AlreadyDone = true
			return ap.Authenticate(ctx, cardKeys[2])
		}
		return ap.Rekey(ctx, to)
	})
	if err != nil {
		return res, apsession.Op("personalize", what, err)
	}
	return res, nil
}

// targetKeySet is the key-set version a run leaves the AP with: want
// when set, else the newest set the provider holds whole (0 when it
// holds none whole, or cannot list its versions).
func targetKeySet(ctx context.Context, p keys.Provider, cardKeys []keys.CardKey, want int) (int, error) {
	if want != 0 {
		return want, nil
	}
	v, err := keys.NewestCompleteSet(ctx, p, keys.SetKeys(cardKeys))
	if errors.Is(err, keys.ErrNoVersionList) {
		return 0, nil
	}
	return v, err
}

// adminSession authenticates the administrative key for a
// personalization run under the key set the AP is to end with
// (Request.KeySet, or the newest set the provider holds whole): when the
// AP holds an older one, it is rekeyed first (which ends authenticated
// with the new set's administrative key). A provider that cannot list
// its versions keeps the AP's set unless the request names one. A
// requested set older than the AP's is profile.ErrKeySetNotNewer.
func adminSession(ctx context.Context, ap keyed, cardKeys []keys.CardKey, p keys.Provider, want int) error {
	to, err := targetKeySet(ctx, p, cardKeys, want)
	if err != nil {
		return err
	}
	switch cur := ap.KeySet(); {
	case to > cur:
		return ap.Rekey(ctx, to)
	case to < cur && want != 0:
		return fmt.Errorf("%w: the card holds key set %d, the request asks for %d", profile.ErrKeySetNotNewer, cur, want)
	}
	// The AP's own set is the newest (or the provider's newest whole set
	// is older than the card's, which the SELECT accepted).
	return ap.Authenticate(ctx, cardKeys[2])
}
