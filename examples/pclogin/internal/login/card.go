// Package login is the logic of the PC-login example: identify the card in
// the reader, decide whether it may log in as a given local account
// (Authorize), and lock the session when the card leaves the reader
// (Watcher).
//
// The card is reached through one small interface, Identifier, with three
// implementations, each identifying the card with the project's
// cardap.Client (the APs, keys and password it is configured with):
// MockState (the project's mock card, loaded from a state file, so that a
// separate process such as pam_exec's child sees the same card), Reader (a
// PC/SC reader) and Cardap (any apdu.Transport).
//
// A login is granted only to a card that proved itself (Card.Proof: Type A
// or D, mutual authentication with keys diversified from the operator's
// masters) unless Policy.AllowUnproven says otherwise. A Type C card proves
// nothing: its user ID and CUID are readable by anyone in a second, and a
// copy on a blank card or a phone carries the same CUID, so a mapping's
// CUID pin does not stop it.
package login

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/jpki"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/reader"
)

// ErrNoCard is returned when the reader holds no card.
var ErrNoCard = errors.New("login: no card in the reader")

// ErrReaderUnavailable is returned (wrapping the cause) when the card
// reader cannot be reached at all: pcscd not running or not reachable
// (under pam_exec, a non-default PCSCLITE_CSOCK_NAME is lost with the
// environment), no reader of that name, or a build without cgo. It tells
// "fix the reader setup" apart from "this card cannot be read".
var ErrReaderUnavailable = errors.New("login: card reader unavailable")

// Card is what identification yields.
type Card struct {
	CUID     profile.CUID
	Identity profile.Identity
	Proof    cardap.Proof // how the card proved itself (Proven: false for Type C)
	// JPKI is set when the card was authenticated through its JPKI AP
	// (no CUID then; Identity.UserID is the identity's 64 hex digits).
	JPKI *jpki.Identity
}

// Identifier identifies the card currently in the reader.
type Identifier interface {
	Identify(ctx context.Context) (Card, error)
}

// errNoClient is returned by an Identifier without a cardap.Client.
var errNoClient = errors.New("login: no cardap client configured")

// identify runs client.Identify over t.
func identify(ctx context.Context, client *cardap.Client, t apdu.Transport) (Card, error) {
	if client == nil {
		return Card{}, errNoClient
	}
	id, err := client.Identify(ctx, t)
	if err != nil {
		return Card{}, fmt.Errorf("login: %w", err)
	}
	return Card{CUID: id.CUID, Identity: id.Profile(), Proof: id.Proof, JPKI: id.JPKI}, nil
}

// MockState is the project's mock card kept in a state file (mockcard.Save):
// the card is in the reader while the file exists. Each Identify loads the
// file afresh, so a test (or a developer) inserts and removes the card by
// writing and deleting the file, from any process.
type MockState struct {
	Path   string
	Client *cardap.Client
}

// Identify loads the card and identifies it with Client.
func (m MockState) Identify(ctx context.Context) (Card, error) {
	mc, err := mockcard.Load(m.Path)
	if errors.Is(err, os.ErrNotExist) {
		return Card{}, ErrNoCard
	}
	if err != nil {
		return Card{}, fmt.Errorf("login: mock card: %w", err)
	}
	return identify(ctx, m.Client, mc)
}

// Reader is a PC/SC reader (package reader; needs pcscd and a cgo build).
type Reader struct {
	Name   string
	Client *cardap.Client
}

// Identify connects to the card in the reader, identifies it with Client
// and disconnects. An empty reader gives ErrNoCard; a reader that cannot
// be reached gives an error matching ErrReaderUnavailable.
func (r Reader) Identify(ctx context.Context) (Card, error) {
	pc, err := reader.EstablishContext(ctx)
	if err != nil {
		return Card{}, readerUnavailable("PC/SC", err)
	}
	defer pc.Close()
	c, err := pc.Connect(ctx, r.Name, reader.ConnectOptions{})
	if errors.Is(err, apdu.ErrCardRemoved) {
		return Card{}, ErrNoCard
	}
	if err != nil {
		return Card{}, readerUnavailable(fmt.Sprintf("connecting to %q", r.Name), err)
	}
	defer c.Close()
	return identify(ctx, r.Client, c)
}

// readerUnavailable wraps err, adding ErrReaderUnavailable when it says
// the reader (not the card) cannot be reached.
func readerUnavailable(op string, err error) error {
	if errors.Is(err, reader.ErrNoService) || errors.Is(err, reader.ErrNoReader) || errors.Is(err, reader.ErrNoCgo) {
		return fmt.Errorf("%w: %s: %w", ErrReaderUnavailable, op, err)
	}
	return fmt.Errorf("login: %s: %w", op, err)
}

// Cardap identifies the card behind Transport with the project's
// cardap.Client (its APs, revocation and expiry checks); its refusals
// (*cardap.Error) are returned wrapped, so Authorize reports them as
// CardUnreadable (or Unproven for cardap.ErrUnproven) with the cardap
// reason in Result.Err.
type Cardap struct {
	Client    *cardap.Client
	Transport apdu.Transport
}

// Identify runs Client.Identify and returns the CUID, Identity and Proof.
func (c Cardap) Identify(ctx context.Context) (Card, error) {
	return identify(ctx, c.Client, c.Transport)
}
