package cardap

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typec"
)

// TypeCConfig configures the standard Type C AP; see typec.Config.
type TypeCConfig = typec.Config

// TypeC returns the standard Type C AP (ID only, read without
// authentication; docs/PROTOCOL.md chapter 2). It identifies the holder,
// it does not authenticate the card: anyone can read a Type C ID in a
// second and copy it to a blank card or a phone, and the copy answers as
// the original. Its identities carry Proof.Method ProofNone, and a Client
// accepts them only with Config.AllowUnproven (libraries, points; never
// doors, logins or money).
func TypeC(cfg TypeCConfig) AP { return typeCAP{cfg: cfg} }

type typeCAP struct{ cfg typec.Config }

func (typeCAP) Type() profile.APType { return profile.TypeC }

// ProofMethod implements Prover: a Type C read proves nothing.
func (typeCAP) ProofMethod() ProofMethod { return ProofNone }

func (a typeCAP) Read(ctx context.Context, t apdu.Transport) (Identity, error) {
	res, err := typec.Read(ctx, t, a.cfg)
	id := Identity{AP: profile.TypeC, CUID: res.CUID, APDUs: res.APDUs, Proof: Proof{AP: profile.TypeC, Method: ProofNone}}
	id.AID = a.cfg.AID
	if len(id.AID) == 0 {
		id.AID = profile.DefaultAID(profile.TypeC)
	}
	if err != nil {
		switch {
		case isRemoval(err):
			// Before any other test: a card pulled mid-read is asked for
			// again, whatever else its error matches.
			return id, &Error{Reason: ReasonCardRemoved, Err: err}
		case errors.Is(err, profile.ErrNotPresent):
			return id, fmt.Errorf("%w: %w", ErrUnknownCard, err)
		case errors.Is(err, profile.ErrNotPersonalized):
			return id, &Error{Reason: ReasonNotPersonalized, Err: err}
		case errors.Is(err, profile.ErrMalformed):
			return id, &Error{Reason: ReasonMalformed, Err: err}
		}
		return id, err
	}
	id.UserID = res.Identity.UserID
	id.Attributes = res.Identity.Attributes
	id.Expires = res.Identity.Expires
	return id, nil
}
