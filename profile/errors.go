package profile

import "errors"

// Canonical errors for conditions of a card (and of its password) that
// every AP package reports. typea, typec, typed, personalize and cardap return errors
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

	// ErrLastTry: the password was not sent because it has one try left
	// and the caller did not allow spending it (a wrong password would
	// block it). Nothing was sent but the status query.
	ErrLastTry = errors.New("the password has 1 try left and the caller did not allow spending it")
	// ErrPasswordFormat: a password is empty or too long for one APDU
	// (nothing was sent), or the card refused a new password's length
	// (6A80, no try spent).
	ErrPasswordFormat = errors.New("invalid password format")
	// ErrPasswordRequired: the card requires the password to be verified
	// (6982 after mutual authentication) and the host holds none to send:
	// a password is never kept, so never resent on its own.
	ErrPasswordRequired = errors.New("the card requires the password to be verified")
	// ErrCardSwapped: the card in the reader has another CUID than the
	// one the session started with; the operation was aborted before it
	// sent anything that changes the card.
	ErrCardSwapped = errors.New("card swapped: the card-unique identifier changed")

	// ErrInvalidPasswordMode: text that names no PasswordMode.
	ErrInvalidPasswordMode = errors.New("profile: unknown password mode")
)
