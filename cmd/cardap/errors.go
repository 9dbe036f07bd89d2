package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/conformance"
	"github.com/mynacard/freespace/jpki"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/keys/pkcs11"
	"github.com/mynacard/freespace/personalize"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/revocation/feed"
	"github.com/mynacard/freespace/secure"
	"github.com/mynacard/freespace/securefile"
	"github.com/mynacard/freespace/typed"
)

// Exit codes: the one table is exitCodes (README, `cardap help
// exit-codes` and the package comment show it; TestExitCodeTable keeps
// them equal).
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitNoCard      = 3
	exitRevoked     = 4
	exitPassword    = 5
	exitConformance = 6
)

// exitCodeDoc is one row of the exit-code table.
type exitCodeDoc struct {
	Code    int    `json:"exit"`
	Meaning string `json:"meaning"`
}

// exitCodes is the exit-code table every command follows.
func exitCodes() []exitCodeDoc {
	return []exitCodeDoc{
		{exitOK, "success"},
		{exitFailure, "the operation failed (card error, authentication failure, bad data, untrusted file, ...)"},
		{exitUsage, "usage error (unknown command or flag, bad flag value, missing required flag)"},
		{exitNoCard, "no card, no reader, no PC/SC service or no token (or no reader binding in this build)"},
		{exitRevoked, "the card or identifier is revoked, or the revocation list is too old (or absent) to decide"},
		{exitPassword, "password or PIN needed, refused, blocked, or at its last try (not spent)"},
		{exitConformance, "conformance: at least one requirement failed"},
	}
}

// errorClass maps the errors that match is to a stable snake_case code
// (the "code" field of a JSON error) and an exit code.
type errorClass struct {
	code  string
	exit  int
	match func(error) bool
}

// is matches errors that errors.Is any of targets.
func is(targets ...error) func(error) bool {
	return func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
}

// as matches errors that hold a *T (or T) in their chain.
func as[T error]() func(error) bool {
	return func(err error) bool {
		var t T
		return errors.As(err, &t)
	}
}

// errorClasses is the one table from errors to codes: the first class
// that matches wins. Add a row for a new sentinel or typed error here,
// never a special case in a command.
func errorClasses() []errorClass {
	return []errorClass{
		{"usage", exitUsage, as[usageError]()},
		// Decisions first: a revoked card or an undecidable list is
		// exitRevoked even when something else failed too.
		{"revoked", exitRevoked, is(cardap.ErrRevoked, jpki.ErrRevoked)},
		{"revocation_list_too_old", exitRevoked, is(revocation.ErrStale, cardap.ErrRevocationUnknown)},
		{"revocation_never_synced", exitRevoked, is(revocation.ErrNeverSynced)},
		{"revocation_unknown", exitRevoked, is(jpki.ErrRevocationUnknown)},
		// Passwords: the card counted a try, the password is blocked, or
		// none was given.
		{"password_blocked", exitPassword, func(err error) bool {
			var pe *profile.PasswordError
			if errors.As(err, &pe) {
				return pe.Blocked
			}
			return errors.Is(err, cardap.ErrPasswordBlocked) || errors.Is(err, apdu.ErrBlocked)
		}},
		{"password_refused", exitPassword, func(err error) bool {
			return as[*profile.PasswordError]()(err) || errors.Is(err, cardap.ErrPasswordWrong)
		}},
		{"password_last_try", exitPassword, is(profile.ErrLastTry)},
		{"password_required", exitPassword, is(profile.ErrPasswordRequired, cardap.ErrPasswordRequired)},
		{"password_format", exitPassword, is(profile.ErrPasswordFormat)},
		// PKCS#11 tokens (keys/pkcs11): the PIN, then the token itself.
		{"pin_blocked", exitPassword, is(pkcs11.ErrPINLocked)},
		{"pin_refused", exitPassword, is(pkcs11.ErrPINIncorrect)},
		{"pin_last_try", exitPassword, is(pkcs11.ErrPINFinalTry)},
		{"pin_unavailable", exitPassword, is(pkcs11.ErrPINSource)},
		{"no_token", exitNoCard, is(pkcs11.ErrTokenAbsent)},
		{"no_pkcs11_binding", exitNoCard, is(pkcs11.ErrNoCgo)},
		{"pkcs11_uri", exitUsage, is(pkcs11.ErrURI)},
		{"pkcs11_module", exitFailure, is(pkcs11.ErrModule)},
		{"token_mechanism_unsupported", exitFailure, is(pkcs11.ErrMechanism)},
		{"token_key_unsafe", exitFailure, is(pkcs11.ErrUnsafeObject, pkcs11.ErrNotExtractable)},
		{"key_exists", exitFailure, is(pkcs11.ErrObjectExists)},
		{"pin_format", exitPassword, is(jpki.ErrPINFormat)},
		// Readers and cards.
		{"card_removed", exitNoCard, is(apdu.ErrCardRemoved)},
		{"no_card", exitNoCard, is(errNoCard)},
		{"no_reader", exitNoCard, is(reader.ErrNoReader)},
		{"no_pcsc_service", exitNoCard, is(reader.ErrNoService)},
		{"pcsc_access_denied", exitNoCard, is(reader.ErrAccessDenied)},
		{"no_reader_binding", exitNoCard, is(reader.ErrNoCgo)},
		{"card_in_use", exitFailure, is(reader.ErrSharingViolation)},
		{"card_unusable", exitFailure, is(reader.ErrCardUnusable)},
		{"card_swapped", exitFailure, is(profile.ErrCardSwapped)},
		{"ap_not_present", exitFailure, is(profile.ErrNotPresent, cardap.ErrUnknownCard, conformance.ErrNoAP, jpki.ErrNotJPKI)},
		{"not_test_card", exitFailure, is(conformance.ErrNotTestCard)},
		{"jpki_smartphone", exitFailure, is(jpki.ErrSmartphone)},
		{"certificate_invalid", exitFailure, is(jpki.ErrCertificateInvalid)},
		{"signature_invalid", exitFailure, is(jpki.ErrBadSignature)},
		{"not_personalized", exitFailure, is(profile.ErrNotPersonalized)},
		{"card_data_malformed", exitFailure, is(profile.ErrMalformed, jpki.ErrMalformed)},
		{"authentication_failed", exitFailure, is(cardap.ErrAuthFailed, cardap.ErrUnproven, secure.ErrCardCryptogram,
			secure.ErrTerminalRejected, secure.ErrNonceMismatch)},
		{"secure_messaging", exitFailure, is(secure.ErrResponseMAC, secure.ErrResponseMalformed, secure.ErrResponseUnprotected,
			secure.ErrStatusMismatch, secure.ErrCardRejectedSM, secure.ErrSessionClosed)},
		{"card_expired", exitFailure, is(cardap.ErrExpired)},
		{"card_rolled_back", exitFailure, is(cardap.ErrRollback)},
		{"data_key_refused", exitFailure, is(typed.ErrDataKeyRefused, typed.ErrUnknownKeyVersion)},
		{"data_not_authentic", exitFailure, is(typed.ErrAuthentication)},
		{"capacity", exitFailure, is(typed.ErrCapacity)},
		{"sealed_different", exitFailure, is(personalize.ErrSealedDifferent, personalize.ErrSealedNotOurs, personalize.ErrSealedUnverified)},
		// Files and keys.
		{"untrusted_file", exitFailure, func(err error) bool {
			return as[*securefile.Error]()(err) || errors.Is(err, securefile.ErrInsecure) || errors.Is(err, keys.ErrInsecureFile)
		}},
		{"key_set_refused", exitFailure, is(profile.ErrKeySet)},
		{"key_not_found", exitFailure, is(keys.ErrKeyNotFound)},
		{"key_set_not_newer", exitFailure, is(profile.ErrKeySetNotNewer)},
		{"invalid_key", exitFailure, is(keys.ErrInvalidKey, revocation.ErrMalformedKey)},
		// Revocation lists and feeds.
		{"revocation_store_missing", exitFailure, is(revocation.ErrNoStore)},
		{"revocation_store_locked", exitFailure, is(revocation.ErrLocked)},
		{"revocation_malformed", exitFailure, as[*revocation.ParseError]()},
		{"revocation_replay", exitFailure, is(revocation.ErrReplay, revocation.ErrOutOfSequence)},
		{"feed_bad_signature", exitFailure, is(feed.ErrBadSignature)},
		{"feed_too_large", exitFailure, is(feed.ErrTooLarge)},
		{"feed_future", exitFailure, is(feed.ErrFutureFeed)},
		{"feed_not_found", exitFailure, is(feed.ErrNotFound)},
		// The process.
		{"canceled", exitFailure, is(context.Canceled, cardap.ErrCanceled)},
		{"timeout", exitFailure, is(context.DeadlineExceeded, reader.ErrTimeout)},
	}
}

// classify returns the stable code and the exit code of err.
func classify(err error) (string, int) {
	if err == nil {
		return "", exitOK
	}
	for _, ec := range errorClasses() {
		if ec.match(err) {
			return ec.code, ec.exit
		}
	}
	return "failure", exitFailure
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	_, code := classify(err)
	return code
}

// usageError is an error of the command line (a missing required flag, a
// bad value) found after the flags were parsed: it exits with exitUsage.
type usageError string

// Error returns the message.
func (e usageError) Error() string { return string(e) }

// usageErrorf formats a usageError.
func usageErrorf(format string, a ...any) error {
	return usageError(fmt.Sprintf(format, a...))
}

// remedyOf returns the command or step that fixes err, when one is known:
// error strings carry the facts, the CLI gives the remedy.
func remedyOf(err error) string {
	var se *securefile.Error
	if errors.As(err, &se) {
		if r := se.Remedy(); r != "" {
			return r
		}
	}
	if errors.Is(err, profile.ErrLastTry) && !errors.Is(err, personalize.ErrSealedUnverified) {
		// The library's error names no option; the CLI names its flag
		// (personalize never spends a sealed AP's last try: no flag).
		return "add --allow-last-try to send the password at its last try (a wrong one blocks it, and only the administrative key unblocks it: cardap password unblock)"
	}
	if r := keySetRemedy(err); r != "" {
		return r
	}
	return reader.Remedy(err)
}

// triesLeft returns the tries a refused or blocked password or PIN has
// left, when err carries them.
func triesLeft(err error) (int, bool) {
	var pe *profile.PasswordError
	if errors.As(err, &pe) {
		return pe.Remaining, true
	}
	var te *apdu.TriesError
	if errors.As(err, &te) {
		return te.Remaining, true
	}
	return 0, false
}

// jsonError is the one shape of an error under --json: one line on stdout.
type jsonError struct {
	Error     string `json:"error"`
	Code      string `json:"code"`
	Exit      int    `json:"exit"`
	Remedy    string `json:"remedy,omitempty"`
	TriesLeft *int   `json:"tries_left,omitempty"`
}

// newJSONError describes err.
func newJSONError(err error) jsonError {
	code, exit := classify(err)
	je := jsonError{Error: err.Error(), Code: code, Exit: exit, Remedy: remedyOf(err)}
	if n, ok := triesLeft(err); ok {
		je.TriesLeft = &n
	}
	return je
}

// fail reports err and returns its exit code: every command reports every
// error through it. With asJSON the error is one JSON object on stdout
// (jsonError); otherwise "cardap: <error>" and, when known, "cardap: to
// fix it: <remedy>" on stderr. Text that may come from files or cards is
// escaped. When the JSON cannot be written, the error goes to stderr too.
func fail(c *cli, asJSON bool, err error) int {
	je := newJSONError(err)
	if asJSON {
		werr := writeJSON(c.stdout, je)
		if werr == nil {
			return je.Exit
		}
		fmt.Fprintf(c.stderr, "cardap: %v\n", werr)
	}
	printError(c.stderr, je)
	return je.Exit
}

// printError writes je as text.
func printError(w io.Writer, je jsonError) {
	fmt.Fprintf(w, "cardap: %s\n", escapeText(je.Error))
	if je.Remedy != "" {
		fmt.Fprintf(w, "cardap: to fix it: %s\n", escapeText(je.Remedy))
	}
}

// wantsJSON reports whether args ask for JSON output (--json before any
// "--"), so that errors found while parsing them are JSON too.
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--json", a == "-json":
			return true
		case strings.HasPrefix(a, "--json="), strings.HasPrefix(a, "-json="):
			// The values the flag package takes for a boolean.
			_, v, _ := strings.Cut(a, "=")
			on, _ := strconv.ParseBool(v)
			return on
		}
	}
	return false
}
