// Package jpkiap is the JPKI AP option of cardap.Client: user
// authentication with the public JPKI AP of every My Number Card (package
// jpki; docs/PROTOCOL.md chapter 10). It is a package of its own so that a
// program using cardap without it links neither crypto/x509 nor net/http
// (cardap's check-only path stays small). Verifying JPKI signatures as a
// business requires the minister's approval (JPKI Act §17; see package
// jpki).
package jpkiap

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/jpki"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// Config configures the JPKI AP option.
type Config struct {
	// Roots are the J-LIS authentication CA certificates the operator
	// configures (jpki.LoadCertificates), several generations at once.
	// Required; none is bundled.
	Roots []*x509.Certificate
	// Intermediates are CA certificates that may sit between a root and
	// a card's certificate.
	Intermediates []*x509.Certificate
	// PasswordFunc supplies the holder's 4-digit authentication PIN
	// (required). It is called with cardap.PasswordRequest{AP: profile.JPKI},
	// once the card's certificate chained to Roots, its revocation was
	// checked and the PIN's status allows a try, outside any PC/SC
	// transaction.
	PasswordFunc cardap.PasswordFunc
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

// Validate checks c as cardap.New does, before any card is seen: roots
// that are CA certificates, a PasswordFunc, read options in range. Errors
// wrap cardap.ErrConfig.
func (c Config) Validate() error {
	if c.PasswordFunc == nil {
		return fmt.Errorf("%w: PasswordFunc is nil (the JPKI AP always needs the holder's PIN)", cardap.ErrConfig)
	}
	if _, err := jpki.NewAuthenticator(c.options(time.Now, nil)); err != nil {
		return fmt.Errorf("%w: %w", cardap.ErrConfig, err)
	}
	return nil
}

// options are the jpki.AuthOptions of one identification.
func (c Config) options(now func() time.Time, rc jpki.RevocationChecker) jpki.AuthOptions {
	return jpki.AuthOptions{
		Roots: c.Roots, Intermediates: c.Intermediates, Time: now, Rand: c.Rand,
		Revocation: rc, NoRevocation: rc == nil, AllowLastTry: c.AllowLastTry, Read: c.Read,
	}
}

// New returns the JPKI AP option for cardap.Config.APs. It proves the
// card (cardap.ProofSignature): the card signed a fresh random challenge
// with the key of an authentication certificate that chains to Roots,
// after the holder's PIN. The Identity has AP profile.JPKI, no CUID,
// UserID the identity's 64 hex digits (SHA-256 of the certificate's
// SubjectPublicKeyInfo), Expires the certificate's end of validity, and
// JPKI the identity with its issuer, serial and revocation key; the client
// checks its revocation list by that key (cardap.KeyChecker) before the
// PIN is asked.
func New(cfg Config) cardap.AP { return jpkiAP{cfg: cfg} }

type jpkiAP struct{ cfg Config }

// Type returns profile.JPKI.
func (jpkiAP) Type() profile.APType { return profile.JPKI }

// ProofMethod implements cardap.Prover: cardap.ProofSignature.
func (jpkiAP) ProofMethod() cardap.ProofMethod { return cardap.ProofSignature }

// Validate lets cardap.New refuse a bad configuration before any card is
// seen.
func (a jpkiAP) Validate() error { return a.cfg.Validate() }

// Read authenticates the holder through the JPKI AP.
func (a jpkiAP) Read(ctx context.Context, t apdu.Transport) (cardap.Identity, error) {
	id := cardap.Identity{AP: profile.JPKI, AID: jpki.AID()}
	counter := &apdu.Counter{Next: t}
	var rc jpki.RevocationChecker
	if check := cardap.RevocationKeyCheck(ctx); check != nil {
		rc = listChecker(check)
	}
	if a.cfg.OCSP != nil {
		if rc == nil {
			rc = a.cfg.OCSP
		} else {
			rc = jpki.AllOf(rc, a.cfg.OCSP)
		}
	}
	opts := a.cfg.options(cardap.Clock(ctx), rc)
	opts.PIN = func(ctx context.Context, _ profile.PasswordStatus) (profile.Password, error) {
		return a.cfg.PasswordFunc(ctx, cardap.PasswordRequest{AP: profile.JPKI, AID: id.AID})
	}
	auth, err := jpki.NewAuthenticator(opts)
	if err != nil {
		return id, fmt.Errorf("%w: %w", cardap.ErrConfig, err)
	}
	res, err := auth.Authenticate(ctx, counter)
	id.APDUs = counter.APDUs
	if err != nil {
		return id, mapJPKIError(err)
	}
	ident := res.Identity
	id.JPKI = &cardap.JPKIIdentity{ID: ident.ID, Issuer: ident.Issuer, Serial: ident.Serial, RevocationKey: ident.RevocationKey, NotAfter: ident.NotAfter}
	id.UserID = ident.String()
	id.Expires = ident.NotAfter
	id.Proof = cardap.Proof{AP: profile.JPKI, Method: cardap.ProofSignature, PasswordVerified: true}
	return id, nil
}

// listChecker adapts the client's revocation check of a key to
// jpki.RevocationChecker; its refusal (a cardap *Error) passes through.
type listChecker func(context.Context, revocation.Key) error

// CheckCertificate implements jpki.RevocationChecker.
func (f listChecker) CheckCertificate(ctx context.Context, cert, _ *x509.Certificate) error {
	k, err := revocation.CertificateKey(cert.RawIssuer, cert.SerialNumber)
	if err != nil {
		return &cardap.Error{Reason: cardap.ReasonRevocationUnknown, Err: err}
	}
	return f(ctx, k)
}

// mapJPKIError maps the errors of package jpki to cardap's reasons.
func mapJPKIError(err error) error {
	var (
		decided *cardap.Error
		ce      *jpki.CertificateInvalidError
		te      *apdu.TriesError
	)
	switch {
	case errors.Is(err, apdu.ErrCardRemoved), errors.Is(err, apdu.ErrCardReset):
		return &cardap.Error{Reason: cardap.ReasonCardRemoved, Err: err}
	case errors.As(err, &decided):
		return err
	case errors.Is(err, jpki.ErrNotJPKI):
		return fmt.Errorf("%w: %w", cardap.ErrUnknownCard, err)
	case errors.Is(err, jpki.ErrSmartphone):
		return &cardap.Error{Reason: cardap.ReasonUnknownCard, Err: err}
	case errors.As(err, &ce):
		switch ce.Reason {
		case jpki.ReasonExpired:
			return &cardap.Error{Reason: cardap.ReasonExpired, Err: err}
		case jpki.ReasonMalformed:
			return &cardap.Error{Reason: cardap.ReasonMalformed, Err: err}
		}
		return &cardap.Error{Reason: cardap.ReasonAuthFailed, Err: err}
	case errors.Is(err, jpki.ErrMalformed):
		return &cardap.Error{Reason: cardap.ReasonMalformed, Err: err}
	case errors.Is(err, jpki.ErrBadSignature):
		return &cardap.Error{Reason: cardap.ReasonAuthFailed, Err: err}
	case errors.Is(err, jpki.ErrRevoked):
		return &cardap.Error{Reason: cardap.ReasonRevoked, Err: err}
	case errors.Is(err, jpki.ErrRevocationUnknown):
		return &cardap.Error{Reason: cardap.ReasonRevocationUnknown, Err: err}
	case errors.Is(err, profile.ErrLastTry):
		return &cardap.Error{Reason: cardap.ReasonPasswordBlocked, Err: err}
	case errors.Is(err, jpki.ErrPINFormat):
		return &cardap.Error{Reason: cardap.ReasonPasswordRequired, Err: err}
	case errors.As(err, &te):
		if te.Remaining == 0 {
			return &cardap.Error{Reason: cardap.ReasonPasswordBlocked, Err: err}
		}
		return &cardap.Error{Reason: cardap.ReasonPasswordWrong, Err: err}
	}
	return err
}
