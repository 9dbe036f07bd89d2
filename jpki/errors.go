package jpki

import (
	"errors"
	"fmt"
	"time"

	"github.com/mynacard/freespace/revocation"
)

// Sentinel errors. Card answers wrap the apdu status word too, so
// errors.Is(err, apdu.ErrFileNotFound) and the like keep working.
var (
	// ErrConfig: an option is invalid (found before any card is seen).
	ErrConfig = errors.New("jpki: invalid configuration")
	// ErrNotJPKI: the card has no JPKI AP (SELECT by AID refused).
	ErrNotJPKI = errors.New("jpki: no JPKI AP on the card")
	// ErrSmartphone: the JPKI AP is a smartphone's (token
	// JPKIAPGPSETOKEN), which shows its authentication certificate only
	// after the PIN. Not supported: the certificate must be checked
	// before the PIN is sent.
	ErrSmartphone = errors.New("jpki: smartphone JPKI (certificate guarded by the PIN) is not supported")
	// ErrMalformed: data from the card that does not have the expected
	// form (a token, a DER header, a signature's length).
	ErrMalformed = errors.New("jpki: malformed card data")
	// ErrPINFormat: a PIN that is not 4 ASCII digits, refused before it
	// is sent.
	ErrPINFormat = errors.New("jpki: the authentication PIN must be 4 digits")
	// ErrBadSignature: the card's signature of the challenge does not
	// verify with its certificate's public key.
	ErrBadSignature = errors.New("jpki: the card's signature does not verify with its certificate")
	// ErrCertificateInvalid is matched by every *CertificateInvalidError.
	ErrCertificateInvalid = errors.New("jpki: certificate refused")
	// ErrRevoked is matched by every *RevokedError.
	ErrRevoked = errors.New("jpki: certificate revoked")
	// ErrRevocationUnknown: the certificate's revocation status cannot
	// be decided (a list too old or unreadable, an OCSP responder that
	// did not answer or answered unknown): refused (fail closed).
	ErrRevocationUnknown = errors.New("jpki: revocation status unknown")
)

// InvalidReason says why a certificate was refused.
type InvalidReason int

// The reasons of a *CertificateInvalidError.
const (
	// ReasonMalformed: not one DER X.509 certificate.
	ReasonMalformed InvalidReason = iota + 1
	// ReasonKey: not an RSA key of at least 2048 bits (JPKI
	// authentication keys are RSA-2048).
	ReasonKey
	// ReasonKeyUsage: the key usage lacks digitalSignature.
	ReasonKeyUsage
	// ReasonExpired: outside its validity at the verification time.
	ReasonExpired
	// ReasonUntrusted: no chain to a configured trust anchor (or a
	// chain that crypto/x509 refuses: constraints, critical extensions).
	ReasonUntrusted
)

var invalidReasonNames = [...]string{
	ReasonMalformed: "malformed",
	ReasonKey:       "key",
	ReasonKeyUsage:  "key-usage",
	ReasonExpired:   "expired",
	ReasonUntrusted: "untrusted",
}

// String returns a stable kebab-case name.
func (r InvalidReason) String() string {
	if r > 0 && int(r) < len(invalidReasonNames) {
		return invalidReasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// CertificateInvalidError is a certificate the host refuses, in the
// manner of crypto/x509's CertificateInvalidError.
type CertificateInvalidError struct {
	Reason InvalidReason
	// Detail says which certificate or what was seen (no personal data:
	// the authentication certificate has none).
	Detail string
	// Err is the underlying error (crypto/x509's, a DER error), if any.
	Err error
}

// Error implements error.
func (e *CertificateInvalidError) Error() string {
	s := "jpki: certificate refused: " + e.Reason.String()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *CertificateInvalidError) Unwrap() error { return e.Err }

// Is matches ErrCertificateInvalid, and ErrMalformed for ReasonMalformed.
func (e *CertificateInvalidError) Is(target error) bool {
	return target == ErrCertificateInvalid || (target == ErrMalformed && e.Reason == ReasonMalformed)
}

// SizeError is a certificate whose DER header announces more bytes than
// ReadOptions.MaxSize allows; nothing past the first READ was read.
type SizeError struct {
	EF   uint16 // the EF read
	Size int    // the size the header announces
	Max  int    // the configured maximum
}

// Error implements error.
func (e *SizeError) Error() string {
	return fmt.Sprintf("jpki: EF %04X holds a DER object of %d bytes, more than the %d allowed", e.EF, e.Size, e.Max)
}

// Is matches ErrMalformed.
func (e *SizeError) Is(target error) bool { return target == ErrMalformed }

// RevokedError is a revoked certificate: its revocation key, why, since
// when and who said so.
type RevokedError struct {
	Key       revocation.Key    // the certificate revocation key
	Reason    revocation.Reason // why, as the list or the responder gave it
	RevokedAt time.Time         // zero when not known
	// Source is "list" (the revocation store: a delivered list or a
	// local stop) or "ocsp".
	Source string
}

// Error implements error.
func (e *RevokedError) Error() string {
	s := fmt.Sprintf("jpki: certificate revoked (%s, %s)", e.Reason, e.Source)
	if !e.RevokedAt.IsZero() {
		s += " at " + e.RevokedAt.UTC().Format(time.RFC3339)
	}
	return s
}

// Is matches ErrRevoked.
func (e *RevokedError) Is(target error) bool { return target == ErrRevoked }
