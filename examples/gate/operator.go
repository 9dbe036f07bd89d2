package main

import (
	"context"
	"errors"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/profile"
)

// typeCWarning is logged at start and with every decision of a gate run
// with --allow-type-c.
const typeCWarning = "gate: --allow-type-c: Type C cards prove nothing (their ID is readable by anyone, and a copy on a blank card or a phone opens this gate as the original does)"

// passwordFunc is the gate's cardap.PasswordFunc: a copy of the password
// given with --password-env (the client wipes what it is given).
func (g *gate) passwordFunc(context.Context, cardap.PasswordRequest) (profile.Password, error) {
	if g.password == nil {
		return nil, errors.New("no password configured")
	}
	return append(profile.Password(nil), g.password...), nil
}
