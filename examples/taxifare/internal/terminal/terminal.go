// Package terminal is the in-car terminal of the taxi-fare example: it
// identifies each rider's card, decides whether the ride is subsidized for
// them (a card that proved itself, registration, card pinning, expiry,
// revocation, daily and yearly limits), computes the fare split, records the trip durably in its SQLite
// database before showing the result, and uploads pending trips to the city
// server whenever it is reachable (Uploader).
package terminal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/examples/taxifare/internal/card"
	"github.com/mynacard/freespace/examples/taxifare/internal/fare"
	"github.com/mynacard/freespace/examples/taxifare/internal/wire"
)

// RevocationChecker answers whether a card is revoked, and how old the list
// behind the answer is (cardap.RevocationStatus.Age). The project's
// revocation store satisfies it through cardap.RevocationStore;
// RevocationList is an in-memory one.
type RevocationChecker = cardap.RevocationChecker

// Config configures a Terminal.
type Config struct {
	CompanyID string // taxi company, settles with the city
	VehicleID string // this car; also the terminal ID in uploads
	Rules     fare.Rules
	Store     *Store
	Card      card.Identifier
	// Revocation is consulted for every tap. Required: a terminal that
	// cannot check revocation refuses subsidies (fail closed).
	Revocation RevocationChecker
	// MaxRevocationAge refuses subsidies when the revocation list is older
	// (0: no limit).
	MaxRevocationAge time.Duration
	Now              func() time.Time // default time.Now
	Rand             io.Reader        // randomness for trip IDs; default crypto/rand
	Log              *slog.Logger     // default slog.Default()
}

// Terminal is one in-car terminal. Its methods are safe to call from one
// goroutine at a time (one ride at a time, as in a car).
type Terminal struct {
	cfg Config
}

// New checks cfg and returns a Terminal.
func New(cfg Config) (*Terminal, error) {
	switch {
	case !wire.ValidID(cfg.CompanyID) || !wire.ValidID(cfg.VehicleID):
		return nil, errors.New("terminal: company and vehicle IDs must be 1..64 of A-Z a-z 0-9 . _ -")
	case cfg.Store == nil || cfg.Card == nil || cfg.Revocation == nil:
		return nil, errors.New("terminal: store, card identifier and revocation checker are required")
	}
	if err := cfg.Rules.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Terminal{cfg: cfg}, nil
}

// Reason says why a tap was accepted or refused.
type Reason int

// Reasons of a Decision.
const (
	Accepted              Reason = iota
	CardUnreadable               // the card could not be identified (Decision.Err says why)
	NotRegistered                // the user ID is not in the registry
	CardMismatch                 // the registration is pinned to another card
	Expired                      // the Identity's expiry date has passed
	Revoked                      // the card is on the revocation list
	RevocationUnavailable        // revocation could not be checked, or the list is too old
	DailyLimit                   // the user has used up today's subsidized rides
	YearlyLimit                  // the user has used up this year's subsidized rides
	AlreadyInRide                // the same user tapped twice in one ride
	RideFull                     // the ride has the most registered riders allowed
	Unproven                     // the card did not prove itself (Type C): no subsidy, which is money
)

var reasonNames = [...]string{
	Accepted: "accepted", CardUnreadable: "card unreadable", NotRegistered: "not registered",
	CardMismatch: "registered to another card", Expired: "card expired", Revoked: "card revoked",
	RevocationUnavailable: "revocation status unavailable", DailyLimit: "daily ride limit reached",
	YearlyLimit: "yearly ride limit reached", AlreadyInRide: "already in this ride", RideFull: "ride full",
	Unproven: "card not authenticated",
}

// String returns a short English description.
func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// Decision is the outcome of one tap.
type Decision struct {
	Reason Reason
	UserID string // empty when the card could not be identified
	Err    error  // the underlying error for CardUnreadable and RevocationUnavailable
}

// Accepted reports whether the rider is subsidized in this ride.
func (d Decision) Accepted() bool { return d.Reason == Accepted }

// String describes the decision.
func (d Decision) String() string {
	s := d.Reason.String()
	if d.UserID != "" {
		s = d.UserID + ": " + s
	}
	if d.Err != nil {
		s += " (" + d.Err.Error() + ")"
	}
	return s
}

// Ride is a ride in progress: riders tap in, then Finish records the trip.
type Ride struct {
	t       *Terminal
	started time.Time
	riders  []wire.Rider
}

// StartRide begins a ride now.
func (t *Terminal) StartRide() *Ride {
	return &Ride{t: t, started: t.cfg.Now().UTC().Truncate(time.Second)}
}

// Riders returns the user IDs accepted so far.
func (r *Ride) Riders() []string {
	out := make([]string, len(r.riders))
	for i, x := range r.riders {
		out[i] = x.UserID
	}
	return out
}

// Tap identifies the card in the reader and decides whether its holder rides
// subsidized. Only an error of the terminal itself (its database) is
// returned as an error; everything about the card is a Decision.
func (r *Ride) Tap(ctx context.Context) (Decision, error) {
	d, err := r.decide(ctx)
	if err != nil {
		return Decision{}, err
	}
	r.t.cfg.Log.InfoContext(ctx, "tap", "vehicle", r.t.cfg.VehicleID, "user", d.UserID,
		"decision", d.Reason.String(), "error", d.Err)
	return d, nil
}

func (r *Ride) decide(ctx context.Context) (Decision, error) {
	cfg := &r.t.cfg
	c, err := cfg.Card.Identify(ctx)
	if errors.Is(err, cardap.ErrExpired) { // the cardap client checks the expiry date too
		d := Decision{Reason: Expired, Err: err}
		if ce := (*cardap.Error)(nil); errors.As(err, &ce) && ce.Identity != nil {
			d.UserID = ce.Identity.UserID
		}
		return d, nil
	}
	if err != nil {
		return Decision{Reason: CardUnreadable, Err: err}, nil
	}
	if err := c.Identity.Validate(); err != nil || c.CUID.IsZero() {
		return Decision{Reason: CardUnreadable, Err: fmt.Errorf("terminal: identification returned an invalid identity")}, nil
	}
	d := Decision{UserID: c.Identity.UserID}
	// A subsidy is money: only a card that proved itself (mutual
	// authentication with the operator's keys) is subsidized. A Type C
	// ID is readable by anyone and a copy carries the same CUID.
	if !c.Proof.Proven() {
		d.Reason = Unproven
		return d, nil
	}
	now := cfg.Now()
	if c.Identity.Expired(now.In(cfg.Rules.Zone)) {
		d.Reason = Expired
		return d, nil
	}
	reg, err := cfg.Store.lookup(ctx, d.UserID)
	if errors.Is(err, errNotRegistered) {
		d.Reason = NotRegistered
		return d, nil
	}
	if err != nil {
		return Decision{}, err
	}
	if !reg.matches(d.UserID, c.CUID) {
		d.Reason = CardMismatch
		return d, nil
	}
	rev, err := cfg.Revocation.CheckCUID(ctx, c.CUID)
	switch {
	case rev.Revoked: // a positive answer is never weakened by an error
		d.Reason = Revoked
		return d, nil
	case err != nil:
		d.Reason, d.Err = RevocationUnavailable, err
		return d, nil
	case cfg.MaxRevocationAge > 0 && rev.Age > cfg.MaxRevocationAge:
		d.Reason, d.Err = RevocationUnavailable, fmt.Errorf("terminal: revocation list is %s old, limit %s", rev.Age.Round(time.Second), cfg.MaxRevocationAge)
		return d, nil
	}
	for _, x := range r.riders {
		if x.UserID == d.UserID {
			d.Reason = AlreadyInRide
			return d, nil
		}
	}
	if len(r.riders) >= cfg.Rules.MaxRiders {
		d.Reason = RideFull
		return d, nil
	}
	day, year := cfg.Rules.Day(now), cfg.Rules.Year(now)
	localDay, localYear, err := cfg.Store.LocalRides(ctx, d.UserID, day, year)
	if err != nil {
		return Decision{}, err
	}
	// The server's counts exclude this terminal's trips; they apply only
	// while the registry's day and year are still current.
	serverDay, serverYear := 0, 0
	if reg.RegYear == year {
		serverYear = reg.RidesYear
		if reg.RegDay == day {
			serverDay = reg.RidesDay
		}
	}
	if cfg.Rules.RidesPerDay > 0 && localDay+serverDay >= cfg.Rules.RidesPerDay {
		d.Reason = DailyLimit
		return d, nil
	}
	if cfg.Rules.RidesPerYear > 0 && localYear+serverYear >= cfg.Rules.RidesPerYear {
		d.Reason = YearlyLimit
		return d, nil
	}
	r.riders = append(r.riders, wire.Rider{UserID: d.UserID, CUID: c.CUID})
	d.Reason = Accepted
	return d, nil
}

// ErrNoRiders is returned by Finish when no registered rider was accepted.
var ErrNoRiders = errors.New("terminal: no subsidized rider in this ride")

// recordTimeout bounds the commit of a finished trip, which does not stop
// when the caller's context is cancelled.
const recordTimeout = 30 * time.Second

// Finish ends the ride with the meter fare, computes the split, and records
// the trip (committed to disk) before returning it. The trip is then pending
// upload.
//
// The ride has happened once the meter stops: cancelling ctx (Ctrl-C, a
// shutdown) does not abandon the trip. It is committed all the same, under
// a context that keeps ctx's values but not its cancellation, bounded by
// 30 s; only a failing database makes Finish return an error.
func (r *Ride) Finish(ctx context.Context, fareYen int64) (*wire.Trip, error) {
	cfg := &r.t.cfg
	if len(r.riders) == 0 {
		return nil, ErrNoRiders
	}
	split, err := cfg.Rules.Compute(fareYen, len(r.riders))
	if err != nil {
		return nil, err
	}
	id, err := wire.NewUUID(cfg.Rand)
	if err != nil {
		return nil, err
	}
	ended := cfg.Now().UTC().Truncate(time.Second)
	if ended.Before(r.started) {
		ended = r.started
	}
	t := &wire.Trip{
		TripID: id, CompanyID: cfg.CompanyID, VehicleID: cfg.VehicleID,
		StartedAt: r.started, EndedAt: ended,
		FareYen: split.FareYen, SubsidyYen: split.SubsidyYen, PaidYen: split.PaidYen,
		Riders: make([]wire.Rider, len(r.riders)),
	}
	for i, x := range r.riders {
		x.SubsidyYen = split.SharesYen[i]
		t.Riders[i] = x
	}
	// Rides count against the day and year the ride started in.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := cfg.Store.RecordTrip(rctx, t, cfg.Rules.Day(r.started), cfg.Rules.Year(r.started)); err != nil {
		return nil, err
	}
	cfg.Log.InfoContext(ctx, "trip recorded", "trip", t.TripID, "fare_yen", t.FareYen,
		"subsidy_yen", t.SubsidyYen, "paid_yen", t.PaidYen, "riders", len(t.Riders))
	return t, nil
}
