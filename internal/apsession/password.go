package apsession

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// Password instructions (ISO/IEC 7816-4 §11.5.6, §11.5.7, §11.5.10).
const (
	maxPasswordLen = 64
)

// ErrPasswordFormat: a password is empty (none given) or too long for one
// APDU. Nothing was sent.
var ErrPasswordFormat = profile.ErrPasswordFormat

// ErrLastTry: the password has one try left and the caller did not allow
// spending it (a mistake would block the card); nothing was sent but the
// status query (VERIFY without data).
var ErrLastTry = profile.ErrLastTry

// ErrPasswordRequired: the card requires the password to be verified (6982
// after mutual authentication) and the session holds none: a password is
// never kept, so never resent on its own.
var ErrPasswordRequired = profile.ErrPasswordRequired

// ErrPasswordStatus: the card's answer to VERIFY is not one of 9000, 63Cx,
// 6983, 6984.
var ErrPasswordStatus = errors.New("unexpected answer to VERIFY")

// QueryPassword sends VERIFY with no data (case 1): it never spends a try.
func QueryPassword(ctx context.Context, ch *apdu.Channel, ref byte) (profile.PasswordStatus, error) {
	r, err := ch.Send(ctx, apdu.Command{CLA: 0x00, INS: apdu.InsVerify, P1: 0x00, P2: ref})
	if err != nil {
		return profile.PasswordStatus{}, err
	}
	switch err := r.SW.Err(); {
	case err == nil:
		return profile.PasswordStatus{Verified: true, Remaining: -1}, nil
	case r.SW&0xFFF0 == 0x63C0:
		return profile.PasswordStatus{Remaining: int(r.SW & 0x0F), Blocked: r.SW == 0x63C0}, nil
	case r.SW == apdu.ErrAuthMethodBlocked || r.SW == apdu.ErrReferenceDataNotUsable:
		return profile.PasswordStatus{Blocked: true}, nil
	default:
		return profile.PasswordStatus{}, fmt.Errorf("%w: %w", ErrPasswordStatus, err)
	}
}

// BeforeTry asks the password's state (QueryPassword, no try spent)
// before a command that spends a try (VERIFY, CHANGE REFERENCE DATA with
// the old password). It returns verified when the password is verified in
// this session already, and an error when the command must not go: the
// card's *apdu.TriesError (6983) when the password is blocked, ErrLastTry
// when one try is left and allowLastTry is false.
func BeforeTry(ctx context.Context, ch *apdu.Channel, ref byte, allowLastTry bool) (verified bool, err error) {
	st, err := QueryPassword(ctx, ch, ref)
	switch {
	case err != nil:
		return false, err
	case st.Verified:
		return true, nil
	case st.Blocked:
		return false, &apdu.TriesError{SW: apdu.ErrAuthMethodBlocked}
	case st.Remaining == 1 && !allowLastTry:
		return false, ErrLastTry
	}
	return false, nil
}

// CheckPassword validates the passwords' lengths before they go to the
// card (ErrPasswordFormat).
func CheckPassword(ps ...profile.Password) error {
	for _, p := range ps {
		if len(p) == 0 || len(p) > maxPasswordLen {
			return fmt.Errorf("%w: password of %d bytes, want 1 to %d", ErrPasswordFormat, len(p), maxPasswordLen)
		}
	}
	return nil
}

// Verify sends VERIFY with the password once. It returns the card's status
// word error (a *apdu.TriesError for 63Cx and 6983) unchanged for the
// caller to type.
func Verify(ctx context.Context, ch *apdu.Channel, ref byte, p profile.Password) error {
	_, err := ch.Do(apdu.WithSecret(ctx), apdu.Command{CLA: 0x00, INS: apdu.InsVerify, P1: 0x00, P2: ref, Data: p})
	return err
}

// ChangePassword sends CHANGE REFERENCE DATA (P1 = 00: old || new). The
// card checks old first (a wrong one spends a try: *apdu.TriesError), then
// the new one's length (ErrPasswordFormat wrapping 6A80, no try spent).
func ChangePassword(ctx context.Context, ch *apdu.Channel, ref byte, old, nw profile.Password) error {
	data := make([]byte, 0, len(old)+len(nw))
	data = append(append(data, old...), nw...)
	defer clear(data)
	_, err := ch.Do(apdu.WithSecret(ctx), apdu.Command{CLA: 0x00, INS: apdu.InsChangeReferenceData, P1: 0x00, P2: ref, Data: data})
	return newPasswordErr(err)
}

// SetPassword sends CHANGE REFERENCE DATA with P1 = 01 (new value only),
// which the profile allows while the password is verified or the AP is in
// personalization.
func SetPassword(ctx context.Context, ch *apdu.Channel, ref byte, nw profile.Password) error {
	_, err := ch.Do(apdu.WithSecret(ctx), apdu.Command{CLA: 0x00, INS: apdu.InsChangeReferenceData, P1: 0x01, P2: ref, Data: nw})
	return newPasswordErr(err)
}

// ResetRetryCounter sends RESET RETRY COUNTER: P1 = 03 (unblock only) when
// nw is empty, P1 = 02 (unblock and set nw) otherwise. The card requires
// the administrative key to be authenticated.
func ResetRetryCounter(ctx context.Context, ch *apdu.Channel, ref byte, nw profile.Password) error {
	cmd := apdu.Command{CLA: 0x00, INS: apdu.InsResetRetryCounter, P1: 0x03, P2: ref}
	if len(nw) > 0 {
		cmd.P1, cmd.Data = 0x02, nw
	}
	_, err := ch.Do(apdu.WithSecret(ctx), cmd)
	return newPasswordErr(err)
}

// newPasswordErr types the card's 6A80 to a command that sets a password
// (the new password is outside the card's length bounds; docs/PROTOCOL.md
// §6.4) as ErrPasswordFormat, keeping the status word in the chain.
func newPasswordErr(err error) error {
	if errors.Is(err, apdu.ErrIncorrectDataField) {
		return fmt.Errorf("%w: the card refused the new password's length: %w", ErrPasswordFormat, err)
	}
	return err
}

// PasswordErr turns the card's 63Cx / 6983 / 6984 into a
// *profile.PasswordError (nil and other errors stay as they are).
func PasswordErr(err error) error {
	// 63Cx: x tries left; 6983 / 6984: blocked (ISO/IEC 7816-4 §5.6,
	// table 6; docs/PROTOCOL.md §6.4).
	var te *apdu.TriesError
	if errors.As(err, &te) {
		return &profile.PasswordError{Remaining: te.Remaining, Blocked: te.Remaining == 0, Err: err}
	}
	return err
}
