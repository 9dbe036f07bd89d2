package fare

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestComputeDefault(t *testing.T) {
	r := Default()
	tests := []struct {
		name    string
		fare    int64
		riders  int
		subsidy int64
		shares  []int64
	}{
		{"solo under the cap: half", 1500, 1, 750, []int64{750}},
		{"solo odd fare rounds down", 1501, 1, 750, []int64{750}},
		{"solo over the cap", 2400, 1, 1000, []int64{1000}},
		{"solo exactly at the cap", 2000, 1, 1000, []int64{1000}},
		{"zero fare", 0, 1, 0, []int64{0}},
		{"two share: per-person cap", 3100, 2, 1000, []int64{500, 500}},
		{"two share: half is less", 1500, 2, 750, []int64{375, 375}},
		{"three share: remainder to the first", 1000, 3, 500, []int64{167, 167, 166}},
		{"four share over the cap", 10000, 4, 2000, []int64{500, 500, 500, 500}},
		{"max fare", MaxFareYen, 1, 1000, []int64{1000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := r.Compute(tc.fare, tc.riders)
			require.NoError(t, err)
			assert.Equal(t, tc.subsidy, s.SubsidyYen)
			assert.Equal(t, tc.fare-tc.subsidy, s.PaidYen)
			assert.Equal(t, tc.shares, s.SharesYen)
		})
	}
}

func TestComputeRefuses(t *testing.T) {
	r := Default()
	for _, tc := range []struct {
		fare   int64
		riders int
	}{{-1, 1}, {MaxFareYen + 1, 1}, {1000, 0}, {1000, 5}} {
		_, err := r.Compute(tc.fare, tc.riders)
		assert.ErrorIs(t, err, ErrInvalidFare, "%+v", tc)
	}
	_, err := Rules{}.Compute(1000, 1)
	assert.ErrorIs(t, err, ErrInvalidRules)
}

func TestComputeFullRate(t *testing.T) {
	r := Default()
	r.Rate = Rate{Num: 1, Den: 1}
	r.CapPerRideYen = MaxAmountYen
	s, err := r.Compute(700, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(700), s.SubsidyYen, "the subsidy never exceeds the fare")
	assert.Zero(t, s.PaidYen)
}

func TestDayYearMonth(t *testing.T) {
	r := Default()
	jst := r.Zone
	tests := []struct {
		at    time.Time
		day   string
		year  int
		month string
	}{
		// 2026-03-31 15:30 UTC is 2026-04-01 00:30 in UTC+9: a new fiscal year.
		{time.Date(2026, 3, 31, 15, 30, 0, 0, time.UTC), "2026-04-01", 2026, "2026-04"},
		{time.Date(2026, 3, 31, 14, 59, 0, 0, time.UTC), "2026-03-31", 2025, "2026-03"},
		{time.Date(2027, 1, 5, 10, 0, 0, 0, jst), "2027-01-05", 2026, "2027-01"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.day, r.Day(tc.at))
		assert.Equal(t, tc.year, r.Year(tc.at))
		assert.Equal(t, tc.month, r.Month(tc.at))
	}
	r.YearStartMonth = time.January
	assert.Equal(t, 2027, r.Year(time.Date(2027, 1, 5, 10, 0, 0, 0, jst)))
}

func TestParseRules(t *testing.T) {
	r, err := ParseRules([]byte(`{"subsidy_rate":"2/3","cap_per_ride_yen":1200,"rides_per_day":0,"year_start_month":1,"utc_offset":"-05:30"}`))
	require.NoError(t, err)
	assert.Equal(t, Rate{2, 3}, r.Rate)
	assert.Equal(t, int64(1200), r.CapPerRideYen)
	assert.Equal(t, int64(500), r.SharedPerPersonYen, "missing field keeps the default")
	assert.Equal(t, 0, r.RidesPerDay)
	assert.Equal(t, time.January, r.YearStartMonth)
	_, off := time.Date(2026, 1, 1, 0, 0, 0, 0, r.Zone).Zone()
	assert.Equal(t, -(5*3600 + 30*60), off)

	empty, err := ParseRules([]byte(`{}`))
	require.NoError(t, err)
	b, err := json.Marshal(empty)
	require.NoError(t, err)
	back, err := ParseRules(b)
	require.NoError(t, err)
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	assert.JSONEq(t, string(b), string(b2))
	assert.JSONEq(t, `{"subsidy_rate":"1/2","cap_per_ride_yen":1000,"shared_per_person_yen":500,"max_riders":4,
		"rides_per_day":2,"rides_per_year":144,"year_start_month":4,"utc_offset":"+09:00"}`, string(b))
}

func TestParseRulesRefuses(t *testing.T) {
	for _, doc := range []string{
		``, `[]`, `{"subsidy_rate":"1/0"}`, `{"subsidy_rate":"3/2"}`, `{"subsidy_rate":"0.5"}`,
		`{"subsidy_rate":"-1/2"}`, `{"subsidy_rate":"1/ 2"}`, `{"cap_per_ride_yen":-1}`,
		`{"cap_per_ride_yen":1.5}`, `{"max_riders":0}`, `{"max_riders":10}`, `{"rides_per_day":-1}`,
		`{"year_start_month":13}`, `{"utc_offset":"+15:00"}`, `{"utc_offset":"0900"}`,
		`{"utc_offset":"+09:60"}`, `{"unknown":1}`, `{} {}`, `{"cap_per_ride_yen":99999999999999999999}`,
	} {
		_, err := ParseRules([]byte(doc))
		assert.ErrorIs(t, err, ErrInvalidRules, "%s", doc)
	}
	big := make([]byte, MaxConfigBytes+1)
	_, err := ParseRules(big)
	assert.True(t, errors.Is(err, ErrInvalidRules))
}

func FuzzParseRules(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"subsidy_rate":"1/2","cap_per_ride_yen":1000,"shared_per_person_yen":500,"max_riders":4,"rides_per_day":2,"rides_per_year":144,"year_start_month":4,"utc_offset":"+09:00"}`))
	f.Add([]byte(`{"subsidy_rate":"999999/1000000","utc_offset":"-14:00"}`))
	f.Add([]byte(`{"subsidy_rate":"1/0"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRules(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidRules) {
				t.Fatalf("error %v does not wrap ErrInvalidRules", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted rules do not validate: %v", err)
		}
		// Accepted rules survive a round trip and compute sane splits.
		enc, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseRules(enc); err != nil {
			t.Fatalf("re-parsing %s: %v", enc, err)
		}
		for n := 1; n <= r.MaxRiders; n++ {
			s, err := r.Compute(MaxFareYen, n)
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, x := range s.SharesYen {
				sum += x
			}
			if sum != s.SubsidyYen || s.SubsidyYen < 0 || s.SubsidyYen > s.FareYen || s.PaidYen != s.FareYen-s.SubsidyYen {
				t.Fatalf("bad split %+v", s)
			}
		}
	})
}

func ExampleRules_Compute() {
	s, _ := Default().Compute(3100, 2)
	fmt.Println(s.SubsidyYen, s.PaidYen, s.SharesYen)
	// Output: 1000 2100 [500 500]
}
