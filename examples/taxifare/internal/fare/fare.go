// Package fare holds the subsidy rules of the demand-taxi fare-subsidy
// example and the arithmetic that applies them. Money is integer yen
// throughout; rates are exact fractions; nothing is ever a float.
//
// The defaults are modelled on the published shape of a city's demand-taxi
// subsidy (half the fare with a cap per ride, a per-person amount when
// several registered users share a ride, limits on rides per day and per
// year). They are not claimed to be any city's exact figures: every value is
// configurable (ParseRules).
package fare

import (
	"errors"
	"fmt"
	"time"
)

// Bounds checked by Rules.Validate and Compute.
const (
	MaxFareYen     = 1_000_000 // largest meter fare accepted for one ride
	MaxRiders      = 9         // most registered riders in one ride
	MaxAmountYen   = 1_000_000 // largest cap or per-person amount
	MaxRideLimit   = 100_000   // largest daily or yearly ride limit
	maxOffsetMins  = 14 * 60
	maxDenominator = 1_000_000
)

// ErrInvalidRules is wrapped by every rules parsing or validation error.
var ErrInvalidRules = errors.New("fare: invalid rules")

// ErrInvalidFare is returned by Compute for a fare or rider count out of range.
var ErrInvalidFare = errors.New("fare: invalid fare")

// Rate is an exact fraction Num/Den of the fare, 0 <= Num <= Den.
type Rate struct {
	Num int64
	Den int64
}

// String returns "Num/Den".
func (r Rate) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// Rules are the subsidy rules. The zero value is not valid; start from
// Default.
type Rules struct {
	// Rate is the share of the meter fare the city pays.
	Rate Rate
	// CapPerRideYen caps the subsidy of a ride with one registered rider.
	CapPerRideYen int64
	// SharedPerPersonYen is, when several registered riders share a ride,
	// the most the city pays per registered rider (the ride's cap is this
	// amount times the number of registered riders).
	SharedPerPersonYen int64
	// MaxRiders is the most registered riders subsidized in one ride.
	MaxRiders int
	// RidesPerDay and RidesPerYear limit the subsidized rides of one user
	// per calendar day and per year; 0 means no limit.
	RidesPerDay  int
	RidesPerYear int
	// YearStartMonth is the first month of the counting year (4: a
	// Japanese fiscal year, April to March).
	YearStartMonth time.Month
	// Zone is the time zone days and years are counted in.
	Zone *time.Location
}

// Default returns the default rules, modelled on the published scheme (see
// the package comment): half fare capped at 1,000 yen per ride, 500 yen per
// registered rider when several share a ride (at most 4), two subsidized
// rides a day and 144 a fiscal year (April to March), counted in Japan
// Standard Time.
func Default() Rules {
	return Rules{
		Rate:               Rate{Num: 1, Den: 2},
		CapPerRideYen:      1000,
		SharedPerPersonYen: 500,
		MaxRiders:          4,
		RidesPerDay:        2,
		RidesPerYear:       144,
		YearStartMonth:     time.April,
		Zone:               time.FixedZone("UTC+09:00", 9*3600),
	}
}

// Validate checks every bound.
func (r Rules) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidRules, fmt.Sprintf(format, a...))
	}
	switch {
	case r.Rate.Den <= 0 || r.Rate.Den > maxDenominator:
		return bad("rate denominator %d out of 1..%d", r.Rate.Den, maxDenominator)
	case r.Rate.Num < 0 || r.Rate.Num > r.Rate.Den:
		return bad("rate %s must be between 0 and 1", r.Rate)
	case r.CapPerRideYen < 0 || r.CapPerRideYen > MaxAmountYen:
		return bad("cap per ride %d yen out of 0..%d", r.CapPerRideYen, MaxAmountYen)
	case r.SharedPerPersonYen < 0 || r.SharedPerPersonYen > MaxAmountYen:
		return bad("shared amount per person %d yen out of 0..%d", r.SharedPerPersonYen, MaxAmountYen)
	case r.MaxRiders < 1 || r.MaxRiders > MaxRiders:
		return bad("max riders %d out of 1..%d", r.MaxRiders, MaxRiders)
	case r.RidesPerDay < 0 || r.RidesPerDay > MaxRideLimit:
		return bad("rides per day %d out of 0..%d", r.RidesPerDay, MaxRideLimit)
	case r.RidesPerYear < 0 || r.RidesPerYear > MaxRideLimit:
		return bad("rides per year %d out of 0..%d", r.RidesPerYear, MaxRideLimit)
	case r.YearStartMonth < time.January || r.YearStartMonth > time.December:
		return bad("year start month %d out of 1..12", r.YearStartMonth)
	case r.Zone == nil:
		return bad("no time zone")
	}
	return nil
}

// Split is the outcome of one ride: what the city pays, what the riders pay,
// and each registered rider's share of the subsidy (in tap order; the shares
// add up to SubsidyYen exactly).
type Split struct {
	FareYen    int64
	SubsidyYen int64
	PaidYen    int64
	SharesYen  []int64
}

// Compute applies the rules to a meter fare shared by riders registered
// riders (1..MaxRiders). The subsidy is floor(fare × Rate), capped by
// CapPerRideYen for one rider or riders × SharedPerPersonYen for several,
// and never more than the fare. It is shared out evenly; the yen that do not
// divide go one each to the first riders.
func (r Rules) Compute(fareYen int64, riders int) (Split, error) {
	if err := r.Validate(); err != nil {
		return Split{}, err
	}
	if fareYen < 0 || fareYen > MaxFareYen {
		return Split{}, fmt.Errorf("%w: fare %d yen out of 0..%d", ErrInvalidFare, fareYen, MaxFareYen)
	}
	if riders < 1 || riders > r.MaxRiders {
		return Split{}, fmt.Errorf("%w: %d registered riders, want 1..%d", ErrInvalidFare, riders, r.MaxRiders)
	}
	// fareYen <= 1e6 and Num <= 1e6: the product fits easily in int64.
	sub := fareYen * r.Rate.Num / r.Rate.Den
	limit := r.CapPerRideYen
	if riders > 1 {
		limit = int64(riders) * r.SharedPerPersonYen
	}
	sub = min(sub, limit, fareYen)
	shares := make([]int64, riders)
	each, rest := sub/int64(riders), sub%int64(riders)
	for i := range shares {
		shares[i] = each
		if int64(i) < rest {
			shares[i]++
		}
	}
	return Split{FareYen: fareYen, SubsidyYen: sub, PaidYen: fareYen - sub, SharesYen: shares}, nil
}

// Day returns the calendar day of t in the rules' zone as YYYY-MM-DD.
func (r Rules) Day(t time.Time) string { return t.In(r.Zone).Format(time.DateOnly) }

// Year returns the counting year of t: the calendar year in which the
// counting year that contains t began (for an April start, 2026-03-31 is in
// year 2025).
func (r Rules) Year(t time.Time) int {
	lt := t.In(r.Zone)
	y := lt.Year()
	if lt.Month() < r.YearStartMonth {
		y--
	}
	return y
}

// Month returns the settlement month of t in the rules' zone as YYYY-MM.
func (r Rules) Month(t time.Time) string { return t.In(r.Zone).Format("2006-01") }
