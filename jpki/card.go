package jpki

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/profile"
)

// aid is the JPKI AP's application identifier (OpenSC jpki.h AID_JPKI;
// myna src/jpki.rs JPKI_AID).
const aid = "\xD3\x92\xF0\x00\x26\x01\x00\x00\x00\x01"

// AID returns the JPKI AP's application identifier,
// D3 92 F0 00 26 01 00 00 00 01 (a fresh copy).
func AID() profile.AID { return profile.AID(aid) }

// File identifiers of the JPKI AP used here (OpenSC jpki.h,
// pkcs15-jpki.c; myna src/jpki.rs). The signing files (0001, 0002, 001A,
// 001B) are never selected by this package.
const (
	// EFToken names the medium: "JPKIAPICCTOKEN" (or "JPKIAPICCTOKEN2") on a card,
	// "JPKIAPGPSETOKEN" in a smartphone's secure element.
	EFToken uint16 = 0x0006
	// EFAuthCertificate holds the user-authentication certificate (DER),
	// readable without a PIN on a card.
	EFAuthCertificate uint16 = 0x000A
	// EFAuthCACertificate holds the certificate of the CA that issued it,
	// readable without a PIN. It is information, never a trust anchor:
	// the operator configures the anchors.
	EFAuthCACertificate uint16 = 0x000B
	// EFAuthKey is the user-authentication private key (RSA-2048).
	EFAuthKey uint16 = 0x0017
	// EFAuthPIN is the authentication PIN: 4 digits, 3 tries.
	EFAuthPIN uint16 = 0x0018
)

// pinRef is P2 of VERIFY: specific reference data 0 of the selected PIN
// EF (card-jpki.c jpki_pin_cmd: 00 20 00 80).
const pinRef = 0x80

// Tokens of EF 0006 (myna src/jpki.rs tests; myna issue 6).
const (
	tokenCard       = "JPKIAPICCTOKEN"
	tokenSmartphone = "JPKIAPGPSETOKEN"
)

// Read limits.
const (
	// DefaultMaxCertificateSize is the largest certificate ReadOptions
	// accepts by default: real user-authentication certificates are
	// about 1.5 to 2 KB.
	DefaultMaxCertificateSize = 4096
	// MaxCertificateSize is the largest certificate any configuration
	// accepts: READ BINARY's offset has 15 bits.
	MaxCertificateSize = apdu.MaxBinaryOffset + 1
)

// ReadOptions bound and shape the reading of a certificate EF. The zero
// value reads in short APDUs and accepts DefaultMaxCertificateSize.
type ReadOptions struct {
	// MaxChunk is the most bytes one READ BINARY asks for. Above 256
	// the READ is an extended-length APDU, for a card and readers that
	// accept them (a refusal, 6700, falls back to short READs); at most
	// apdu.MaxExtendedNe. 0 means MaxSize when the transport knows that
	// extended length gets through (apdu.LengthSupportOf: reader.Card
	// learns it from the ATR and from use), 256 (short) otherwise.
	MaxChunk int
	// MaxSize is the largest certificate accepted, in bytes, refused
	// from its DER header before the rest is read: 0 means
	// DefaultMaxCertificateSize; at most MaxCertificateSize.
	MaxSize int
}

// withDefaults validates o and fills in its defaults.
func (o ReadOptions) withDefaults() (ReadOptions, error) {
	switch {
	case o.MaxChunk == 0:
		// Decided per transport by Open.
	case o.MaxChunk < 0 || o.MaxChunk > apdu.MaxExtendedNe:
		return o, fmt.Errorf("%w: ReadOptions.MaxChunk %d outside 1..%d", ErrConfig, o.MaxChunk, apdu.MaxExtendedNe)
	}
	switch {
	case o.MaxSize == 0:
		o.MaxSize = DefaultMaxCertificateSize
	case o.MaxSize < 4 || o.MaxSize > MaxCertificateSize:
		return o, fmt.Errorf("%w: ReadOptions.MaxSize %d outside 4..%d", ErrConfig, o.MaxSize, MaxCertificateSize)
	}
	return o, nil
}

// Card is the JPKI AP of one card, selected. It sends its commands through
// an apdu.Channel over the transport it was opened on and keeps no secret.
// It is not safe for concurrent use (the card has one current file).
type Card struct {
	ch   *apdu.Channel
	opts ReadOptions
}

// Open selects the JPKI AP on the card behind t (SELECT by AID, P2 = 0C:
// no response data). A card without the AP is ErrNotJPKI.
func Open(ctx context.Context, t apdu.Transport, opts ReadOptions) (*Card, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.MaxChunk == 0 {
		opts.MaxChunk = apdu.MaxShortNe
		if ls := apdu.LengthSupportOf(t); ls != nil && ls.Load() == apdu.Supported {
			opts.MaxChunk = opts.MaxSize
		}
	}
	c := &Card{ch: apdu.NewChannel(t, apdu.ChannelConfig{ExtendedLength: opts.MaxChunk > apdu.MaxShortNe}), opts: opts}
	if err := c.selectAP(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// selectAP selects the AP again (after a PIN prompt, when another
// application may have used the card).
func (c *Card) selectAP(ctx context.Context) error {
	_, err := c.ch.Do(ctx, apdu.SelectAID([]byte(aid)))
	switch {
	case errors.Is(err, apdu.ErrFileNotFound), errors.Is(err, apdu.ErrFunctionNotSupported):
		// 6A82 (and 6A81 on some cards): no such AP.
		return fmt.Errorf("%w (SELECT answered %w)", ErrNotJPKI, err)
	case err != nil:
		return fmt.Errorf("jpki: select AP: %w", err)
	}
	return nil
}

// selectEF selects an EF of the AP (P1 = 02, P2 = 0C).
func (c *Card) selectEF(ctx context.Context, fid uint16) error {
	if _, err := c.ch.Do(ctx, apdu.SelectEF(fid, apdu.SelectNoResponse)); err != nil {
		return fmt.Errorf("jpki: select EF %04X: %w", fid, err)
	}
	return nil
}

// Certificate reads and parses a certificate EF (EFAuthCertificate or
// EFAuthCACertificate). The DER header of the first READ gives the
// length; a length above ReadOptions.MaxSize is refused (*SizeError)
// before anything more is read; the rest comes in exact chunks. A
// smartphone's JPKI, which guards the certificate with the PIN, is
// ErrSmartphone; a card that returns anything but one DER certificate is
// a *CertificateInvalidError with ReasonMalformed.
func (c *Card) Certificate(ctx context.Context, fid uint16) (*x509.Certificate, error) {
	if fid != EFAuthCertificate && fid != EFAuthCACertificate {
		return nil, fmt.Errorf("%w: EF %04X is not a certificate this package reads", ErrConfig, fid)
	}
	der, err := c.readCertificate(ctx, fid)
	if err != nil {
		return nil, err
	}
	return parseCertificate(der)
}

// readCertificate selects fid and reads its DER certificate.
func (c *Card) readCertificate(ctx context.Context, fid uint16) ([]byte, error) {
	if err := c.selectEF(ctx, fid); err != nil {
		return nil, err
	}
	der, err := c.readDER(ctx, fid)
	if errors.Is(err, apdu.ErrSecurityStatusNotSatisfied) && fid == EFAuthCertificate {
		// A card shows its authentication certificate to anyone; a
		// smartphone's secure element only after the PIN (myna issue 6).
		return nil, c.smartphoneOr(ctx, err)
	}
	return der, err
}

// readDER reads one DER object from the current EF: a first READ of up to
// one chunk (the header and as much as one APDU carries), the length from
// its header, then exact chunks.
func (c *Card) readDER(ctx context.Context, fid uint16) ([]byte, error) {
	first := min(c.opts.MaxChunk, c.opts.MaxSize)
	buf, err := c.readAt(ctx, 0, first)
	if err != nil && first > apdu.MaxShortNe && (errors.Is(err, apdu.ErrWrongLength) || errors.Is(err, apdu.ErrWrongP1P2)) {
		// A card or reader that refuses the extended READ (6700, or 6B00
		// from a card that refuses to read past the end of the EF):
		// short APDUs from here on, for this Card.
		c.opts.MaxChunk = apdu.MaxShortNe
		buf, err = c.readAt(ctx, 0, apdu.MaxShortNe)
	}
	if err != nil {
		return nil, fmt.Errorf("jpki: read EF %04X: %w", fid, err)
	}
	total, err := derLength(buf)
	if err != nil {
		return nil, &CertificateInvalidError{Reason: ReasonMalformed, Detail: fmt.Sprintf("EF %04X", fid), Err: err}
	}
	if total > c.opts.MaxSize {
		return nil, &SizeError{EF: fid, Size: total, Max: c.opts.MaxSize}
	}
	if len(buf) >= total {
		return buf[:total:total], nil
	}
	out := make([]byte, len(buf), total)
	copy(out, buf)
	for len(out) < total {
		n := min(c.opts.MaxChunk, total-len(out))
		part, err := c.readAt(ctx, len(out), n)
		if err != nil {
			return nil, fmt.Errorf("jpki: read EF %04X at %d: %w", fid, len(out), err)
		}
		if len(part) == 0 || len(part) > n {
			// No progress (the EF ends before its DER length says) or
			// more than asked: refuse rather than loop or overrun.
			return nil, &CertificateInvalidError{Reason: ReasonMalformed, Detail: fmt.Sprintf("EF %04X", fid),
				Err: fmt.Errorf("READ BINARY at %d for %d bytes returned %d", len(out), n, len(part))}
		}
		out = append(out, part...)
	}
	return out, nil
}

// readAt sends READ BINARY at off for n bytes. End of file reached before
// n bytes (6282) is not an error here: the caller checks the length.
func (c *Card) readAt(ctx context.Context, off, n int) ([]byte, error) {
	data, err := c.ch.Do(ctx, apdu.ReadBinary(off, n))
	if errors.Is(err, apdu.WarnEndOfFile) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if len(data) > n {
		return nil, fmt.Errorf("%w: READ BINARY for %d bytes returned %d", apdu.ErrMalformedResponse, n, len(data))
	}
	return data, nil
}

// smartphoneOr reads the token EF: ErrSmartphone for a smartphone's
// JPKI, err (the refused read) otherwise.
func (c *Card) smartphoneOr(ctx context.Context, err error) error {
	tok, terr := c.Token(ctx)
	if terr == nil && tok == tokenSmartphone {
		return fmt.Errorf("%w (token %s; the authentication certificate is refused before the PIN: %w)", ErrSmartphone, tok, err)
	}
	return fmt.Errorf("jpki: read EF %04X: %w", EFAuthCertificate, err)
}

// Token reads EF 0006 (up to 32 bytes) and returns the medium's token
// name, for example "JPKIAPICCTOKEN2" for a card, "JPKIAPGPSETOKEN" for a
// smartphone.
// Anything else is returned as read (printable ASCII only) for the caller
// to judge; non-printable bytes are ErrMalformed.
func (c *Card) Token(ctx context.Context) (string, error) {
	if err := c.selectEF(ctx, EFToken); err != nil {
		return "", err
	}
	data, err := c.readAt(ctx, 0, 32)
	if err != nil {
		return "", fmt.Errorf("jpki: read EF %04X: %w", EFToken, err)
	}
	return parseToken(data)
}

// parseToken trims the NUL (and space) padding of a token and refuses
// bytes that are not printable ASCII.
func parseToken(data []byte) (string, error) {
	data = bytes.TrimRight(data, "\x00 ")
	for i, b := range data {
		if b < 0x20 || b > 0x7E {
			return "", fmt.Errorf("%w: token byte %d is %02X", ErrMalformed, i, b)
		}
	}
	return string(data), nil
}

// IsSmartphoneToken reports whether a token names a smartphone's secure
// element.
func IsSmartphoneToken(tok string) bool { return tok == tokenSmartphone }

// derLength returns the total length (header included) of the DER
// SEQUENCE at the start of b, from its header alone: tag 30 and a
// definite length of at most 3 bytes (X.509 certificates are SEQUENCEs,
// RFC 5280 §4.1; DER forbids the indefinite form, X.690 §10.1).
func derLength(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, fmt.Errorf("%w: %d bytes, too short for a DER header", ErrMalformed, len(b))
	}
	if b[0] != 0x30 {
		return 0, fmt.Errorf("%w: tag %02X, want 30 (SEQUENCE)", ErrMalformed, b[0])
	}
	l := int(b[1])
	if l < 0x80 {
		return 2 + l, nil
	}
	n := l & 0x7F
	if n == 0 || n > 3 {
		return 0, fmt.Errorf("%w: DER length form %02X", ErrMalformed, b[1])
	}
	if len(b) < 2+n {
		return 0, fmt.Errorf("%w: %d bytes, too short for a %d-byte DER length", ErrMalformed, len(b), n)
	}
	if b[2] == 0 || (n == 1 && b[2] < 0x80) {
		return 0, fmt.Errorf("%w: DER length not in its shortest form", ErrMalformed)
	}
	v := 0
	for _, x := range b[2 : 2+n] {
		v = v<<8 | int(x)
	}
	return 2 + n + v, nil
}

// parseCertificate parses one DER certificate with nothing after it.
func parseCertificate(der []byte) (*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &CertificateInvalidError{Reason: ReasonMalformed, Err: err}
	}
	return cert, nil
}

// ReadCertificate selects the JPKI AP on the card behind t and reads a
// certificate EF (EFAuthCertificate or EFAuthCACertificate), with the
// fewest APDUs: SELECT AP, SELECT EF, then the READs of Card.Certificate.
func ReadCertificate(ctx context.Context, t apdu.Transport, fid uint16, opts ReadOptions) (*x509.Certificate, error) {
	c, err := Open(ctx, t, opts)
	if err != nil {
		return nil, err
	}
	return c.Certificate(ctx, fid)
}
