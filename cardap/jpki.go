package cardap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"time"

	"github.com/mynacard/freespace/revocation"
)

// JPKIIdentity is the identity proven through the JPKI AP (package
// cardap/jpkiap; docs/PROTOCOL.md §10.3), with nothing personal: the hash
// of the authentication certificate's key, its issuer, serial and
// revocation key. It mirrors jpki.Identity without linking crypto/x509
// into cardap.
type JPKIIdentity struct {
	// ID is SHA-256 of the certificate's DER SubjectPublicKeyInfo.
	ID [sha256.Size]byte
	// Issuer is the issuing CA's name (RFC 2253 form).
	Issuer string
	// Serial is the certificate's serial number.
	Serial *big.Int
	// RevocationKey is the certificate revocation key (§10.4).
	RevocationKey revocation.Key
	// NotAfter is the end of the certificate's validity.
	NotAfter time.Time
}

// String returns ID in lower-case hex (64 digits).
func (id JPKIIdentity) String() string { return hex.EncodeToString(id.ID[:]) }

// clockKey carries the client's clock (Config.Now) to the APs' Read.
type clockKey struct{}

// Clock returns the clock of the Client whose Identify called the AP's
// Read with ctx (Config.Now), time.Now otherwise: APs that check dates
// (the JPKI AP's certificate validity) use the client's clock.
func Clock(ctx context.Context) func() time.Time {
	if now, ok := ctx.Value(clockKey{}).(func() time.Time); ok {
		return now
	}
	return time.Now
}

// RevocationKeyCheck returns, inside an AP's Read, the Client's
// revocation check of a key (nil when the client runs without a list): an
// AP that learns a revocation key before asking the holder's password (the
// JPKI AP's certificate key) calls it first, so that a revoked card is
// refused unprompted. The check returns nil when the card may go on, an
// *Error (ReasonRevoked, ReasonRevocationUnknown) otherwise.
func RevocationKeyCheck(ctx context.Context) func(context.Context, revocation.Key) error {
	if check, ok := ctx.Value(revocationKeyCheckKey{}).(func(context.Context, revocation.Key) error); ok {
		return check
	}
	return nil
}
