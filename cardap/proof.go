package cardap

import (
	"fmt"

	"github.com/mynacard/freespace/profile"
)

// ProofMethod says how a card proved itself.
type ProofMethod int

// The proof methods. A card read without authentication proves nothing:
// its CUID and user ID can be read by anyone in a second and copied to a
// blank card or a phone (a clone answers exactly as the original).
const (
	// ProofNone: the card was read without authentication (Type C). It
	// identifies its holder (a library card, points), it proves nothing.
	ProofNone ProofMethod = iota
	// ProofMutualAuth: ISO/IEC 11770-2 mutual authentication with keys
	// diversified from the operator's master keys (Type A, D;
	// docs/PROTOCOL.md chapter 3), and the identity read under the
	// secure messaging session it opened. A copy of the card's readable
	// data does not pass it; a copy of its keys would (see the package
	// doc about who holds the masters).
	ProofMutualAuth
	// ProofSignature: the card signed a fresh random challenge with the
	// private key of a certificate that chains to the operator's trust
	// anchors, after the holder's PIN (the JPKI AP; docs/PROTOCOL.md
	// chapter 10). A copy of the card's readable data does not pass it.
	ProofSignature
)

// String returns a stable kebab-case name, fit for audit logs: "none",
// "mutual-auth" or "signature".
func (m ProofMethod) String() string {
	switch m {
	case ProofNone:
		return "none"
	case ProofMutualAuth:
		return "mutual-auth"
	case ProofSignature:
		return "signature"
	}
	return fmt.Sprintf("proof-method(%d)", int(m))
}

// MarshalText implements encoding.TextMarshaler.
func (m ProofMethod) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Proof is how an identity was proven: which AP answered, by which method
// the card proved itself, and whether the holder's password was verified
// by the card. It is shaped so that further methods (a JPKI signature)
// can join.
type Proof struct {
	AP     profile.APType // the AP that answered
	Method ProofMethod    // how the card proved itself
	// PasswordVerified is true when the AP has a password and the card,
	// after proving itself, served the identity that the password
	// guards: the holder's password was accepted in this identification
	// (or the card reported it verified already). False for an AP
	// without a password and for every unproven card (what an unproven
	// card says about its password is its own word).
	PasswordVerified bool
	// KeySet is the card-key set version the card proved itself with
	// (docs/PROTOCOL.md §5.3): the version it announced, or the
	// configured default for a card that announces none. 0 when nothing
	// was proven.
	KeySet int
}

// Proven reports whether the card proved itself (Method is not
// ProofNone).
func (p Proof) Proven() bool { return p.Method != ProofNone }

// Prover is implemented by an AP whose Read proves the card (the standard
// Type A and D APs: mutual authentication). ProofMethod returns the
// method a successful Read proves the card with; the Read reports what
// actually happened in Identity.Proof. An AP that does not implement
// Prover, or whose ProofMethod is ProofNone, proves nothing: the Client
// then treats its identities as unproven whatever their Proof says, and
// accepts them only with Config.AllowUnproven.
type Prover interface {
	ProofMethod() ProofMethod
}

// declaredProof returns the method ap declares through Prover, ProofNone
// when it does not implement it.
func declaredProof(ap AP) ProofMethod {
	if p, ok := ap.(Prover); ok {
		return p.ProofMethod()
	}
	return ProofNone
}

// effectiveProof is the Proof the client stands behind for an identity
// that ap read: the AP's own report, unless the AP declares no proof (then
// nothing is proven, whatever it reported). Proof.AP is the identity's AP
// when the report leaves it zero.
func effectiveProof(ap AP, id *Identity) Proof {
	p := id.Proof
	if declaredProof(ap) == ProofNone || p.Method == ProofNone {
		p = Proof{AP: p.AP}
	}
	if p.AP == 0 {
		p.AP = id.AP
	}
	return p
}
