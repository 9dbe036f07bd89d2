package cardap

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/internal/apsession"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/secure"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typed"
)

// PasswordRequest tells a PasswordFunc which AP asks.
type PasswordRequest struct {
	AP  profile.APType // the type of the AP that asks
	AID profile.AID    // its AID
}

// PasswordFunc asks the holder for an AP's password (a PIN pad, a login
// prompt). Identify calls it at most once per AP, and only once the card
// has shown that it needs it: the AP is on the card (a card without it
// never prompts), mutual authentication passed when the password goes
// under secure messaging, the password is neither verified already nor
// blocked, more than one try is left unless the last try is allowed, and
// the card is not revoked (when the client has a revocation list). No
// PC/SC transaction is held while it runs, so it may take long. The
// password is sent to the card at most once, never retried, and wiped
// after use. Returning an error aborts the identification with that
// error.
type PasswordFunc func(ctx context.Context, req PasswordRequest) (profile.Password, error)

// TypeAConfig configures the standard Type A AP (records, mutual
// authentication, optional password; docs/PROTOCOL.md chapter 6). The
// embedded typea.Config is checked by New: a password verified before
// mutual authentication (profile.PasswordBeforeAuth, the password in plain
// to a card that has not proven itself) needs
// Config.AllowPasswordBeforeAuth.
type TypeAConfig struct {
	// Config is the host side of the AP: AID, operator keys, password
	// mode (Config.Password) and the rest of typea.Config.
	typea.Config
	// PasswordFunc supplies the holder's password. It is required when
	// Config.Password is profile.PasswordAfterAuth or
	// profile.PasswordBeforeAuth, and must be nil with profile.PasswordNone
	// (the zero value).
	PasswordFunc PasswordFunc
	// AllowLastTry sends the password even when the card has one try
	// left (a mistake then blocks it). Without it such cards are refused
	// with ReasonPasswordBlocked, wrapping typea.ErrLastTry.
	AllowLastTry bool
}

// Validate checks c as New does, before any card is seen: the embedded
// typea.Config (typea.Config.Validate: a key provider, valid AID and SFIs,
// PasswordBeforeAuth only with AllowPasswordBeforeAuth), and a
// PasswordFunc exactly when the password mode verifies a password. Every
// error wraps ErrConfig and names the field.
func (c TypeAConfig) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return within("Config", err)
	}
	return checkPasswordFunc(c.Config.Password != profile.PasswordNone, c.Config.Password.String(), c.PasswordFunc)
}

// checkPasswordFunc refuses a password mode without a PasswordFunc (every
// card would be refused as needing a password it was never asked for)
// and a PasswordFunc beside a mode without password (a prompt that is
// never used: the configuration says two things).
func checkPasswordFunc(hasPassword bool, mode string, f PasswordFunc) error {
	switch {
	case hasPassword && f == nil:
		return configErr("PasswordFunc", "nil and Config.Password is %s", mode)
	case !hasPassword && f != nil:
		return configErr("PasswordFunc", "set and Config.Password is %s", mode)
	}
	return nil
}

// TypeA returns the standard Type A AP for Config.APs; New checks cfg
// (TypeAConfig.Validate). Without a password a read is one transaction of
// 4 APDUs: SELECT (CUID from the FCI), GET CHALLENGE, MUTUAL AUTHENTICATE
// and READ RECORD 1 under secure messaging. With one, the password's
// status (VERIFY without data, no try spent) is asked before the holder
// is, and the status again and VERIFY after.
func TypeA(cfg TypeAConfig) AP {
	// Named for what it returns, an implementation of AP, as
	// http.FileServer returns a Handler: TypeA, TypeC and TypeD read as
	// the list of accepted APs in Config.APs.
	return typeAAP{cfg: cfg}
}

type typeAAP struct{ cfg TypeAConfig }

func (typeAAP) Type() profile.APType { return profile.TypeA }

// ProofMethod implements Prover: a Type A read succeeds only after mutual
// authentication with the operator's read key.
func (typeAAP) ProofMethod() ProofMethod { return ProofMutualAuth }

// validate lets New refuse a bad configuration before any card is seen.
func (a typeAAP) validate() error { return a.cfg.Validate() }

func (a typeAAP) aid() profile.AID {
	if len(a.cfg.AID) == 0 {
		return profile.DefaultAID(profile.TypeA)
	}
	return a.cfg.AID
}

func (a typeAAP) Read(ctx context.Context, t apdu.Transport) (Identity, error) {
	id := Identity{AP: profile.TypeA, AID: a.aid()}
	counter := &apdu.Counter{Next: t}
	var (
		res        typea.Result
		err        error
		pwVerified bool
	)
	if a.cfg.Config.Password == profile.PasswordNone {
		res, err = typea.Read(ctx, counter, a.cfg.Config, nil)
	} else {
		res, pwVerified, err = a.readWithPassword(ctx, counter, PasswordRequest{AP: profile.TypeA, AID: id.AID})
	}
	id.APDUs = counter.APDUs
	id.CUID = res.CUID
	if err != nil {
		keySetCUID(&id, err)
		switch a.cfg.Config.Password {
		case profile.PasswordNone, profile.PasswordBeforeAuth:
			err = passwordModeMismatch(err, a.cfg.Config.Password.String())
		}
		return id, mapAuthAPError(err, profile.ErrNotPresent, profile.ErrNotPersonalized, typea.ErrRecordFormat, typea.ErrLastTry, typea.ErrCardSwapped)
	}
	// Record 1 is only readable under the secure messaging session that
	// mutual authentication opened: a successful read is the proof.
	id.Proof = Proof{AP: profile.TypeA, Method: ProofMutualAuth, PasswordVerified: pwVerified, KeySet: res.KeySet}
	id.UserID = res.Identity.UserID
	id.Attributes = res.Identity.Attributes
	id.Expires = res.Identity.Expires
	return id, nil
}

// readWithPassword reads an AP with a password in two PC/SC transactions
// around the holder's prompt. The first selects the AP (a card without it
// ends here, unprompted), authenticates in PasswordAfterAuth mode and asks
// the password's status without spending a try. The PasswordFunc then runs
// outside any transaction. The second verifies the password once
// (typea.AP.Verify: the status again, as the card was free in between,
// then VERIFY; in PasswordBeforeAuth mode after a new SELECT and CUID
// check, so the password never goes to a swapped card; in
// PasswordAfterAuth mode under the secure messaging session, which a
// swapped or reset card cannot continue), authenticates in
// PasswordBeforeAuth mode and reads record 1. verified is true when the
// card accepted the password (or reported it verified already) and the
// read succeeded.
func (a typeAAP) readWithPassword(ctx context.Context, t apdu.Transport, req PasswordRequest) (_ typea.Result, verified bool, err error) {
	var (
		res  typea.Result
		ap   *typea.AP
		need bool
	)
	err = apsession.WithTransaction(ctx, t, func(ctx context.Context) error {
		var err error
		if ap, err = typea.OpenUnauthenticated(ctx, t, a.cfg.Config); err != nil {
			return err
		}
		res.CUID, res.KeySet = ap.CUID(), ap.KeySet()
		// After-auth mode: the status and VERIFY go under the secure
		// messaging session, so a card that cannot authenticate (a clone)
		// is refused before the holder is asked (§3.3).
		if ap.Config().Password == profile.PasswordAfterAuth {
			if err := ap.Authenticate(ctx, ap.Config().ReadKey); err != nil {
				return err
			}
		}
		if a.cfg.PasswordFunc == nil {
			return fmt.Errorf("%w: no PasswordFunc configured", typea.ErrPasswordRequired)
		}
		st, err := ap.PasswordStatus(ctx)
		if err != nil {
			return err
		}
		need, err = passwordNeeded(st, a.cfg.AllowLastTry)
		if err != nil {
			var te *apdu.TriesError
			if errors.As(err, &te) {
				err = &profile.PasswordError{Remaining: te.Remaining, Blocked: te.Remaining == 0, Err: te}
			}
			return fmt.Errorf("password status: %w", err)
		}
		return nil
	})
	if ap != nil {
		defer closeAP(ap, &err)
	}
	if err != nil {
		return res, false, err
	}
	// The prompt runs outside any PC/SC transaction: it may take long,
	// and some PC/SC stacks reset a card whose transaction idles.
	err = promptThenFinish(ctx, t, res.CUID, need, a.cfg.PasswordFunc, req, func(ctx context.Context, pw profile.Password) error {
		if need {
			if err := ap.Verify(ctx, pw, typea.VerifyOptions{AllowLastTry: a.cfg.AllowLastTry}); err != nil {
				return err
			}
		}
		// Verified now, or the status said verified already (need false).
		if ap.Config().Password == profile.PasswordBeforeAuth {
			if err := ap.Authenticate(ctx, ap.Config().ReadKey); err != nil {
				return err
			}
		}
		var err error
		res.Identity, err = ap.ReadIdentity(ctx)
		return err
	})
	return res, err == nil, err
}

// promptThenFinish is the part of a password-protected read that the
// standard APs share, once a first transaction has selected the AP and
// read the password's status: when a password is needed, the revocation
// check (a revoked card is refused unprompted) and the holder's prompt,
// outside any transaction; then finish in a second transaction, with the
// password (nil when none is needed), which is wiped afterwards.
func promptThenFinish(ctx context.Context, t apdu.Transport, cuid profile.CUID, need bool, ask PasswordFunc, req PasswordRequest, finish func(ctx context.Context, pw profile.Password) error) error {
	var pw profile.Password
	if need {
		if err := checkBeforePrompt(ctx, cuid); err != nil {
			return err
		}
		var err error
		if pw, err = ask(ctx, req); err != nil {
			return err
		}
		defer pw.Zero()
	}
	return apsession.WithTransaction(ctx, t, func(ctx context.Context) error { return finish(ctx, pw) })
}

// closeAP closes an AP's session (ends secure messaging, drops the
// session keys), joining a failure to *err.
func closeAP(ap io.Closer, err *error) {
	*err = errors.Join(*err, ap.Close())
}

// passwordNeeded interprets the password's status (VERIFY without data, which
// spends no try): need is false when the password is verified already; the
// card's *apdu.TriesError (6983) when it is blocked; ErrLastTry when one
// try is left and allowLastTry is false. Nothing is asked of the holder in
// the error cases.
func passwordNeeded(st profile.PasswordStatus, allowLastTry bool) (need bool, err error) {
	// The status is VERIFY without data (ISO/IEC 7816-4 §11.5.6;
	// docs/PROTOCOL.md §6.4): 9000 verified, 63Cx x tries left, 6983
	// blocked. It spends no try, so it is asked before every prompt.
	switch {
	case st.Verified:
		// Verified earlier in this card session: asking the holder
		// would only risk a try.
		return false, nil
	case st.Blocked:
		// Only the operator's administrative key unblocks it; the holder
		// is not asked for a password the card cannot take.
		return false, &apdu.TriesError{SW: apdu.ErrAuthMethodBlocked}
	case st.Remaining == 1 && !allowLastTry:
		// A mistake now would block the card (§6.4: the host refuses to
		// send the password at the last try unless allowed).
		return false, apsession.ErrLastTry
	}
	return true, nil
}

// TypeDConfig configures the standard Type D AP (encrypted binary data,
// mutual authentication, optional password; docs/PROTOCOL.md chapter 7).
type TypeDConfig struct {
	// Config is the host side of the AP: AID, operator keys and data
	// key, password (Config.Password) and the rest of typed.Config.
	typed.Config
	// PasswordFunc supplies the holder's password. It is required when
	// Config.Password is set, and must be nil otherwise.
	PasswordFunc PasswordFunc
	// Generations, when set, remembers the highest generation read per
	// card: a card presenting an older one is refused with ReasonRollback
	// (*RollbackError). Nil: nothing is remembered. Either way a read that
	// fell back to the older slot is logged (Config.Logger), and
	// Config.RequireNewest refuses it with ReasonRollback.
	Generations *GenerationMemory
}

// Validate checks c as New does, before any card is seen: the embedded
// typed.Config (typed.Config.Validate) and a PasswordFunc exactly when
// the AP has a password. Every error wraps ErrConfig and names the field.
func (c TypeDConfig) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return within("Config", err)
	}
	return checkPasswordFunc(c.hasPassword(), c.passwordMode(), c.PasswordFunc)
}

// hasPassword reports whether the configuration says the AP has a
// password.
func (c TypeDConfig) hasPassword() bool { return c.Config.Password != profile.PasswordNone }

// passwordMode names Config.Password for errors.
func (c TypeDConfig) passwordMode() string { return c.Config.Password.String() }

// TypeD returns the standard Type D AP: open (select, mutual
// authentication, password), read and decrypt the content, and report its
// Identity. The application data of the AP is not part of the Identity;
// read it with package typed.
func TypeD(cfg TypeDConfig) AP { return typeDAP{cfg: cfg} }

type typeDAP struct{ cfg TypeDConfig }

func (typeDAP) Type() profile.APType { return profile.TypeD }

// ProofMethod implements Prover: a Type D read succeeds only after mutual
// authentication with the operator's read key.
func (typeDAP) ProofMethod() ProofMethod { return ProofMutualAuth }

// validate lets New refuse a bad configuration before any card is seen.
func (a typeDAP) validate() error { return a.cfg.Validate() }

func (a typeDAP) Read(ctx context.Context, t apdu.Transport) (Identity, error) {
	id := Identity{AP: profile.TypeD, AID: a.cfg.AID}
	if len(id.AID) == 0 {
		id.AID = profile.DefaultAID(profile.TypeD)
	}
	counter := &apdu.Counter{Next: t}
	var (
		content typed.ReadResult
		err     error
		keySet  int
	)
	if a.cfg.hasPassword() {
		content, keySet, err = a.readWithPassword(ctx, counter, &id)
	} else {
		err = apsession.WithTransaction(ctx, counter, func(ctx context.Context) (err error) {
			ap, err := typed.Open(ctx, counter, a.cfg.Config, nil)
			if err != nil {
				return err
			}
			defer closeAP(ap, &err)
			id.CUID, keySet = ap.CUID(), ap.KeySet()
			content, err = ap.Read(ctx)
			return err
		})
	}
	id.APDUs = counter.APDUs
	keySetCUID(&id, err)
	if err == nil {
		err = a.checkGeneration(id.CUID, content.ReadReport)
	}
	if err != nil {
		switch {
		case errors.Is(err, typed.ErrNoData):
			return id, &Error{Reason: ReasonNotPersonalized, Err: err}
		case errors.Is(err, ErrRollback), errors.Is(err, typed.ErrFallback):
			return id, &Error{Reason: ReasonRollback, Err: err}
		case errors.Is(err, typed.ErrDataKeyRefused):
			return id, &Error{Reason: ReasonMalformed, Err: err}
		}
		if !a.cfg.hasPassword() {
			err = passwordModeMismatch(err, "none")
		}
		return id, mapAuthAPError(err, profile.ErrNotPresent, nil, profile.ErrMalformed, typed.ErrLastTry, typed.ErrCardSwapped)
	}
	// The content is only readable under the secure messaging session
	// that mutual authentication opened: a successful read is the proof.
	// With a password, Open (or Verify) had the card accept it, or the
	// card reported it verified already, before the read.
	id.Proof = Proof{AP: profile.TypeD, Method: ProofMutualAuth, PasswordVerified: a.cfg.hasPassword(), KeySet: keySet}
	id.UserID = content.Identity.UserID
	id.Attributes = content.Identity.Attributes
	id.Expires = content.Identity.Expires
	return id, nil
}

// checkGeneration logs a fallback to the older slot and, with a
// generation memory, refuses a generation older than the one seen before
// (*RollbackError) and records a newer one.
func (a typeDAP) checkGeneration(cuid profile.CUID, rep typed.ReadReport) error {
	if rep.Fallback != nil && a.cfg.Logger != nil {
		a.cfg.Logger.Warn("cardap: Type D read fell back to the older slot", "cuid", cuid.String(),
			"skipped_slot", rep.Fallback.Slot, "skipped_generation", rep.Fallback.Generation,
			"why", rep.Fallback.Err.Error(), "read_generation", rep.Header.Generation)
	}
	if a.cfg.Generations == nil {
		return nil
	}
	return a.cfg.Generations.Observe(cuid, rep.Header.Generation)
}

// readWithPassword reads an AP with a password in two PC/SC transactions
// around the holder's prompt, as the Type A one does: SELECT (a card
// without the AP ends here, unprompted), mutual authentication with the
// read key and the password's status (no try spent); the PasswordFunc
// outside any transaction; then typed.AP.Verify (the status again, then
// VERIFY once, under the secure messaging session) and the read. It sets
// id.CUID once the AP is selected.
func (a typeDAP) readWithPassword(ctx context.Context, t apdu.Transport, id *Identity) (_ typed.ReadResult, keySet int, err error) {
	var (
		content typed.ReadResult
		ap      *typed.AP
		need    bool
	)
	err = apsession.WithTransaction(ctx, t, func(ctx context.Context) error {
		var err error
		if ap, err = typed.OpenUnauthenticated(ctx, t, a.cfg.Config); err != nil {
			return err
		}
		id.CUID, keySet = ap.CUID(), ap.KeySet()
		if err := ap.Authenticate(ctx, ap.Config().ReadKey); err != nil {
			return err
		}
		if a.cfg.PasswordFunc == nil {
			return fmt.Errorf("%w: no PasswordFunc configured", typed.ErrPasswordRequired)
		}
		st, err := ap.PasswordStatus(ctx)
		if err != nil {
			return err
		}
		if need, err = passwordNeeded(st, a.cfg.AllowLastTry); err != nil {
			return fmt.Errorf("password status: %w", err)
		}
		return nil
	})
	if ap != nil {
		defer closeAP(ap, &err)
	}
	if err != nil {
		return content, keySet, err
	}
	err = promptThenFinish(ctx, t, id.CUID, need, a.cfg.PasswordFunc, PasswordRequest{AP: profile.TypeD, AID: id.AID}, func(ctx context.Context, pw profile.Password) error {
		if need {
			if err := ap.Verify(ctx, pw, typed.VerifyOptions{AllowLastTry: a.cfg.AllowLastTry}); err != nil {
				return err
			}
		}
		var err error
		content, err = ap.Read(ctx)
		return err
	})
	return content, keySet, err
}

// keySetCUID sets id.CUID, when no CUID is known yet, from a
// *profile.KeySetError: the SELECT read the CUID before the key set was
// refused, and the refusal should name the card.
func keySetCUID(id *Identity, err error) {
	var ke *profile.KeySetError
	if id.CUID.IsZero() && errors.As(err, &ke) {
		id.CUID = ke.CUID
	}
}

// passwordModeMismatch turns the card's "security status not satisfied"
// (6982) into a refusal with ReasonPasswordMode when the configured
// password mode cannot meet the card's access conditions. 6982 is the
// card's answer when an access condition is not met (ISO/IEC 7816-4
// §5.1.3, table 6; docs/PROTOCOL.md §3.3, §6.4): with mode "none", to a
// read that its password guards; with mode "before-auth", to a password
// sent in plain to a card that takes it only under secure messaging
// (after authentication), no try spent. A failure of mutual
// authentication or secure messaging, or a removal, is left as it is.
func passwordModeMismatch(err error, mode string) error {
	if !errors.Is(err, apdu.ErrSecurityStatusNotSatisfied) || isRemoval(err) || isAuthFailure(err) {
		return err
	}
	what := "the card requires a password and the configured password mode is none"
	if mode != "none" {
		what = "the card refuses the password before authentication and the configured password mode is " + mode
	}
	return &Error{Reason: ReasonPasswordMode, Err: fmt.Errorf("%s: %w", what, err)}
}

// isAuthFailure reports whether err is a failure of mutual
// authentication or secure messaging.
func isAuthFailure(err error) bool {
	for _, target := range []error{secure.ErrCardCryptogram, secure.ErrNonceMismatch,
		secure.ErrTerminalRejected, secure.ErrSessionClosed, secure.ErrResponseMAC,
		secure.ErrResponseUnprotected, secure.ErrStatusMismatch, secure.ErrCardRejectedSM,
		secure.ErrResponseMalformed, secure.ErrChallenge} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// mapAuthAPError maps the errors of typea and typed to cardap's reasons.
func mapAuthAPError(err, notPresent, notPersonalized, malformed, lastTry, swapped error) error {
	var te *apdu.TriesError
	var decided *Error
	switch {
	case isRemoval(err), errors.Is(err, swapped):
		// Before any other test: a card pulled (or swapped) mid-read is
		// asked for again, whatever else its error matches.
		return &Error{Reason: ReasonCardRemoved, Err: err}
	case errors.As(err, &decided):
		// Already classified (a password-mode mismatch): keep it.
		return err
	case errors.Is(err, profile.ErrKeySet):
		// The terminal refused the card's key set before any key was
		// tried (docs/PROTOCOL.md §5.3).
		return &Error{Reason: ReasonKeySet, Err: err}
	case errors.Is(err, notPresent):
		return fmt.Errorf("%w: %w", ErrUnknownCard, err)
	case notPersonalized != nil && errors.Is(err, notPersonalized):
		return &Error{Reason: ReasonNotPersonalized, Err: err}
	case errors.Is(err, malformed), errors.Is(err, profile.ErrInvalidIdentity), errors.Is(err, typed.ErrAuthentication):
		return &Error{Reason: ReasonMalformed, Err: err}
	case errors.Is(err, lastTry):
		return &Error{Reason: ReasonPasswordBlocked, Err: err}
	case errors.Is(err, typea.ErrPasswordRequired), errors.Is(err, typea.ErrPasswordFormat),
		errors.Is(err, typed.ErrPasswordRequired), errors.Is(err, apsession.ErrPasswordFormat):
		return &Error{Reason: ReasonPasswordRequired, Err: err}
	case errors.As(err, &te) && isPasswordTries(err):
		if te.Remaining == 0 {
			return &Error{Reason: ReasonPasswordBlocked, Err: err}
		}
		return &Error{Reason: ReasonPasswordWrong, Err: err}
	case isAuthFailure(err):
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
	var pe *profile.PasswordError
	return errors.As(err, &pe) || errors.Is(err, apdu.ErrVerificationFailed)
}
