package revocation

import "time"

// Record is one revocation as delivered in a list or delta: compact, so that
// a 10-million-entry import fits in memory.
type Record struct {
	// Key is the revoked card or certificate.
	Key Key
	// RevokedAt is the revocation time in Unix seconds (UTC).
	RevokedAt int64
	// Reason is why it was revoked.
	Reason Reason
}

// Time returns RevokedAt as a time.Time in UTC.
func (r Record) Time() time.Time { return time.Unix(r.RevokedAt, 0).UTC() }

// Entry is what a lookup finds: a revocation with its origin, and for a local
// stop who made it and why.
type Entry struct {
	// Key is the revoked card or certificate.
	Key Key `json:"key"`
	// RevokedAt is when it was revoked: the delivered revocation time, or
	// when the local stop was recorded.
	RevokedAt time.Time `json:"revoked_at"`
	// Reason is why it was revoked.
	Reason Reason `json:"reason"`
	// Origin says whether the list delivered it or a local stop made it.
	Origin Origin `json:"origin"`
	// By names the operator who made a local stop (empty otherwise).
	By string `json:"by,omitempty"`
	// Why is a local stop's free text (empty otherwise).
	Why string `json:"why,omitempty"`
}
