package mockcard

import (
	"errors"
	"fmt"

	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
)

// ErrConfig is wrapped by every configuration error (bad AP, EF, PIN or key
// specification, bad option).
var ErrConfig = errors.New("mockcard: invalid configuration")

// Lifecycle is the lifecycle state of a card AP.
type Lifecycle uint8

const (
	// Personalization: the AP is being set up by the operator's
	// personalization terminal; the EFs' Personalization access rules apply.
	Personalization Lifecycle = iota
	// Operational: the AP is sealed (ACTIVATE FILE); the EFs' Operational
	// access rules apply. There is no way back.
	Operational
)

// String returns "personalization" or "operational".
func (l Lifecycle) String() string {
	return enumName(l, Personalization, "lifecycle", "personalization", "operational")
}

// enumName names v after names, the first of which names the value first;
// any other value is kind(v).
func enumName[T ~uint8](v, first T, kind string, names ...string) string {
	if v >= first && int(v-first) < len(names) {
		return names[v-first]
	}
	return fmt.Sprintf("%s(%d)", kind, uint8(v))
}

// Condition is an access condition: all of its parts must hold. The zero
// Condition is Always.
type Condition struct {
	// Never denies the operation whatever the security state.
	Never bool `json:"never,omitempty"`
	// PIN, when non-zero, is the reference of a PIN that must be verified.
	PIN byte `json:"pin,omitempty"`
	// Key, when non-zero, is the reference of a key that must have been
	// authenticated by MUTUAL AUTHENTICATE.
	Key byte `json:"key,omitempty"`
	// SM requires the command to come under secure messaging (CLA 0C).
	SM bool `json:"sm,omitempty"`
}

// Always is the condition that always holds.
func Always() Condition { return Condition{} }

// Never is the condition that never holds.
func Never() Condition { return Condition{Never: true} }

// PINVerified requires PIN ref to be verified.
func PINVerified(ref byte) Condition { return Condition{PIN: ref} }

// Authenticated requires key ref to be authenticated (which implies a
// secure messaging session; add SecureMessaging to require every command
// to be protected too).
func Authenticated(ref byte) Condition { return Condition{Key: ref} }

// SecureMessaging requires the command to be protected (CLA 0C).
func SecureMessaging() Condition { return Condition{SM: true} }

// AllOf combines conditions: the result holds when every one holds. Two
// different PIN (or key) references cannot be combined: the last wins.
func AllOf(cs ...Condition) Condition {
	var r Condition
	for _, c := range cs {
		r.Never = r.Never || c.Never
		r.SM = r.SM || c.SM
		if c.PIN != 0 {
			r.PIN = c.PIN
		}
		if c.Key != 0 {
			r.Key = c.Key
		}
	}
	return r
}

// String describes the condition, e.g. "always", "never", "pin(81)+key(01)+sm".
func (c Condition) String() string {
	if c.Never {
		return "never"
	}
	s := ""
	add := func(p string) {
		if s != "" {
			s += "+"
		}
		s += p
	}
	if c.PIN != 0 {
		add(fmt.Sprintf("pin(%02X)", c.PIN))
	}
	if c.Key != 0 {
		add(fmt.Sprintf("key(%02X)", c.Key))
	}
	if c.SM {
		add("sm")
	}
	if s == "" {
		return "always"
	}
	return s
}

// Access is the access conditions of an EF in one lifecycle state.
type Access struct {
	// Read applies to READ BINARY and READ RECORD.
	Read Condition `json:"read"`
	// Update applies to UPDATE BINARY and UPDATE RECORD.
	Update Condition `json:"update"`
	// Append applies to APPEND RECORD (record EFs only).
	Append Condition `json:"append"`
}

// EFKind is the structure of an elementary file.
type EFKind uint8

const (
	// Transparent is a transparent (binary) EF: READ/UPDATE BINARY.
	Transparent EFKind = iota + 1
	// LinearRecords is a linear variable record EF: READ/UPDATE/APPEND RECORD.
	LinearRecords
)

// String returns "transparent" or "records".
func (k EFKind) String() string {
	return enumName(k, Transparent, "efkind", "transparent", "records")
}

// EFSpec describes an elementary file of an AP.
type EFSpec struct {
	// FID is the file identifier (not 3F00, 3FFF or FFFF).
	FID uint16
	// SFI is the short EF identifier 1..30, or 0 for none.
	SFI byte
	// Kind is the EF's structure: Transparent or LinearRecords.
	Kind EFKind
	// MaxSize is a transparent EF's allocated size: the EF's current size
	// grows with UPDATE BINARY up to it (6A84 beyond). Required, at most
	// 32767 (15-bit offsets).
	MaxSize int
	// MaxRecords bounds the number of records of a record EF (6A84
	// beyond). Required for LinearRecords.
	MaxRecords int
	// MaxRecordLen bounds each record of a record EF, at most 255 (6A84
	// beyond). Required for LinearRecords.
	MaxRecordLen int
	// Data is the initial content of a transparent EF (at most MaxSize).
	Data []byte
	// Records is the initial content of a record EF (record 1 first).
	Records [][]byte
	// Personalization is the access rules while the AP is in
	// personalization.
	Personalization Access
	// Operational is the access rules once the AP is sealed.
	Operational Access
}

// PINSpec describes a PIN (password) object of an AP.
type PINSpec struct {
	// Ref is the reference used in P2 of VERIFY, CHANGE REFERENCE DATA and
	// RESET RETRY COUNTER (non-zero, e.g. 0x81).
	Ref byte
	// Value is the PIN. It never prints; it is written in full only into
	// the card state file (see Save).
	Value profile.Password
	// MaxTries is the retry limit, 1..15 (0: the default, 3).
	MaxTries int
	// MinLen is the shortest PIN the card accepts (0: 4). A VERIFY or new
	// PIN outside MinLen..MaxLen gets 6A80 and spends no try.
	MinLen int
	// MaxLen is the longest PIN the card accepts (0: 16).
	MaxLen int
	// RequireSM makes the card accept the PIN only under secure messaging
	// (CLA 0C), so that it never travels in clear: VERIFY with data and
	// CHANGE REFERENCE DATA sent in plain get 6982 and spend no try. The
	// status query (VERIFY without data) stays allowed in plain. (RESET
	// RETRY COUNTER needs the administrative key, hence a session, anyway.)
	RequireSM bool
}

// DefaultMaxTries is the retry limit of a PIN or key with none configured.
const DefaultMaxTries = 3

// KeySpec describes a key object of an AP: the card's diversified
// authentication keys for MUTUAL AUTHENTICATE and the secure messaging that
// follows it.
type KeySpec struct {
	// Ref is the key reference in P2 of MUTUAL AUTHENTICATE (non-zero).
	Ref byte
	// Suite is the cipher suite name of package secure: "3DES",
	// "AES-128", "AES-192" or "AES-256".
	Suite string
	// Enc is K_enc, of the suite's key length (keys.NewKey; keys.TDES for
	// "3DES", keys.AES otherwise). It never prints; it is written in full
	// only into the card state file (see Save).
	Enc keys.Key
	// Mac is K_mac, of the suite's key length, like Enc.
	Mac keys.Key
	// MaxFailures is the number of failed authentications after which the
	// key is blocked (6983), 1..15 (0: the default, 3). It is reset by a
	// successful authentication.
	MaxFailures int
}

// APSpec describes a card AP (a DF selected by AID).
type APSpec struct {
	// Name is a label for diagnostics ("Type C", "JPKI").
	Name string
	// AID selects the AP (SELECT by DF name), 5..16 bytes.
	AID profile.AID
	// EFs are the AP's elementary files.
	EFs []EFSpec
	// PINs are the AP's PIN (password) objects.
	PINs []PINSpec
	// Keys are the AP's key objects for MUTUAL AUTHENTICATE.
	Keys []KeySpec
	// Lifecycle is the initial lifecycle state.
	Lifecycle Lifecycle
	// Seal is the condition under which ACTIVATE FILE seals the AP.
	Seal Condition
	// AdminKey is the reference of the administrative key whose
	// authentication allows RESET RETRY COUNTER and rekeying (0: never
	// allowed).
	AdminKey byte
	// KeySet is the key-set version of Keys, announced in the FCI of
	// SELECT as A5 { C1 01 KeySet } (docs/PROTOCOL.md §5.3), 1 to 255; 0
	// announces none (a card of profile 2.0, read by hosts as their
	// default version). PUT DATA C1 changes it (rekey.go).
	KeySet int
}
