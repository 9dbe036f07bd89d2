package jpki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/mynacard/freespace/revocation"
)

// RevocationChecker decides whether an authentication certificate,
// issued by issuer, is revoked. It returns nil when it is not, a
// *RevokedError when it is, and any other error (wrapping
// ErrRevocationUnknown) when it cannot decide: the Authenticator then
// refuses the card (fail closed).
type RevocationChecker interface {
	CheckCertificate(ctx context.Context, cert, issuer *x509.Certificate) error
}

// StoreChecker checks certificates against a revocation store by their
// certificate revocation key (revocation.CertificateKey; docs/PROTOCOL.md
// §10.4), under the store's freshness policy: a revoked key is refused
// however old the list; a key not on it is accepted while the list is
// fresh enough, and refused (ErrRevocationUnknown, wrapping the store's
// revocation.ErrStale) otherwise unless the policy allows stale lists.
// Load a J-LIS CRL into the store with feed.CRLParser{Issuer: ca,
// CertificateKeys: true}.
func StoreChecker(s *revocation.Store) RevocationChecker { return storeChecker{s} }

type storeChecker struct{ s *revocation.Store }

// CheckCertificate implements RevocationChecker.
func (c storeChecker) CheckCertificate(ctx context.Context, cert, _ *x509.Certificate) error {
	if c.s == nil {
		return fmt.Errorf("%w: %w: nil revocation store", ErrRevocationUnknown, ErrConfig)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	k, err := revocation.CertificateKey(cert.RawIssuer, cert.SerialNumber)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRevocationUnknown, err)
	}
	r, err := c.s.Check(k)
	if r.Revoked && r.Entry != nil {
		// Revoked wins over any error of the same lookup.
		return &RevokedError{Key: k, Reason: r.Entry.Reason, RevokedAt: r.Entry.RevokedAt, Source: "list"}
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRevocationUnknown, err)
	}
	return nil
}

// AllOf returns a checker that asks every checker in order and refuses as
// soon as one refuses or cannot decide.
func AllOf(checkers ...RevocationChecker) RevocationChecker {
	return allOf(slices.Clone(checkers))
}

type allOf []RevocationChecker

// CheckCertificate implements RevocationChecker.
func (a allOf) CheckCertificate(ctx context.Context, cert, issuer *x509.Certificate) error {
	if len(a) == 0 {
		return fmt.Errorf("%w: AllOf with no checker", ErrRevocationUnknown)
	}
	for _, c := range a {
		if c == nil {
			return fmt.Errorf("%w: AllOf with a nil checker", ErrRevocationUnknown)
		}
		if err := c.CheckCertificate(ctx, cert, issuer); err != nil {
			return err
		}
	}
	return nil
}

// Defaults of OCSPChecker.
const (
	// DefaultOCSPMaxAge is the oldest OCSP answer accepted (thisUpdate),
	// the revocation store's default freshness.
	DefaultOCSPMaxAge = revocation.DefaultMaxAge
	// DefaultOCSPTimeout bounds one OCSP exchange when the context has
	// no earlier deadline.
	DefaultOCSPTimeout = 10 * time.Second
	// maxOCSPResponse bounds the body read from a responder.
	maxOCSPResponse = 64 << 10
)

// OCSPChecker asks an OCSP responder (RFC 6960) the operator configured
// about a certificate: the request by HTTP POST to ResponderURL (the
// certificates' own URLs are not used: J-LIS answers approved verifiers
// only, at an address it gives them), the answer signed by the issuer or
// by a responder certificate the issuer signed for OCSP signing, for this
// certificate, produced no longer than MaxAge before Time and not past
// its nextUpdate. Good accepts; revoked refuses (*RevokedError); unknown,
// a network error or a bad answer refuse with ErrRevocationUnknown
// unless SoftFail.
type OCSPChecker struct {
	// ResponderURL is the responder's URL (required).
	ResponderURL string
	// Client sends the request; nil means a client with no redirects.
	Client *http.Client
	// Time is the clock; nil means time.Now.
	Time func() time.Time
	// MaxAge is the oldest answer accepted; 0 means DefaultOCSPMaxAge.
	MaxAge time.Duration
	// SoftFail accepts the certificate when the responder cannot be
	// reached or gives no usable answer (never when it says revoked).
	// Off by default: fail closed.
	SoftFail bool
}

// CheckCertificate implements RevocationChecker.
func (o *OCSPChecker) CheckCertificate(ctx context.Context, cert, issuer *x509.Certificate) error {
	err := o.check(ctx, cert, issuer)
	var rev *RevokedError
	if err == nil || errors.As(err, &rev) {
		return err
	}
	if o.SoftFail && ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("%w: OCSP: %w", ErrRevocationUnknown, err)
}

func (o *OCSPChecker) check(ctx context.Context, cert, issuer *x509.Certificate) error {
	if o.ResponderURL == "" {
		return fmt.Errorf("%w: OCSPChecker.ResponderURL is empty", ErrConfig)
	}
	if cert == nil || issuer == nil {
		return fmt.Errorf("%w: no certificate or issuer", ErrConfig)
	}
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return err
	}
	body, err := o.post(ctx, req)
	if err != nil {
		return err
	}
	resp, err := ocsp.ParseResponseForCert(body, cert, issuer)
	if err != nil {
		return err
	}
	now := o.now()
	if err := checkResponder(resp, now); err != nil {
		return err
	}
	maxAge := o.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultOCSPMaxAge
	}
	switch {
	case resp.ThisUpdate.After(now.Add(5 * time.Minute)):
		return fmt.Errorf("answer from the future (thisUpdate %s)", resp.ThisUpdate.UTC().Format(time.RFC3339))
	case now.Sub(resp.ThisUpdate) > maxAge:
		return fmt.Errorf("answer of %s is older than %s", resp.ThisUpdate.UTC().Format(time.RFC3339), maxAge)
	case !resp.NextUpdate.IsZero() && now.After(resp.NextUpdate):
		return fmt.Errorf("answer past its nextUpdate %s", resp.NextUpdate.UTC().Format(time.RFC3339))
	}
	switch resp.Status {
	case ocsp.Good:
		return nil
	case ocsp.Revoked:
		k, _ := revocation.CertificateKey(cert.RawIssuer, cert.SerialNumber)
		return &RevokedError{Key: k, Reason: reasonFromOCSP(resp.RevocationReason), RevokedAt: resp.RevokedAt, Source: "ocsp"}
	}
	return errors.New("the responder does not know the certificate")
}

// checkResponder requires a delegated responder certificate to carry
// id-kp-OCSPSigning and be valid now (RFC 6960 §4.2.2.2); the package
// checks only that the issuer signed it.
func checkResponder(resp *ocsp.Response, now time.Time) error {
	rc := resp.Certificate
	if rc == nil {
		return nil
	}
	if !slices.Contains(rc.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
		return errors.New("responder certificate lacks id-kp-OCSPSigning")
	}
	if now.Before(rc.NotBefore) || now.After(rc.NotAfter) {
		return errors.New("responder certificate outside its validity")
	}
	return nil
}

func (o *OCSPChecker) now() time.Time {
	if o.Time != nil {
		return o.Time()
	}
	return time.Now()
}

// post sends the DER request and reads at most maxOCSPResponse bytes.
func (o *OCSPChecker) post(ctx context.Context, der []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultOCSPTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.ResponderURL, bytes.NewReader(der))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	client := o.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("responder answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOCSPResponse+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxOCSPResponse {
		return nil, fmt.Errorf("answer larger than %d bytes", maxOCSPResponse)
	}
	return body, nil
}

// reasonFromOCSP maps an RFC 5280 CRLReason code as feed.CRLParser does.
func reasonFromOCSP(code int) revocation.Reason {
	switch code {
	case ocsp.Unspecified:
		return revocation.ReasonUnspecified
	case ocsp.KeyCompromise, ocsp.CACompromise:
		return revocation.ReasonKeyCompromise
	case ocsp.Superseded:
		return revocation.ReasonSuperseded
	case ocsp.CertificateHold:
		return revocation.ReasonSuspended
	}
	return revocation.ReasonOther
}
