package cardap

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/jpki"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// JPKIConfig configures the JPKI AP option: user authentication with the
// public JPKI AP of every My Number Card (package jpki; docs/PROTOCOL.md
// chapter 10). Verifying JPKI signatures as a business requires the
// minister's approval (JPKI Act §17; see package jpki).
type JPKIConfig struct {
	// Roots are the J-LIS authentication CA certificates the operator
	// configures (jpki.LoadCertificates), several generations at once.
	// Required; none is bundled.
	Roots []*x509.Certificate
	// Intermediates are CA certificates that may sit between a root and
	// a card's certificate.
	Intermediates []*x509.Certificate
	// PasswordFunc supplies the holder's 4-digit authentication PIN
	// (required). It is called with PasswordRequest{AP: profile.JPKI},
	// once the card's certificate chained to Roots, its revocation was
	// checked and the PIN's status allows a try, outside any PC/SC
	// transaction.
	PasswordFunc PasswordFunc
	// AllowLastTry sends the PIN even when one try is left (a mistake
	// then blocks the card's authentication key, which only the
	// municipal office unblocks). Without it such cards are refused with
	// ReasonPasswordBlocked, wrapping profile.ErrLastTry.
	AllowLastTry bool
	// OCSP, when set, is asked after the client's revocation list (an
	// answer other than good refuses the card unless OCSP.SoftFail).
	OCSP *jpki.OCSPChecker
	// Read bounds and shapes the certificate read (extended length when
	// the reader allows it).
	Read jpki.ReadOptions
	// Rand is the source of challenges; nil means crypto/rand.Reader.
	Rand io.Reader
}

// Validate checks c as New does, before any card is seen: roots that are
// CA certificates, a PasswordFunc, read options in range.
func (c JPKIConfig) Validate() error {
	if c.PasswordFunc == nil {
		return configErr("PasswordFunc", "nil (the JPKI AP always needs the holder's PIN)")
	}
	if _, err := jpki.NewAuthenticator(c.options(time.Now, nil)); err != nil {
		return configErr("", "%v", err)
	}
	return nil
}

// options are the jpki.AuthOptions of one identification.
func (c JPKIConfig) options(now func() time.Time, rc jpki.RevocationChecker) jpki.AuthOptions {
	return jpki.AuthOptions{
		Roots: c.Roots, Intermediates: c.Intermediates, Time: now, Rand: c.Rand,
		Revocation: rc, NoRevocation: rc == nil, AllowLastTry: c.AllowLastTry, Read: c.Read,
	}
}

// JPKI returns the JPKI AP option. It proves the card (ProofSignature):
// the card signed a fresh random challenge with the key of an
// authentication certificate that chains to Roots, after the holder's
// PIN. The Identity has AP profile.JPKI, no CUID, UserID the identity's
// 64 hex digits (jpki.Identity.String: SHA-256 of the certificate's
// SubjectPublicKeyInfo), Expires the certificate's end of validity, and
// JPKI the identity with its issuer, serial and revocation key; the client
// checks the revocation list by that key (KeyChecker), before the PIN is
// asked.
func JPKI(cfg JPKIConfig) AP { return jpkiAP{cfg: cfg} }

type jpkiAP struct{ cfg JPKIConfig }

// Type returns profile.JPKI.
func (jpkiAP) Type() profile.APType { return profile.JPKI }

// ProofMethod implements Prover: ProofSignature.
func (jpkiAP) ProofMethod() ProofMethod { return ProofSignature }

func (a jpkiAP) validate() error { return a.cfg.Validate() }

// clockKey carries the client's clock (Config.Now) to the APs' Read.
type clockKey struct{}

// clockOf returns the client's clock carried by ctx, time.Now otherwise.
func clockOf(ctx context.Context) func() time.Time {
	if now, ok := ctx.Value(clockKey{}).(func() time.Time); ok {
		return now
	}
	return time.Now
}

// Read authenticates the holder through the JPKI AP.
func (a jpkiAP) Read(ctx context.Context, t apdu.Transport) (Identity, error) {
	id := Identity{AP: profile.JPKI, AID: jpki.AID()}
	counter := &apdu.Counter{Next: t}
	var rc jpki.RevocationChecker
	if check, ok := ctx.Value(revocationKeyCheckKey{}).(func(context.Context, revocation.Key) error); ok {
		rc = listChecker(check)
	}
	if a.cfg.OCSP != nil {
		if rc == nil {
			rc = a.cfg.OCSP
		} else {
			rc = jpki.AllOf(rc, a.cfg.OCSP)
		}
	}
	opts := a.cfg.options(clockOf(ctx), rc)
	opts.PIN = func(ctx context.Context, _ profile.PasswordStatus) (profile.Password, error) {
		return a.cfg.PasswordFunc(ctx, PasswordRequest{AP: profile.JPKI, AID: id.AID})
	}
	auth, err := jpki.NewAuthenticator(opts)
	if err != nil {
		return id, configErr("", "%v", err)
	}
	res, err := auth.Authenticate(ctx, counter)
	id.APDUs = counter.APDUs
	if err != nil {
		return id, mapJPKIError(err)
	}
	ident := res.Identity
	id.JPKI = &ident
	id.UserID = ident.String()
	id.Expires = ident.NotAfter
	id.Proof = Proof{AP: profile.JPKI, Method: ProofSignature, PasswordVerified: true}
	return id, nil
}

// listChecker adapts the client's revocation check of a key to
// jpki.RevocationChecker; its refusal (a cardap *Error) passes through.
type listChecker func(context.Context, revocation.Key) error

// CheckCertificate implements jpki.RevocationChecker.
func (f listChecker) CheckCertificate(ctx context.Context, cert, _ *x509.Certificate) error {
	k, err := revocation.CertificateKey(cert.RawIssuer, cert.SerialNumber)
	if err != nil {
		return &Error{Reason: ReasonRevocationUnknown, Err: err}
	}
	return f(ctx, k)
}

// mapJPKIError maps the errors of package jpki to cardap's reasons.
func mapJPKIError(err error) error {
	var (
		decided *Error
		ce      *jpki.CertificateInvalidError
		te      *apdu.TriesError
	)
	switch {
	case isRemoval(err):
		return &Error{Reason: ReasonCardRemoved, Err: err}
	case errors.As(err, &decided):
		return err
	case errors.Is(err, jpki.ErrNotJPKI):
		return fmt.Errorf("%w: %w", ErrUnknownCard, err)
	case errors.Is(err, jpki.ErrSmartphone):
		return &Error{Reason: ReasonUnknownCard, Err: err}
	case errors.As(err, &ce):
		switch ce.Reason {
		case jpki.ReasonExpired:
			return &Error{Reason: ReasonExpired, Err: err}
		case jpki.ReasonMalformed:
			return &Error{Reason: ReasonMalformed, Err: err}
		}
		return &Error{Reason: ReasonAuthFailed, Err: err}
	case errors.Is(err, jpki.ErrMalformed):
		return &Error{Reason: ReasonMalformed, Err: err}
	case errors.Is(err, jpki.ErrBadSignature):
		return &Error{Reason: ReasonAuthFailed, Err: err}
	case errors.Is(err, jpki.ErrRevoked):
		return &Error{Reason: ReasonRevoked, Err: err}
	case errors.Is(err, jpki.ErrRevocationUnknown):
		return &Error{Reason: ReasonRevocationUnknown, Err: err}
	case errors.Is(err, profile.ErrLastTry):
		return &Error{Reason: ReasonPasswordBlocked, Err: err}
	case errors.Is(err, jpki.ErrPINFormat):
		return &Error{Reason: ReasonPasswordRequired, Err: err}
	case errors.As(err, &te):
		if te.Remaining == 0 {
			return &Error{Reason: ReasonPasswordBlocked, Err: err}
		}
		return &Error{Reason: ReasonPasswordWrong, Err: err}
	}
	return err
}
