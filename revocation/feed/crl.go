package feed

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"

	"github.com/mynacard/freespace/revocation"
)

// oidDeltaCRLIndicator is the delta CRL indicator extension, RFC 5280
// section 5.2.4.
var oidDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}

// maxCRLSize bounds the DER read by CRLParser.
const maxCRLSize int64 = 2 << 30

// CRLParser reads a DER X.509 certificate revocation list (RFC 5280 section
// 5) with crypto/x509 and turns it into a full Update keyed by certificate
// serial number: Seq is the CRL number (section 5.2.3), AsOf the thisUpdate
// time, each revoked certificate a Record with its reason code mapped
// (section 5.3.1). Delta CRLs are refused.
type CRLParser struct {
	// Issuer, when set, is the CA certificate whose signature on the CRL
	// must verify.
	Issuer *x509.Certificate
	// CertificateKeys keys each revoked certificate by its certificate
	// revocation key (revocation.CertificateKey over the CRL's issuer
	// name and the serial; docs/PROTOCOL.md §10.4) instead of by its
	// serial number: the form the jpki package and cardap's JPKI AP look
	// up. It requires Issuer, so that a CRL whose signature was not
	// checked never revokes under a CA's name.
	CertificateKeys bool
}

// Parse reads and converts one DER CRL.
func (p CRLParser) Parse(r io.Reader) (*revocation.Update, error) {
	der, err := io.ReadAll(io.LimitReader(r, maxCRLSize+1))
	if err != nil {
		return nil, fmt.Errorf("feed: read CRL: %w", err)
	}
	if int64(len(der)) > maxCRLSize {
		return nil, &revocation.ParseError{Source: "crl", Offset: maxCRLSize, Msg: "CRL too large"}
	}
	return p.ParseDER(der)
}

// ParseDER converts one DER CRL.
func (p CRLParser) ParseDER(der []byte) (*revocation.Update, error) {
	bad := func(off int64, err error, format string, a ...any) error {
		return &revocation.ParseError{Source: "crl", Offset: off, Msg: fmt.Sprintf(format, a...), Err: err}
	}
	if len(der) < 2 || der[0] != 0x30 {
		return nil, bad(0, nil, "not a DER SEQUENCE")
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, bad(-1, err, "crypto/x509")
	}
	if p.CertificateKeys && p.Issuer == nil {
		return nil, fmt.Errorf("%w: CRLParser.CertificateKeys without Issuer", ErrConfig)
	}
	if p.Issuer != nil {
		if err := crl.CheckSignatureFrom(p.Issuer); err != nil {
			return nil, fmt.Errorf("%w: CRL: %w", ErrBadSignature, err)
		}
		// The keys are computed over the CRL's issuer name: it must be
		// the name of the CA that signed it (RFC 5280 §6.3.3 (b)).
		if p.CertificateKeys && !bytes.Equal(crl.RawIssuer, p.Issuer.RawSubject) {
			return nil, fmt.Errorf("%w: CRL issuer name differs from the issuing CA's subject", ErrBadSignature)
		}
	}
	for _, ext := range crl.Extensions {
		if ext.Id.Equal(oidDeltaCRLIndicator) {
			return nil, bad(-1, nil, "delta CRLs are not supported")
		}
	}
	if crl.Number == nil || crl.Number.Sign() <= 0 || !crl.Number.IsUint64() {
		return nil, bad(-1, nil, "CRL number missing or outside 1..2^64-1")
	}
	u := &revocation.Update{Full: true, Seq: crl.Number.Uint64(), AsOf: crl.ThisUpdate.UTC()}
	u.Add = make([]revocation.Record, 0, len(crl.RevokedCertificateEntries))
	for i, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber == nil || e.SerialNumber.Sign() < 0 {
			return nil, bad(-1, nil, "entry %d: negative serial number", i)
		}
		var k revocation.Key
		if p.CertificateKeys {
			k, err = revocation.CertificateKey(crl.RawIssuer, e.SerialNumber)
		} else {
			k, err = revocation.SerialKey(e.SerialNumber.Bytes())
		}
		if err != nil {
			return nil, bad(-1, err, "entry %d", i)
		}
		u.Add = append(u.Add, revocation.Record{Key: k, RevokedAt: e.RevocationTime.Unix(), Reason: reasonFromCRL(e.ReasonCode)})
	}
	if err := u.Normalize(); err != nil {
		return nil, relabel(err, "crl")
	}
	return u, nil
}

// relabel names source as the input of a *revocation.ParseError from
// Update.Normalize, so the error says what was parsed.
func relabel(err error, source string) error {
	var pe *revocation.ParseError
	if errors.As(err, &pe) {
		cp := *pe
		cp.Source = source
		return &cp
	}
	return err
}

// reasonFromCRL maps an RFC 5280 CRLReason code.
func reasonFromCRL(code int) revocation.Reason {
	switch code {
	case 0:
		return revocation.ReasonUnspecified
	case 1, 2: // keyCompromise, cACompromise
		return revocation.ReasonKeyCompromise
	case 4:
		return revocation.ReasonSuperseded
	case 6: // certificateHold
		return revocation.ReasonSuspended
	default: // affiliationChanged, cessationOfOperation, privilegeWithdrawn, aACompromise
		return revocation.ReasonOther
	}
}
