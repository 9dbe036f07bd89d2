package jpki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"

	"github.com/mynacard/freespace/securefile"
)

// maxAnchorFile bounds an anchor file read by LoadCertificates.
const maxAnchorFile = 1 << 20

// LoadCertificates reads certificates from files, each PEM (any number of
// CERTIFICATE blocks; other blocks are refused) or one DER certificate:
// the J-LIS CA certificates the operator obtained, several generations at
// once (the 2015 generation expired in 2025, the 2023 one runs to 2033).
// None is bundled with the SDK. The files are opened through securefile
// (no symbolic link followed, a regular file of root or the running user,
// not writable by others): a trust anchor an unprivileged user could
// replace would trust anyone.
func LoadCertificates(paths ...string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range paths {
		f, err := securefile.Open(p, securefile.Policy{})
		if err != nil {
			return nil, fmt.Errorf("jpki: anchors: %w", err)
		}
		data, err := io.ReadAll(io.LimitReader(f, maxAnchorFile+1))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("jpki: anchors: %s: %w", p, err)
		}
		if len(data) > maxAnchorFile {
			return nil, fmt.Errorf("%w: anchors: %s is larger than %d bytes", ErrConfig, p, maxAnchorFile)
		}
		certs, err := ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("jpki: anchors: %s: %w", p, err)
		}
		out = append(out, certs...)
	}
	return out, nil
}

// ParseCertificates parses PEM (CERTIFICATE blocks only, at least one) or
// a single DER certificate.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, &CertificateInvalidError{Reason: ReasonMalformed, Detail: "neither PEM nor one DER certificate", Err: err}
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, &CertificateInvalidError{Reason: ReasonMalformed, Detail: fmt.Sprintf("PEM block %q, want CERTIFICATE", b.Type)}
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, &CertificateInvalidError{Reason: ReasonMalformed, Detail: fmt.Sprintf("PEM certificate %d", len(out)+1), Err: err}
		}
		out = append(out, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 || len(out) == 0 {
		return nil, &CertificateInvalidError{Reason: ReasonMalformed, Detail: "PEM without certificates or with trailing data"}
	}
	return out, nil
}
