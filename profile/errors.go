package profile

import "errors"

// Canonical errors for conditions of a card that every AP package
// reports. typea, typec, typed, personalize and cardap return errors
// that match these with errors.Is (they wrap them and add which AP and
// what was read); they define no copies of their own. Like
// fs.ErrNotExist, the card conditions carry no package prefix: the
// package that wraps them adds its own, once.
var (
	// ErrNotPresent: the card has no AP with the configured AID (SELECT
	// answered 6A82, docs/PROTOCOL.md §1.4).
	ErrNotPresent = errors.New("the card has no AP with this AID")
	// ErrNotPersonalized: the AP is present but holds no identity yet
	// (docs/PROTOCOL.md chapter 8).
	ErrNotPersonalized = errors.New("the AP is not personalized")
	// ErrMalformed: data the card returned breaks the profile (an FCI,
	// a CUID, an Identity object, a record, an envelope).
	ErrMalformed = errors.New("malformed data from the card")
	// ErrInvalidPasswordMode: text that names no PasswordMode.
	ErrInvalidPasswordMode = errors.New("profile: unknown password mode")
)
