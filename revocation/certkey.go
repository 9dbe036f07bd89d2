package revocation

import (
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/mynacard/freespace/profile"
)

// CertificateKey returns the revocation key of an X.509 certificate
// (docs/PROTOCOL.md §10.4): the first 16 bytes of SHA-256 over the DER
// encoding of the issuer's name (the certificate's or CRL's RawIssuer)
// followed by the content octets of the serial number's DER INTEGER
// (RFC 5280 §4.1.2.2; a positive serial whose first byte has its top bit
// set keeps its leading 00). The issuer is part of the key because serials
// are unique per issuer only, and J-LIS rotates its CAs.
//
// The key lives in the 16-byte key space of CUIDs ([KindCUID]): it takes
// the same fast path, the same CSV/TSV form (`cuid,<32 hex>`) and the same
// binary files, so one store serves free-space cards and JPKI certificates.
// A CUID and a certificate key are equal only by a SHA-256 collision on
// 128 bits.
func CertificateKey(rawIssuer []byte, serial *big.Int) (Key, error) {
	if len(rawIssuer) == 0 {
		return Key{}, fmt.Errorf("%w: certificate key: empty issuer name", ErrMalformedKey)
	}
	if serial == nil {
		return Key{}, fmt.Errorf("%w: certificate key: no serial number", ErrMalformedKey)
	}
	der, err := asn1.Marshal(serial)
	if err != nil {
		return Key{}, fmt.Errorf("%w: certificate key: serial: %v", ErrMalformedKey, err)
	}
	// asn1.Marshal gives tag 02, a length and the content octets; the
	// length takes one byte below 128 content octets, more above.
	content := der[2:]
	if der[1]&0x80 != 0 {
		content = der[2+int(der[1]&0x7f):]
	}
	if len(content) > MaxSerialLen+1 {
		return Key{}, fmt.Errorf("%w: certificate key: serial number of %d bytes, want at most %d", ErrMalformedKey, len(content), MaxSerialLen+1)
	}
	h := sha256.New()
	h.Write(rawIssuer)
	h.Write(content)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var c profile.CUID
	copy(c[:], sum[:profile.CUIDLen])
	return CUIDKey(c), nil
}
