package jpki

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// ChallengeLen is the length of the random challenge of one
// authentication.
const ChallengeLen = 32

// minRSABits is the smallest authentication key accepted: JPKI keys are
// RSA-2048.
const minRSABits = 2048

// PINFunc asks the holder for the authentication PIN. It is called
// outside any PC/SC transaction, after the certificate was read and
// checked, with the PIN's status (tries left; never a blocked PIN, and
// one try left only with AuthOptions.AllowLastTry). The Authenticator
// wipes the returned PIN after use.
type PINFunc func(ctx context.Context, st profile.PasswordStatus) (profile.Password, error)

// AuthOptions configure an Authenticator. Roots is required, and a
// revocation decision: Revocation or NoRevocation.
type AuthOptions struct {
	// Roots are the trust anchors: the J-LIS authentication CA
	// certificates the operator configures (LoadCertificates), several
	// generations at once. None is bundled. The certificate the card
	// holds in EF 000B is never an anchor.
	Roots []*x509.Certificate
	// Intermediates are CA certificates that may sit between an anchor
	// and a card's certificate (none for today's J-LIS hierarchy).
	Intermediates []*x509.Certificate
	// Time is the clock for validity and for the revocation freshness;
	// nil means time.Now.
	Time func() time.Time
	// Rand is the source of challenges; nil means crypto/rand.Reader.
	Rand io.Reader
	// Revocation decides whether a certificate is revoked
	// (StoreChecker, OCSPChecker, AllOf). Its refusal or error refuses
	// the card (fail closed).
	Revocation RevocationChecker
	// NoRevocation runs without a revocation check (demos, tests);
	// exclusive with Revocation.
	NoRevocation bool
	// PIN asks for the PIN between reading and signing (Authenticate).
	// Not used by AuthenticateWithPIN.
	PIN PINFunc
	// AllowLastTry lets the PIN go when one try is left (VerifyOptions).
	AllowLastTry bool
	// Read bounds and shapes the certificate read.
	Read ReadOptions
}

// Identity is who the card proved to be, with nothing personal: the
// authentication certificate carries no name or address, and this keeps
// only its key's hash, issuer and serial (docs/PROTOCOL.md §10.3).
type Identity struct {
	// ID is SHA-256 of the authentication certificate's DER
	// SubjectPublicKeyInfo: stable for the certificate's key, the same
	// on every terminal.
	ID [sha256.Size]byte
	// Issuer is the issuing CA's name (RFC 2253 form).
	Issuer string
	// Serial is the certificate's serial number.
	Serial *big.Int
	// RevocationKey is the certificate revocation key
	// (revocation.CertificateKey of the issuer's DER name and Serial).
	RevocationKey revocation.Key
	// NotAfter is the end of the certificate's validity.
	NotAfter time.Time
}

// String returns ID in lower-case hex (64 digits).
func (id Identity) String() string { return hex.EncodeToString(id.ID[:]) }

// IdentityOf derives the Identity of an authentication certificate.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	if cert == nil || len(cert.RawSubjectPublicKeyInfo) == 0 {
		return Identity{}, &CertificateInvalidError{Reason: ReasonMalformed, Detail: "no certificate"}
	}
	k, err := revocation.CertificateKey(cert.RawIssuer, cert.SerialNumber)
	if err != nil {
		return Identity{}, &CertificateInvalidError{Reason: ReasonMalformed, Err: err}
	}
	return Identity{
		ID:            sha256.Sum256(cert.RawSubjectPublicKeyInfo),
		Issuer:        cert.Issuer.String(),
		Serial:        new(big.Int).Set(cert.SerialNumber),
		RevocationKey: k,
		NotAfter:      cert.NotAfter,
	}, nil
}

// Result is an accepted authentication.
type Result struct {
	// Identity is the holder's identity.
	Identity Identity
	// Certificate is the authentication certificate read from the card.
	Certificate *x509.Certificate
	// Chain is the verified chain, the certificate first and an anchor
	// last.
	Chain []*x509.Certificate
	// APDUs is the number of command APDUs sent.
	APDUs int
}

// Authenticator authenticates card holders. It is made by
// NewAuthenticator, which checks the options and builds the anchor pool
// once; it is safe for concurrent use (one card per call).
type Authenticator struct {
	roots, inter *x509.CertPool
	now          func() time.Time
	rand         io.Reader
	rev          RevocationChecker
	pin          PINFunc
	lastTry      bool
	read         ReadOptions
	chains       *chainCache
}

// NewAuthenticator checks opts and returns an Authenticator. Every problem
// is an error wrapping ErrConfig: no root, a root that is not a CA, no
// revocation decision (or both), read options out of range.
func NewAuthenticator(opts AuthOptions) (*Authenticator, error) {
	if len(opts.Roots) == 0 {
		return nil, fmt.Errorf("%w: AuthOptions.Roots is empty", ErrConfig)
	}
	if opts.Revocation == nil && !opts.NoRevocation {
		return nil, fmt.Errorf("%w: AuthOptions.Revocation is nil and NoRevocation is false", ErrConfig)
	}
	if opts.Revocation != nil && opts.NoRevocation {
		return nil, fmt.Errorf("%w: AuthOptions.NoRevocation is true and Revocation is set", ErrConfig)
	}
	read, err := opts.Read.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Authenticator{
		roots: x509.NewCertPool(), inter: x509.NewCertPool(),
		now: opts.Time, rand: opts.Rand, rev: opts.Revocation,
		pin: opts.PIN, lastTry: opts.AllowLastTry, read: read,
		chains: newChainCache(chainCacheSize),
	}
	for i, c := range opts.Roots {
		if c == nil || !c.IsCA {
			return nil, fmt.Errorf("%w: AuthOptions.Roots[%d] is not a CA certificate", ErrConfig, i)
		}
		a.roots.AddCert(c)
	}
	for i, c := range opts.Intermediates {
		if c == nil || !c.IsCA {
			return nil, fmt.Errorf("%w: AuthOptions.Intermediates[%d] is not a CA certificate", ErrConfig, i)
		}
		a.inter.AddCert(c)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	return a, nil
}

// Authenticate authenticates the holder of the card behind t, asking the
// PIN through AuthOptions.PIN between reading and signing:
//
//  1. in one transaction: SELECT AP, SELECT EF 000A and READ BINARY
//     (Card.Certificate), SELECT EF 0018 and VERIFY without data;
//  2. the certificate checked (VerifyCertificate: key, key usage,
//     validity at AuthOptions.Time, chain to AuthOptions.Roots) and its
//     revocation decided; a blocked PIN, or one try left without
//     AllowLastTry, refused: the holder is not asked for a PIN that
//     cannot be used or would go to an untrusted card;
//  3. the PIN asked, outside any transaction;
//  4. in one transaction: SELECT AP and EF 0018 again (another
//     application may have used the card during the prompt), VERIFY,
//     SELECT EF 0017 and the signature of DigestInfo(SHA-256(challenge))
//     for a fresh random challenge;
//  5. the signature verified with the certificate's public key.
//
// The PIN is sent once, never retried. Errors: ErrNotJPKI,
// ErrSmartphone, *SizeError, *CertificateInvalidError, *RevokedError,
// ErrRevocationUnknown, ErrPINFormat, *profile.PasswordError (wrong or
// blocked), profile.ErrLastTry, ErrBadSignature, and the transport's
// (apdu.ErrCardRemoved, ...).
func (a *Authenticator) Authenticate(ctx context.Context, t apdu.Transport) (*Result, error) {
	if a.pin == nil {
		return nil, fmt.Errorf("%w: AuthOptions.PIN is nil", ErrConfig)
	}
	return a.run(ctx, t, nil)
}

// AuthenticateWithPIN is Authenticate with a PIN known before the tap:
// one transaction, in which the certificate's chain is checked before
// the PIN is sent; its revocation and the signature are checked after.
func (a *Authenticator) AuthenticateWithPIN(ctx context.Context, t apdu.Transport, pin profile.Password) (*Result, error) {
	if pin == nil {
		return nil, fmt.Errorf("%w: nil PIN", ErrPINFormat)
	}
	return a.run(ctx, t, pin)
}

// run is the flow of Authenticate (pin nil) and AuthenticateWithPIN.
func (a *Authenticator) run(ctx context.Context, t apdu.Transport, pin profile.Password) (res *Result, err error) {
	if t == nil {
		return nil, fmt.Errorf("%w: nil transport", ErrConfig)
	}
	if pin != nil {
		if err := CheckPIN(pin); err != nil {
			return nil, err
		}
	}
	challenge := make([]byte, ChallengeLen)
	if _, err := io.ReadFull(a.rand, challenge); err != nil {
		return nil, fmt.Errorf("jpki: challenge: %w", err)
	}
	digest := sha256.Sum256(challenge)
	cnt := &apdu.Counter{Next: t}
	res = &Result{}
	defer func() {
		if res != nil {
			res.APDUs = cnt.APDUs
		}
	}()
	var (
		c   *Card
		st  profile.PasswordStatus
		sig []byte
	)
	err = apdu.WithTransaction(ctx, cnt, func(ctx context.Context) error {
		var err error
		if c, err = Open(ctx, cnt, a.read); err != nil {
			return err
		}
		if res.Certificate, err = c.Certificate(ctx, EFAuthCertificate); err != nil {
			return err
		}
		if res.Chain, err = a.VerifyCertificate(res.Certificate); err != nil {
			return err
		}
		if st, err = c.PINStatus(ctx); err != nil {
			return err
		}
		if pin == nil {
			return nil
		}
		if err := checkTries(st, a.lastTry); err != nil {
			return err
		}
		sig, err = c.verifyAndSign(ctx, pin, digest[:])
		return err
	})
	if err != nil {
		return nil, err
	}
	if res.Identity, err = IdentityOf(res.Certificate); err != nil {
		return nil, err
	}
	if err := a.checkRevocation(ctx, res.Chain); err != nil {
		return nil, err
	}
	if pin == nil {
		if sig, err = a.promptAndSign(ctx, c, cnt, st, digest[:]); err != nil {
			return nil, err
		}
	}
	if err := VerifySignature(res.Certificate, digest[:], sig); err != nil {
		return nil, err
	}
	return res, nil
}

// promptAndSign asks the PIN outside any transaction and, in a new one,
// selects the AP and the PIN EF again, verifies the PIN and signs.
func (a *Authenticator) promptAndSign(ctx context.Context, c *Card, t apdu.Transport, st profile.PasswordStatus, digest []byte) ([]byte, error) {
	if err := checkTries(st, a.lastTry); err != nil {
		return nil, err
	}
	pin, err := a.pin(ctx, st)
	defer pin.Zero()
	if err != nil {
		return nil, fmt.Errorf("jpki: PIN: %w", err)
	}
	if err := CheckPIN(pin); err != nil {
		return nil, err
	}
	var sig []byte
	err = apdu.WithTransaction(ctx, t, func(ctx context.Context) error {
		if err := c.selectAP(ctx); err != nil {
			return err
		}
		if err := c.selectEF(ctx, EFAuthPIN); err != nil {
			return err
		}
		var err error
		sig, err = c.verifyAndSign(ctx, pin, digest)
		return err
	})
	return sig, err
}

// verifyAndSign verifies the PIN (the PIN EF selected) and signs digest
// with the authentication key. VERIFY is sent even when the card reported
// the PIN verified already: a verification left by another application
// proves nothing about the holder at this tap.
func (c *Card) verifyAndSign(ctx context.Context, pin profile.Password, digest []byte) ([]byte, error) {
	if err := c.verify(ctx, pin); err != nil {
		return nil, err
	}
	return c.SignDigest(ctx, digest)
}

// checkRevocation asks the configured checker about the certificate
// (chain[0]) issued by chain[1].
func (a *Authenticator) checkRevocation(ctx context.Context, chain []*x509.Certificate) error {
	if a.rev == nil {
		return nil
	}
	issuer := chain[0]
	if len(chain) > 1 {
		issuer = chain[1]
	}
	return a.rev.CheckCertificate(ctx, chain[0], issuer)
}

// VerifyCertificate checks an authentication certificate at the
// Authenticator's time: an RSA key of at least 2048 bits, the
// digitalSignature key usage, and a chain to a configured anchor whose
// every certificate is valid then (crypto/x509 Verify: signatures, CA
// constraints, critical extensions). It returns the chain, the
// certificate first. Refusals are *CertificateInvalidError.
//
// A chain verified once is remembered for the same certificate bytes
// (the anchors never change for an Authenticator), so a card seen again
// costs the validity dates of its chain at the new time instead of the
// chain's signatures; the cache holds at most chainCacheSize chains.
func (a *Authenticator) VerifyCertificate(cert *x509.Certificate) ([]*x509.Certificate, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, &CertificateInvalidError{Reason: ReasonKey, Detail: fmt.Sprintf("%v key, want RSA", cert.PublicKeyAlgorithm)}
	}
	if pub.N.BitLen() < minRSABits {
		return nil, &CertificateInvalidError{Reason: ReasonKey, Detail: fmt.Sprintf("RSA-%d, want at least %d bits", pub.N.BitLen(), minRSABits)}
	}
	if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, &CertificateInvalidError{Reason: ReasonKeyUsage, Detail: "digitalSignature not set"}
	}
	now := a.now()
	if chain, ok := a.chains.get(cert, now); ok {
		return chain, nil
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots: a.roots, Intermediates: a.inter, CurrentTime: now,
		// JPKI authentication certificates name no extended key usage
		// that this check could require.
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		var ie x509.CertificateInvalidError
		if errors.As(err, &ie) && ie.Reason == x509.Expired {
			return nil, &CertificateInvalidError{Reason: ReasonExpired, Detail: ie.Detail, Err: err}
		}
		return nil, &CertificateInvalidError{Reason: ReasonUntrusted, Err: err}
	}
	a.chains.put(cert, chains[0])
	return chains[0], nil
}

// VerifySignature checks sig, the card's PKCS#1 v1.5 signature of the
// SHA-256 digest, with the certificate's RSA public key: ErrBadSignature
// when it does not verify.
func VerifySignature(cert *x509.Certificate, digest, sig []byte) error {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return &CertificateInvalidError{Reason: ReasonKey, Detail: "not an RSA key"}
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig); err != nil {
		return ErrBadSignature
	}
	return nil
}

// Authenticate authenticates the holder of the card behind t with opts
// (NewAuthenticator, then Authenticator.Authenticate). A terminal that
// authenticates many cards makes one Authenticator and keeps it: the
// anchor pool is built once.
func Authenticate(ctx context.Context, t apdu.Transport, opts AuthOptions) (*Result, error) {
	a, err := NewAuthenticator(opts)
	if err != nil {
		return nil, err
	}
	return a.Authenticate(ctx, t)
}
