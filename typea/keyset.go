package typea

import (
	"context"
	"fmt"
)

// KeySet returns the card-key set version of the AP (docs/PROTOCOL.md
// §5.3): the version the card announced in the FCI of its last SELECT,
// or Config.KeySets.Default for a card that announces none. Every key of
// Config is used at this version.
func (a *AP) KeySet() int { return a.session().KeySet() }

// Rekey loads card-key set to into the AP, in place (docs/PROTOCOL.md
// §5.4): the read, update and administrative keys of Config diversified
// from the version-to master keys, sent under secure messaging with the
// administrative key of the card's current set, staged (PUT DATA C3) and
// committed in one APDU (PUT DATA C1). Removal at any APDU leaves a card
// that authenticates under the old set or the new one; running Rekey
// again completes it. Afterwards the card announces version to and the
// AP is authenticated with the new administrative key.
//
// Every new key is derived and checked before the first APDU: a set the
// provider holds only in part is a *profile.KeySetError, a version not
// newer than the card's profile.ErrKeySetNotNewer, a version Config's
// KeySets does not accept a *profile.KeySetError.
func (a *AP) Rekey(ctx context.Context, to int) error {
	return a.do(ctx, fmt.Sprintf("rekey to key set %d", to), func(ctx context.Context) error {
		return a.s.Rekey(ctx, a.cfg.AdminKey, to)
	})
}
