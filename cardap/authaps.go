package cardap

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// Password is a card AP password. It never prints (String, GoString and
// Format redact it) and the client wipes it after use.
type Password = apsession.Password

// PasswordRequest tells a PasswordFunc which AP asks.
type PasswordRequest struct {
	AP  profile.APType
	AID profile.AID
}

// PasswordFunc asks the holder for the AP's password (a PIN pad, a login
// prompt). It is called at most once per Identify, before the card is
// read; the password is sent to the card at most once and never stored.
// Returning an error aborts the identification with that error.
type PasswordFunc func(ctx context.Context, req PasswordRequest) (Password, error)

// TypeAConfig configures the standard Type A AP (records, mutual
// authentication, optional password; docs/PROTOCOL.md chapter 6).
type TypeAConfig struct {
	typea.Config
	// Password supplies the password when Config.Password is not
	// typea.PasswordNone. Nil: such cards are refused with
	// ReasonPasswordRequired.
	Password PasswordFunc
	// AllowLastTry sends the password even when the card has one try
	// left (a mistake then blocks it). Without it such cards are refused
	// with ReasonPasswordBlocked, wrapping typea.ErrLastTry.
	AllowLastTry bool
}

// TypeA returns the standard Type A AP. A transaction is SELECT (CUID from
// the FCI), GET CHALLENGE, MUTUAL AUTHENTICATE and READ RECORD 1 under
// secure messaging, plus the password's status query and VERIFY when the
// AP has one.
func TypeA(cfg TypeAConfig) AP { return typeAAP{cfg: cfg} }

type typeAAP struct{ cfg TypeAConfig }

func (typeAAP) Type() profile.APType { return profile.TypeA }

func (a typeAAP) aid() profile.AID {
	if len(a.cfg.AID) == 0 {
		return profile.DefaultAID(profile.TypeA)
	}
	return a.cfg.AID
}

func (a typeAAP) Read(ctx context.Context, t apdu.Transport) (Identity, error) {
	id := Identity{AP: profile.TypeA, AID: a.aid()}
	var pw Password
	if a.cfg.Config.Password != typea.PasswordNone && a.cfg.Password != nil {
		p, err := a.cfg.Password(ctx, PasswordRequest{AP: profile.TypeA, AID: id.AID})
		if err != nil {
			return id, err
		}
		pw = p
		defer pw.Zero()
	}
	counter := &apdu.Counter{Next: t}
	res, err := typea.Read(ctx, counter, a.cfg.Config, pw, typea.VerifyOptions{AllowLastTry: a.cfg.AllowLastTry})
	id.APDUs = counter.APDUs
	id.CUID = res.CUID
	if err != nil {
		return id, mapAuthAPError(err, typea.ErrNotPresent, typea.ErrNotPersonalized, typea.ErrRecordFormat, typea.ErrLastTry, typea.ErrCardSwapped)
	}
	id.UserID = res.Identity.UserID
	id.Attributes = res.Identity.Attributes
	id.Expires = res.Identity.Expires
	return id, nil
}

// TypeDConfig configures the standard Type D AP (encrypted binary data,
// mutual authentication, optional password; docs/PROTOCOL.md chapter 7).
type TypeDConfig struct {
	typed.Config
	// Password supplies the password when Config.Password is set. Nil:
	// such cards are refused with ReasonPasswordRequired.
	Password PasswordFunc
}

// TypeD returns the standard Type D AP: open (select, mutual
// authentication, password), read and decrypt the content, and report its
// Identity. The application data of the AP is not part of the Identity;
// read it with package typed.
func TypeD(cfg TypeDConfig) AP { return typeDAP{cfg: cfg} }

type typeDAP struct{ cfg TypeDConfig }

func (typeDAP) Type() profile.APType { return profile.TypeD }

func (a typeDAP) Read(ctx context.Context, t apdu.Transport) (Identity, error) {
	id := Identity{AP: profile.TypeD, AID: a.cfg.AID}
	if len(id.AID) == 0 {
		id.AID = profile.DefaultAID(profile.TypeD)
	}
	var pw Password
	if a.cfg.Config.Password && a.cfg.Password != nil {
		p, err := a.cfg.Password(ctx, PasswordRequest{AP: profile.TypeD, AID: id.AID})
		if err != nil {
			return id, err
		}
		pw = p
		defer pw.Zero()
	}
	counter := &apdu.Counter{Next: t}
	var content typed.Content
	err := apsession.WithTransaction(ctx, counter, func(ctx context.Context) error {
		ap, err := typed.Open(ctx, counter, a.cfg.Config, pw)
		if err != nil {
			return err
		}
		defer ap.Close()
		id.CUID = ap.CUID()
		content, err = ap.Read(ctx)
		return err
	})
	id.APDUs = counter.APDUs
	if err != nil {
		if errors.Is(err, typed.ErrNoData) {
			return id, &Error{Reason: ReasonNotPersonalized, Err: err}
		}
		return id, mapAuthAPError(err, typed.ErrNotPresent, nil, typed.ErrMalformed, typed.ErrLastTry, typed.ErrCardSwapped)
	}
	id.UserID = content.Identity.UserID
	id.Attributes = content.Identity.Attributes
	id.Expires = content.Identity.Expires
	return id, nil
}

// mapAuthAPError maps the errors of typea and typed to cardap's reasons.
func mapAuthAPError(err, notPresent, notPersonalized, malformed, lastTry, swapped error) error {
	var te *apdu.TriesError
	switch {
	case errors.Is(err, notPresent):
		return fmt.Errorf("%w: %w", ErrUnknownCard, err)
	case notPersonalized != nil && errors.Is(err, notPersonalized):
		return &Error{Reason: ReasonNotPersonalized, Err: err}
	case errors.Is(err, malformed), errors.Is(err, profile.ErrInvalidIdentity), errors.Is(err, typed.ErrAuthentication):
		return &Error{Reason: ReasonMalformed, Err: err}
	case errors.Is(err, lastTry):
		return &Error{Reason: ReasonPasswordBlocked, Err: err}
	case errors.Is(err, swapped), errors.Is(err, apdu.ErrCardRemoved), errors.Is(err, apdu.ErrCardReset):
		return &Error{Reason: ReasonCardRemoved, Err: err}
	case errors.Is(err, typea.ErrPasswordRequired), errors.Is(err, typea.ErrPasswordFormat),
		errors.Is(err, typed.ErrPasswordRequired), errors.Is(err, apsession.ErrPasswordFormat):
		return &Error{Reason: ReasonPasswordRequired, Err: err}
	case errors.As(err, &te) && isPasswordTries(err):
		if te.Remaining == 0 {
			return &Error{Reason: ReasonPasswordBlocked, Err: err}
		}
		return &Error{Reason: ReasonPasswordWrong, Err: err}
	case errors.Is(err, secure.ErrCardCryptogram), errors.Is(err, secure.ErrNonceMismatch),
		errors.Is(err, secure.ErrTerminalRejected), errors.Is(err, secure.ErrSessionClosed),
		errors.Is(err, secure.ErrResponseMAC), errors.Is(err, secure.ErrResponseUnprotected),
		errors.Is(err, secure.ErrStatusMismatch), errors.Is(err, secure.ErrCardRejectedSM),
		errors.Is(err, secure.ErrResponseMalformed), errors.Is(err, secure.ErrChallenge):
		return &Error{Reason: ReasonAuthFailed, Err: err}
	}
	return err
}

// isPasswordTries tells a password's tries error from a key's: a failed
// or blocked key also answers 63Cx or 6983 (to MUTUAL AUTHENTICATE, or to
// GET CHALLENGE on cards that refuse a challenge for a blocked key), but
// arrives wrapped in secure.ErrTerminalRejected or secure.ErrChallenge.
func isPasswordTries(err error) bool {
	if errors.Is(err, secure.ErrTerminalRejected) || errors.Is(err, secure.ErrChallenge) {
		return false
	}
	var pe *typea.PasswordError
	return errors.As(err, &pe) || errors.Is(err, apdu.ErrVerificationFailed)
}
