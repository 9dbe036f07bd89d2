// Package card is the taxi terminal's view of the card reader: one small
// interface, Identifier, that answers "who is the card in front of me, and
// how did it prove it" (Card.Proof).
//
// Cardap implements it with the project's cardap.Client; NewClient builds
// the client a terminal uses: the Type A AP read after mutual
// authentication with the operator's keys, so a card proves itself. TypeC
// reads a Type C AP, which proves nothing (its ID is readable by anyone and
// a copy carries the same CUID): the terminal refuses such cards, since a
// subsidy is money. Slot models a reader into which cards are inserted and
// removed.
package card

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"time"

	"github.com/mynacard/freespace/apdu"
	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/typea"
	"github.com/mynacard/freespace/typec"
)

// ErrNoCard is returned when the reader holds no card.
var ErrNoCard = errors.New("card: no card in the reader")

// Card is what identification yields: the card-unique identifier of the AP,
// the holder's Identity object and how the card proved itself.
type Card struct {
	CUID     profile.CUID
	Identity profile.Identity
	Proof    cardap.Proof // Proven() is false for Type C
}

// Identifier identifies the card currently in the reader.
type Identifier interface {
	Identify(ctx context.Context) (Card, error)
}

// IdentifierFunc adapts a function to Identifier.
type IdentifierFunc func(ctx context.Context) (Card, error)

// Identify calls f(ctx).
func (f IdentifierFunc) Identify(ctx context.Context) (Card, error) { return f(ctx) }

// Fixed is an Identifier that always answers with the same card, with no
// card protocol at all: a stand-in for tests and demos of the decision logic.
type Fixed Card

// Identify returns the card.
func (f Fixed) Identify(context.Context) (Card, error) { return Card(f), nil }

// TypeC identifies a card by reading its Type C AP (docs/PROTOCOL.md
// chapter 2) over Transport. The card proves nothing (Card.Proof.Method is
// cardap.ProofNone): the terminal refuses it.
type TypeC struct {
	Transport apdu.Transport
	Config    typec.Config
}

// Identify runs typec.Read. Its errors (profile.ErrNotPresent,
// profile.ErrNotPersonalized, profile.ErrMalformed, apdu.ErrCardRemoved, ...)
// are returned wrapped, matchable with errors.Is.
func (t TypeC) Identify(ctx context.Context) (Card, error) {
	res, err := typec.Read(ctx, t.Transport, t.Config)
	if err != nil {
		return Card{}, fmt.Errorf("card: reading the Type C AP: %w", err)
	}
	return Card{CUID: res.CUID, Identity: res.Identity, Proof: cardap.Proof{AP: profile.TypeC, Method: cardap.ProofNone}}, nil
}

// Slot is a reader slot: cards are inserted and removed; Identify asks the
// card currently inserted. It is safe for concurrent use.
type Slot struct {
	mu  sync.Mutex
	cur Identifier
}

// Insert puts a card in the slot, replacing any card already there.
func (s *Slot) Insert(c Identifier) {
	s.mu.Lock()
	s.cur = c
	s.mu.Unlock()
}

// Remove empties the slot.
func (s *Slot) Remove() { s.Insert(nil) }

// Identify identifies the inserted card, or returns ErrNoCard.
func (s *Slot) Identify(ctx context.Context) (Card, error) {
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	if c == nil {
		return Card{}, ErrNoCard
	}
	return c.Identify(ctx)
}

// Cardap identifies the card behind Transport with the project's
// cardap.Client, which tries its configured APs and applies its own
// checks (expiry; revocation when it has a list); its refusals
// (*cardap.Error, matching cardap.ErrExpired and the other sentinels) are
// returned wrapped.
type Cardap struct {
	Client    *cardap.Client
	Transport apdu.Transport
}

// Identify runs Client.Identify and returns the CUID and Identity.
func (c Cardap) Identify(ctx context.Context) (Card, error) {
	id, err := c.Client.Identify(ctx, c.Transport)
	if err != nil {
		return Card{}, fmt.Errorf("card: %w", err)
	}
	return Card{CUID: id.CUID, Identity: id.Profile(), Proof: id.Proof}, nil
}

// NewClient returns the cardap.Client a terminal identifies cards with:
// the Type A AP (no password: riders tap, there is no PIN pad) read after
// mutual authentication with the operator's master keys, with now as the
// clock of the expiry check (nil: time.Now). The terminal checks
// revocation itself, so the client runs without a list.
func NewClient(masters keys.Provider, now func() time.Time) (*cardap.Client, error) {
	if masters == nil {
		return nil, fmt.Errorf("%w: no operator keys: the taxi terminal reads only cards that prove themselves", cardap.ErrConfig)
	}
	return cardap.New(cardap.Config{
		APs:          []cardap.AP{cardap.TypeA(cardap.TypeAConfig{Config: typea.Config{Keys: masters, Password: profile.PasswordNone}})},
		NoRevocation: true,
		Now:          now,
	})
}
