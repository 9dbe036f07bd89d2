package jpki

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// AuthPINLen is the length of the authentication PIN: 4 digits.
const AuthPINLen = 4

// AuthPINTries is the number of tries of the authentication PIN (OpenSC
// jpki.h JPKI_AUTH_PIN_MAX_TRIES).
const AuthPINTries = 3

// CheckPIN refuses, before anything is sent, a PIN that is not 4 ASCII
// digits (ErrPINFormat): a PIN the card could never accept would spend a
// try for nothing.
func CheckPIN(pin profile.Password) error {
	if len(pin) != AuthPINLen {
		return fmt.Errorf("%w: %d characters", ErrPINFormat, len(pin))
	}
	for _, b := range pin {
		if b < '0' || b > '9' {
			return fmt.Errorf("%w: not all digits", ErrPINFormat)
		}
	}
	return nil
}

// PINStatus selects the authentication PIN EF and sends VERIFY without
// data (00 20 00 80), which answers 63Cx with x tries left and spends
// none (OpenSC card-jpki.c SC_PIN_CMD_GET_INFO; ISO/IEC 7816-4 §11.5.6).
// 9000 means verified in this session; 63C0, 6983 and 6984 blocked.
func (c *Card) PINStatus(ctx context.Context) (profile.PasswordStatus, error) {
	if err := c.selectEF(ctx, EFAuthPIN); err != nil {
		return profile.PasswordStatus{}, err
	}
	return c.pinStatus(ctx)
}

// pinStatus sends VERIFY without data to the selected PIN EF.
func (c *Card) pinStatus(ctx context.Context) (profile.PasswordStatus, error) {
	resp, err := c.ch.Send(ctx, apdu.Verify(pinRef, nil))
	if err != nil {
		return profile.PasswordStatus{}, fmt.Errorf("jpki: PIN status: %w", err)
	}
	return pinStatusOf(resp.SW)
}

// pinStatusOf reads the status word of VERIFY without data.
func pinStatusOf(sw apdu.StatusWord) (profile.PasswordStatus, error) {
	if sw == apdu.SWSuccess {
		return profile.PasswordStatus{Verified: true, Remaining: -1}, nil
	}
	var te *apdu.TriesError
	if errors.As(sw.Err(), &te) {
		return profile.PasswordStatus{Remaining: te.Remaining, Blocked: te.Remaining == 0}, nil
	}
	return profile.PasswordStatus{}, fmt.Errorf("jpki: PIN status: %w", sw)
}

// VerifyOptions tune VerifyPIN.
type VerifyOptions struct {
	// AllowLastTry lets the PIN go when one try is left. Without it
	// VerifyPIN refuses with profile.ErrLastTry: a wrong PIN would block
	// the card's authentication key (unblocking takes the holder to the
	// municipal office).
	AllowLastTry bool
}

// VerifyPIN checks the authentication PIN once: it refuses a PIN that is
// not 4 digits (ErrPINFormat) without sending anything, asks the tries
// left (no try spent), refuses a blocked PIN (*profile.PasswordError,
// Blocked) and one with one try left (profile.ErrLastTry, unless
// opts.AllowLastTry), then sends VERIFY. A wrong PIN is a
// *profile.PasswordError with the tries left, unwrapping to the card's
// *apdu.TriesError. It never retries.
func (c *Card) VerifyPIN(ctx context.Context, pin profile.Password, opts VerifyOptions) error {
	if err := CheckPIN(pin); err != nil {
		return err
	}
	st, err := c.PINStatus(ctx)
	if err != nil {
		return err
	}
	if st.Verified {
		return nil
	}
	if err := checkTries(st, opts.AllowLastTry); err != nil {
		return err
	}
	return c.verify(ctx, pin)
}

// checkTries refuses a blocked PIN, and one with a single try left
// unless allowLastTry.
func checkTries(st profile.PasswordStatus, allowLastTry bool) error {
	switch {
	case st.Verified:
		return nil
	case st.Blocked:
		return fmt.Errorf("jpki: %w", &profile.PasswordError{Blocked: true, Err: &apdu.TriesError{SW: 0x63C0}})
	case st.Remaining == 1 && !allowLastTry:
		return fmt.Errorf("jpki: %w", profile.ErrLastTry)
	}
	return nil
}

// verify sends VERIFY with the PIN to the selected PIN EF. The command's
// copy of the PIN is wiped after; apdu.Trace masks VERIFY data.
func (c *Card) verify(ctx context.Context, pin profile.Password) error {
	data := make([]byte, len(pin))
	copy(data, pin)
	defer clear(data)
	resp, err := c.ch.Send(apdu.WithSecret(ctx), apdu.Verify(pinRef, data))
	if err != nil {
		return fmt.Errorf("jpki: verify PIN: %w", err)
	}
	if err := resp.SW.Err(); err != nil {
		var te *apdu.TriesError
		if errors.As(err, &te) {
			return fmt.Errorf("jpki: verify PIN: %w", &profile.PasswordError{Remaining: te.Remaining, Blocked: te.Remaining == 0, Err: te})
		}
		return fmt.Errorf("jpki: verify PIN: %w", err)
	}
	return nil
}

// PINStatus selects the JPKI AP on the card behind t and returns the
// authentication PIN's status without spending a try (Card.PINStatus).
func PINStatus(ctx context.Context, t apdu.Transport) (profile.PasswordStatus, error) {
	c, err := Open(ctx, t, ReadOptions{})
	if err != nil {
		return profile.PasswordStatus{}, err
	}
	return c.PINStatus(ctx)
}

// VerifyPIN selects the JPKI AP on the card behind t and verifies the
// authentication PIN once (Card.VerifyPIN).
func VerifyPIN(ctx context.Context, t apdu.Transport, pin profile.Password, opts VerifyOptions) error {
	c, err := Open(ctx, t, ReadOptions{})
	if err != nil {
		return err
	}
	return c.VerifyPIN(ctx, pin, opts)
}
