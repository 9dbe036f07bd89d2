package fare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// MaxConfigBytes bounds a rules document.
const MaxConfigBytes = 64 << 10

// config is the JSON form of Rules. Every field is optional: a missing field
// keeps its Default value.
type config struct {
	SubsidyRate        *string `json:"subsidy_rate"` // "1/2"
	CapPerRideYen      *int64  `json:"cap_per_ride_yen"`
	SharedPerPersonYen *int64  `json:"shared_per_person_yen"`
	MaxRiders          *int    `json:"max_riders"`
	RidesPerDay        *int    `json:"rides_per_day"`
	RidesPerYear       *int    `json:"rides_per_year"`
	YearStartMonth     *int    `json:"year_start_month"`
	UTCOffset          *string `json:"utc_offset"` // "+09:00"
}

// ParseRules reads a JSON rules document such as
//
//	{"subsidy_rate": "1/2", "cap_per_ride_yen": 1000,
//	 "shared_per_person_yen": 500, "max_riders": 4,
//	 "rides_per_day": 2, "rides_per_year": 144,
//	 "year_start_month": 4, "utc_offset": "+09:00"}
//
// Missing fields keep their Default value; unknown fields, trailing data,
// documents over MaxConfigBytes and out-of-range values are refused with an
// error wrapping ErrInvalidRules.
func ParseRules(b []byte) (Rules, error) {
	if len(b) > MaxConfigBytes {
		return Rules{}, fmt.Errorf("%w: document of %d bytes, at most %d", ErrInvalidRules, len(b), MaxConfigBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c config
	if err := dec.Decode(&c); err != nil {
		return Rules{}, fmt.Errorf("%w: %v", ErrInvalidRules, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Rules{}, fmt.Errorf("%w: data after the rules object", ErrInvalidRules)
	}
	r := Default()
	if c.SubsidyRate != nil {
		rate, err := parseRate(*c.SubsidyRate)
		if err != nil {
			return Rules{}, err
		}
		r.Rate = rate
	}
	set64 := func(dst *int64, src *int64) {
		if src != nil {
			*dst = *src
		}
	}
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	set64(&r.CapPerRideYen, c.CapPerRideYen)
	set64(&r.SharedPerPersonYen, c.SharedPerPersonYen)
	setInt(&r.MaxRiders, c.MaxRiders)
	setInt(&r.RidesPerDay, c.RidesPerDay)
	setInt(&r.RidesPerYear, c.RidesPerYear)
	if c.YearStartMonth != nil {
		if *c.YearStartMonth < 1 || *c.YearStartMonth > 12 {
			return Rules{}, fmt.Errorf("%w: year start month %d out of 1..12", ErrInvalidRules, *c.YearStartMonth)
		}
		r.YearStartMonth = time.Month(*c.YearStartMonth)
	}
	if c.UTCOffset != nil {
		z, err := parseOffset(*c.UTCOffset)
		if err != nil {
			return Rules{}, err
		}
		r.Zone = z
	}
	if err := r.Validate(); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// MarshalJSON writes the rules in the form ParseRules reads.
func (r Rules) MarshalJSON() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	_, off := time.Date(2000, 1, 1, 0, 0, 0, 0, r.Zone).Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	rate := r.Rate.String()
	offset := fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
	month := int(r.YearStartMonth)
	return json.Marshal(config{
		SubsidyRate: &rate, CapPerRideYen: &r.CapPerRideYen, SharedPerPersonYen: &r.SharedPerPersonYen,
		MaxRiders: &r.MaxRiders, RidesPerDay: &r.RidesPerDay, RidesPerYear: &r.RidesPerYear,
		YearStartMonth: &month, UTCOffset: &offset,
	})
}

func parseDigits(s string, max int64) (int64, bool) {
	if s == "" || len(s) > 7 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v <= max
}

// parseRate reads "N/D" with decimal digits only.
func parseRate(s string) (Rate, error) {
	n, d, ok := strings.Cut(s, "/")
	num, ok1 := parseDigits(n, maxDenominator)
	den, ok2 := parseDigits(d, maxDenominator)
	if !ok || !ok1 || !ok2 || den == 0 || num > den {
		return Rate{}, fmt.Errorf("%w: subsidy rate %q, want N/D with 0 <= N <= D <= %d, D > 0", ErrInvalidRules, truncate(s), maxDenominator)
	}
	return Rate{Num: num, Den: den}, nil
}

// parseOffset reads "+HH:MM" or "-HH:MM".
func parseOffset(s string) (*time.Location, error) {
	bad := fmt.Errorf("%w: utc offset %q, want +HH:MM or -HH:MM within 14 hours", ErrInvalidRules, truncate(s))
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return nil, bad
	}
	h, ok1 := parseDigits(s[1:3], 99)
	m, ok2 := parseDigits(s[4:6], 59)
	if !ok1 || !ok2 {
		return nil, bad
	}
	mins := int(h*60 + m)
	if mins > maxOffsetMins {
		return nil, bad
	}
	if s[0] == '-' {
		mins = -mins
	}
	return time.FixedZone("UTC"+s, mins*60), nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
