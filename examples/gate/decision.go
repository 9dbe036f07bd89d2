package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/revocation"
)

// Outcome is the gate's decision.
type Outcome string

// Outcomes of a tap.
const (
	Open  Outcome = "open"  // the card is valid: let the holder in
	Deny  Outcome = "deny"  // the card is not acceptable
	Retry Outcome = "retry" // the read did not finish: tap again
)

// Decision is one line of the gate's audit log (README.md, "Audit format").
type Decision struct {
	Time    time.Time `json:"time"`          // when the tap was identified (RFC 3339, the gate's clock)
	Slot    string    `json:"slot"`          // the reader (or simulated slot)
	Tap     string    `json:"tap,omitempty"` // the demo's label for the simulated card
	Outcome Outcome   `json:"decision"`      // open, deny or retry
	// Reason is "ok" for an open decision, else the cardap.Reason name
	// (revoked, revocation-unknown, expired, unknown-card, ...).
	Reason string `json:"reason"`
	Detail string `json:"detail"`       // the reason in words
	AP     string `json:"ap,omitempty"` // the AP type that answered ("A", "C")
	// Proof is how the card proved itself (cardap.ProofMethod: "mutual-auth"
	// for Type A, "none" for Type C), when the identity was read.
	Proof string `json:"proof,omitempty"`
	// PasswordVerified: the card accepted the holder's password.
	PasswordVerified bool `json:"password_verified,omitempty"`
	// ProofWarning is set when an unproven card was accepted
	// (--allow-type-c).
	ProofWarning string `json:"proof_warning,omitempty"`
	UserID       string `json:"user_id,omitempty"` // the holder's ID when read
	CUID         string `json:"cuid,omitempty"`    // the card-unique identifier when read
	// JPKIIssuer and JPKISerial name the authentication certificate of a
	// card proven through its JPKI AP (UserID is then the identity's 64
	// hex digits, docs/PROTOCOL.md §10.3).
	JPKIIssuer string `json:"jpki_issuer,omitempty"`
	JPKISerial string `json:"jpki_serial,omitempty"`
	Expires    string `json:"expires,omitempty"` // the identity's expiry date (YYYY-MM-DD)
	// RevocationListAge is the age of the revocation list in seconds at the
	// check; absent when the gate runs without a list or the card was not
	// checked.
	RevocationListAge *int64 `json:"revocation_list_age_s,omitempty"`
	RevocationWarning string `json:"revocation_warning,omitempty"` // stale list accepted by policy
	// Revoked says, for a revoked card, why (revocation.Reason: lost,
	// stolen, ...), from where (delivered or local-stop) and since when.
	Revoked    *Revoked `json:"revoked,omitempty"`
	APDUs      int      `json:"apdus"`   // command APDUs sent
	TookMicros int64    `json:"took_us"` // identification time
	// Door is "opened" or "failed" after an open decision when a door is
	// configured; DoorError says why it failed.
	Door      string `json:"door,omitempty"`
	DoorError string `json:"door_error,omitempty"`
}

// Revoked is the revocation of a refused card, from
// cardap.Error.Revocation.
type Revoked struct {
	Reason revocation.Reason `json:"reason"`      // lost, stolen, ...
	Source revocation.Origin `json:"source"`      // delivered or local-stop
	At     time.Time         `json:"at,omitzero"` // when the card was revoked
}

// neverSynced is the list age a revocation store reports before its first
// list; the audit log caps it so that it stays a plain JSON number.
const neverSynced = time.Duration(1<<63 - 1)

// decide turns a cardap Tap into the gate's decision.
func decide(tap cardap.Tap) Decision {
	d := Decision{Time: tap.Time.UTC(), Slot: tap.Slot, TookMicros: tap.Duration.Microseconds()}
	id := tap.Identity
	var e *cardap.Error
	if tap.Err != nil && errors.As(tap.Err, &e) {
		id = e.Identity
	}
	if id != nil {
		d.AP, d.UserID, d.APDUs = id.AP.String(), id.UserID, id.APDUs
		if id.UserID != "" || id.Proof.Proven() { // the read finished
			d.Proof, d.PasswordVerified = id.Proof.Method.String(), id.Proof.PasswordVerified
		}
		if !id.CUID.IsZero() {
			d.CUID = id.CUID.String()
		}
		if id.JPKI != nil {
			d.JPKIIssuer, d.JPKISerial = id.JPKI.Issuer, id.JPKI.Serial.Text(16)
		}
		if !id.Expires.IsZero() {
			d.Expires = id.Expires.Format(time.DateOnly)
		}
		if id.RevocationListAge >= 0 {
			s := int64(id.RevocationListAge / time.Second)
			if id.RevocationListAge == neverSynced {
				s = -1
			}
			d.RevocationListAge = &s
		}
		d.RevocationWarning = id.RevocationWarning
	}
	if tap.Err == nil {
		d.Outcome, d.Reason, d.Detail = Open, "ok", "valid"
		return d
	}
	r := cardap.ReasonOf(tap.Err)
	d.Reason = r.String()
	d.Outcome = Deny
	switch r {
	case cardap.ReasonRevoked:
		d.Detail = "revoked"
		if e != nil && e.Revocation != nil {
			st := e.Revocation
			d.Revoked = &Revoked{Reason: st.Reason, Source: st.Source, At: st.RevokedAt}
			d.Detail += ": " + st.Reason.String() + " (" + sourceWords(st.Source) + ")"
		}
	case cardap.ReasonRevocationUnknown:
		switch {
		case d.RevocationListAge != nil && *d.RevocationListAge < 0:
			d.Detail = "no revocation list yet (fail closed)"
		case errors.Is(tap.Err, revocation.ErrStale):
			d.Detail = "revocation list too old to decide (fail closed)"
		default:
			d.Detail = fmt.Sprintf("revocation status unknown (fail closed): %v", tap.Err)
		}
	case cardap.ReasonExpired:
		d.Detail = "expired"
		if d.Expires != "" {
			d.Detail = "expired on " + d.Expires
		}
	case cardap.ReasonUnknownCard:
		d.Detail = "unknown card: none of the gate's APs"
	case cardap.ReasonAuthFailed:
		d.Detail = "authentication failed: not a card of this operator's keys (or a forged one)"
	case cardap.ReasonPasswordRequired:
		d.Detail = "the card needs its password"
	case cardap.ReasonPasswordWrong:
		d.Detail = "wrong password"
	case cardap.ReasonPasswordMode:
		d.Detail = "the card's password does not match the gate's password setting"
	case cardap.ReasonPasswordBlocked:
		d.Detail = "password blocked (or one try left)"
	case cardap.ReasonUnproven:
		d.Detail = "unproven card: Type C identifies, it does not authenticate"
	case cardap.ReasonKeySet:
		d.Detail = "card keys of a key set this gate does not accept (retired or not yet loaded): rekey the card or update the gate's keys"
		var ke *profile.KeySetError
		if errors.As(tap.Err, &ke) {
			d.Detail = fmt.Sprintf("card-key set %d %s on this gate: rekey the card or update the gate's keys", ke.Version, ke.Reason)
		}
	case cardap.ReasonNotPersonalized:
		d.Detail = "card not personalized"
	case cardap.ReasonMalformed:
		d.Detail = "unreadable card data"
	case cardap.ReasonCardRemoved:
		d.Outcome, d.Detail = Retry, "card removed during the read, tap again"
	case cardap.ReasonCanceled:
		d.Outcome, d.Detail = Retry, "read interrupted"
	default:
		switch {
		case errors.Is(tap.Err, reader.ErrSharingViolation):
			d.Outcome, d.Detail = Retry, "card busy (used by another application), tap again"
		default:
			d.Detail = fmt.Sprintf("%s: %v", r, tap.Err)
		}
	}
	return d
}

// humanLine formats a decision for a person watching the gate.
func humanLine(d Decision) string {
	label := d.Tap
	if label == "" {
		label = d.Slot
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-22s %-5s  %s", d.Time.Local().Format("15:04:05"), label, d.Outcome, d.Detail)
	if d.UserID != "" {
		b.WriteString(", user " + d.UserID)
	}
	if d.RevocationWarning != "" {
		b.WriteString(" [warning: " + d.RevocationWarning + "]")
	}
	if d.ProofWarning != "" {
		b.WriteString(" [warning: " + d.ProofWarning + "]")
	}
	switch d.Door {
	case "opened":
		b.WriteString(" [door opened]")
	case "failed":
		b.WriteString(" [door FAILED: " + d.DoorError + "]")
	}
	b.WriteByte('\n')
	return b.String()
}

// sourceWords says where a revocation came from, in the words of the
// gate's log.
func sourceWords(o revocation.Origin) string {
	switch o {
	case revocation.OriginDelivered:
		return "delivered list"
	case revocation.OriginLocalStop:
		return "local stop"
	}
	return o.String()
}
