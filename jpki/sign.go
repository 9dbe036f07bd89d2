package jpki

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
)

// sha256DigestInfoPrefix is the DER of DigestInfo for SHA-256 up to the
// digest (RFC 8017 §9.2, note 1: "SHA-256: (0x)30 31 30 0d 06 09 60 86 48
// 01 65 03 04 02 01 05 00 04 20 || H").
const sha256DigestInfoPrefix = "\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01" +
	"\x65\x03\x04\x02\x01\x05\x00\x04\x20"

// insComputeSignature is the JPKI AP's signature command, sent with the
// proprietary class 80 (OpenSC card-jpki.c jpki_compute_signature: CLA 80,
// INS 2A, P1 00, P2 80; the INS of ISO/IEC 7816-8 PERFORM SECURITY
// OPERATION).
const (
	claProprietary      = 0x80
	insComputeSignature = apdu.Ins(0x2A)
)

// SignatureLen is the length of a signature by the RSA-2048 authentication
// key.
const SignatureLen = 256

// DigestInfoSHA256 returns the DER DigestInfo of a SHA-256 digest (RFC 8017
// §9.2), which the card pads and signs (PKCS#1 v1.5).
func DigestInfoSHA256(digest []byte) ([]byte, error) {
	if len(digest) != sha256.Size {
		return nil, fmt.Errorf("%w: digest of %d bytes, want %d", ErrConfig, len(digest), sha256.Size)
	}
	out := make([]byte, 0, len(sha256DigestInfoPrefix)+sha256.Size)
	out = append(out, sha256DigestInfoPrefix...)
	return append(out, digest...), nil
}

// SignDigest signs a SHA-256 digest with the authentication key: SELECT
// EF 0017, then 80 2A 00 80 Lc DigestInfo 00. The PIN must have been
// verified in this session (VerifyPIN); otherwise the card refuses
// (apdu.ErrSecurityStatusNotSatisfied). The result is the card's word:
// check it against the certificate (VerifySignature) before trusting it.
// A signature of a length other than SignatureLen is ErrMalformed.
func (c *Card) SignDigest(ctx context.Context, digest []byte) ([]byte, error) {
	di, err := DigestInfoSHA256(digest)
	if err != nil {
		return nil, err
	}
	if err := c.selectEF(ctx, EFAuthKey); err != nil {
		return nil, err
	}
	return c.sign(ctx, di)
}

// sign sends the signature command for a DigestInfo to the selected key.
func (c *Card) sign(ctx context.Context, digestInfo []byte) ([]byte, error) {
	sig, err := c.ch.Do(ctx, apdu.Command{CLA: claProprietary, INS: insComputeSignature, P1: 0x00, P2: 0x80, Data: digestInfo, Ne: apdu.MaxShortNe})
	if err != nil {
		if errors.Is(err, apdu.ErrSecurityStatusNotSatisfied) {
			return nil, fmt.Errorf("jpki: sign: %w (the PIN is not verified)", err)
		}
		return nil, fmt.Errorf("jpki: sign: %w", err)
	}
	if len(sig) != SignatureLen {
		return nil, fmt.Errorf("%w: signature of %d bytes, want %d", ErrMalformed, len(sig), SignatureLen)
	}
	return sig, nil
}
