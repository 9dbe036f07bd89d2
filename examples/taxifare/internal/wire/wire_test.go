package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/profile"
)

func testCUID(b byte) profile.CUID {
	var c profile.CUID
	for i := range c {
		c[i] = b + byte(i)
	}
	return c
}

func validTrip() Trip {
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	return Trip{
		TripID: "0b6f4f2e-8c1d-4a7e-9f00-3d2c1b0a9f8e", CompanyID: "kita-kotsu", VehicleID: "car-12",
		StartedAt: start, EndedAt: start.Add(15 * time.Minute),
		FareYen: 3100, SubsidyYen: 1000, PaidYen: 2100,
		Riders: []Rider{{UserID: "U-0001", CUID: testCUID(1), SubsidyYen: 500}, {UserID: "U-0002", CUID: testCUID(2), SubsidyYen: 500}},
	}
}

func encode(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestParseUploadRequest(t *testing.T) {
	req := UploadRequest{TerminalID: "car-12", Trips: []Trip{validTrip()}}
	got, err := ParseUploadRequest(bytes.NewReader(encode(t, req)))
	require.NoError(t, err)
	assert.Equal(t, req.Trips[0].TripID, got.Trips[0].TripID)
	assert.True(t, req.Trips[0].EndedAt.Equal(got.Trips[0].EndedAt))
	assert.Equal(t, req.Trips[0].Riders, got.Trips[0].Riders)
}

func TestTripValidateRefuses(t *testing.T) {
	tests := map[string]func(*Trip){
		"upper-case UUID":   func(tr *Trip) { tr.TripID = strings.ToUpper(tr.TripID) },
		"short UUID":        func(tr *Trip) { tr.TripID = tr.TripID[:35] },
		"bad company":       func(tr *Trip) { tr.CompanyID = "kita kotsu" },
		"empty vehicle":     func(tr *Trip) { tr.VehicleID = "" },
		"ends before start": func(tr *Trip) { tr.EndedAt = tr.StartedAt.Add(-time.Second) },
		"zero time":         func(tr *Trip) { tr.StartedAt = time.Time{} },
		"negative fare":     func(tr *Trip) { tr.FareYen = -1 },
		"huge fare":         func(tr *Trip) { tr.FareYen = 1 << 60 },
		"subsidy over fare": func(tr *Trip) { tr.SubsidyYen, tr.PaidYen = 4000, -900 },
		"paid mismatch":     func(tr *Trip) { tr.PaidYen = 2000 },
		"shares mismatch":   func(tr *Trip) { tr.Riders[1].SubsidyYen = 400 },
		"negative share":    func(tr *Trip) { tr.Riders[0].SubsidyYen, tr.Riders[1].SubsidyYen = -500, 1500 },
		"no riders":         func(tr *Trip) { tr.Riders = nil },
		"same rider twice":  func(tr *Trip) { tr.Riders[1].UserID = "U-0001" },
		"zero CUID":         func(tr *Trip) { tr.Riders[0].CUID = profile.CUID{} },
		"bad user ID":       func(tr *Trip) { tr.Riders[0].UserID = "U 1" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			tr := validTrip()
			mutate(&tr)
			assert.ErrorIs(t, tr.Validate(), ErrInvalid)
		})
	}
}

func TestParseUploadRequestRefuses(t *testing.T) {
	trip := validTrip()
	twice := UploadRequest{TerminalID: "car-12", Trips: []Trip{trip, trip}}
	tooMany := UploadRequest{TerminalID: "car-12", Trips: make([]Trip, MaxTripsPerRequest+1)}
	for i := range tooMany.Trips {
		tooMany.Trips[i] = trip
	}
	for name, body := range map[string][]byte{
		"empty":          nil,
		"not JSON":       []byte("trips"),
		"no trips":       []byte(`{"terminal_id":"car-12","trips":[]}`),
		"bad terminal":   []byte(`{"terminal_id":"car 12","trips":[]}`),
		"unknown field":  []byte(`{"terminal_id":"car-12","trips":[],"x":1}`),
		"trailing data":  append(encode(t, UploadRequest{TerminalID: "car-12", Trips: []Trip{trip}}), []byte(` {}`)...),
		"float money":    bytes.Replace(encode(t, UploadRequest{TerminalID: "car-12", Trips: []Trip{trip}}), []byte(`"fare_yen":3100`), []byte(`"fare_yen":3100.5`), 1),
		"bad CUID":       bytes.Replace(encode(t, UploadRequest{TerminalID: "car-12", Trips: []Trip{trip}}), []byte(testCUID(1).String()), []byte("zz"), 1),
		"duplicate trip": encode(t, twice),
		"too many trips": encode(t, tooMany),
		"too large":      bytes.Repeat([]byte(" "), MaxRequestBytes+1),
	} {
		_, err := ParseUploadRequest(bytes.NewReader(body))
		assert.ErrorIs(t, err, ErrInvalid, name)
	}
}

func TestParseUploadResponse(t *testing.T) {
	req := &UploadRequest{TerminalID: "car-12", Trips: []Trip{validTrip()}}
	id := req.Trips[0].TripID
	ok := fmt.Sprintf(`{"results":[{"trip_id":%q,"status":"duplicate"}]}`, id)
	resp, err := ParseUploadResponse(strings.NewReader(ok), req)
	require.NoError(t, err)
	assert.Equal(t, StatusDuplicate, resp.Results[0].Status)
	for _, body := range []string{
		`{"results":[]}`,
		`{"results":[{"trip_id":"other","status":"accepted"}]}`,
		fmt.Sprintf(`{"results":[{"trip_id":%q,"status":"maybe"}]}`, id),
	} {
		_, err := ParseUploadResponse(strings.NewReader(body), req)
		assert.ErrorIs(t, err, ErrInvalid, body)
	}
}

func TestNewUUID(t *testing.T) {
	id, err := NewUUID(bytes.NewReader(bytes.Repeat([]byte{0xFF}, 16)))
	require.NoError(t, err)
	assert.Equal(t, "ffffffff-ffff-4fff-bfff-ffffffffffff", id)
	assert.True(t, ValidUUID(id))
	_, err = NewUUID(bytes.NewReader(nil))
	assert.Error(t, err)
}

func TestTokenRedacted(t *testing.T) {
	tok := Token("s3cret-token")
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s %q %x", tok, tok, tok, tok, tok, tok), fmt.Sprintf("%v", struct{ T Token }{tok})} {
		assert.NotContains(t, s, "s3cret")
	}
	// encoding/json and both slog handlers, alone and inside a struct.
	b, err := json.Marshal(struct{ T Token }{tok})
	require.NoError(t, err)
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("upload", "token", tok, "cfg", struct{ T Token }{tok})
	}
	for _, s := range []string{string(b), buf.String()} {
		assert.NotContains(t, s, "s3cret")
		assert.Contains(t, s, redacted)
	}
}

func TestParseRegistry(t *testing.T) {
	salt := bytes.Repeat([]byte{7}, SaltBytes)
	reg := Registry{AsOf: time.Now().UTC(), Day: "2026-11-20", Year: 2026, Salt: salt,
		Users: []RegisteredUser{{Key: UserKey(salt, "U-0001"), Pin: PinKey(salt, "U-0001", testCUID(1)), RidesDay: 1, RidesYear: 10}, {Key: UserKey(salt, "U-0002")}}}
	b := encode(t, reg)
	got, err := ParseRegistry(bytes.NewReader(b), 1<<20)
	require.NoError(t, err)
	assert.Equal(t, reg.Users, got.Users)
	// Neither the user IDs nor the CUID travel in clear.
	assert.NotContains(t, string(b), "U-0001")
	assert.NotContains(t, string(b), testCUID(1).String())
	assert.NotEqual(t, UserKey(salt, "U-0001"), UserKey(bytes.Repeat([]byte{8}, SaltBytes), "U-0001"), "the salt changes the keys")
	assert.NotEqual(t, PinKey(salt, "U-0001", testCUID(1)), PinKey(salt, "U-0001", testCUID(2)))
	for _, mutate := range []func(*Registry){
		func(r *Registry) { r.Day = "2026-13-01" },
		func(r *Registry) { r.Year = 1 },
		func(r *Registry) { r.Salt = r.Salt[:16] },
		func(r *Registry) { r.Users[1].Key = r.Users[0].Key },
		func(r *Registry) { r.Users[1].Key = "U-0002" },
		func(r *Registry) { r.Users[1].Pin = "00" },
		func(r *Registry) { r.Users[0].RidesDay = 11 },
		func(r *Registry) { r.Users[0].RidesYear = -1 },
	} {
		r := reg
		r.Users = append([]RegisteredUser(nil), reg.Users...)
		mutate(&r)
		_, err := ParseRegistry(bytes.NewReader(encode(t, r)), 1<<20)
		assert.ErrorIs(t, err, ErrInvalid)
	}
	_, err = ParseRegistry(bytes.NewReader(encode(t, reg)), 10)
	assert.ErrorIs(t, err, ErrInvalid)
}

func FuzzParseUploadRequest(f *testing.F) {
	trip := validTrip()
	f.Add(encode(f, UploadRequest{TerminalID: "car-12", Trips: []Trip{trip}}))
	solo := trip
	solo.Riders = []Rider{{UserID: "U-0001", CUID: testCUID(1), SubsidyYen: 1000}}
	f.Add(encode(f, UploadRequest{TerminalID: "t", Trips: []Trip{solo}}))
	f.Add([]byte(`{"terminal_id":"car-12","trips":[]}`))
	f.Add([]byte(`{"terminal_id":"car-12","trips":[{"trip_id":"x","fare_yen":-1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ParseUploadRequest(bytes.NewReader(b))
		if err != nil {
			if req != nil {
				t.Fatal("request returned with an error")
			}
			return
		}
		// An accepted request holds only consistent money and survives a
		// round trip unchanged.
		for _, tr := range req.Trips {
			var sum int64
			for _, r := range tr.Riders {
				sum += r.SubsidyYen
			}
			if sum != tr.SubsidyYen || tr.SubsidyYen > tr.FareYen || tr.PaidYen != tr.FareYen-tr.SubsidyYen || tr.PaidYen < 0 {
				t.Fatalf("inconsistent money accepted: %+v", tr)
			}
		}
		again, err := ParseUploadRequest(bytes.NewReader(encode(t, req)))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !bytes.Equal(encode(t, req), encode(t, again)) {
			t.Fatal("round trip changed the request")
		}
	})
}

func FuzzParseRegistry(f *testing.F) {
	salt := bytes.Repeat([]byte{7}, SaltBytes)
	f.Add(encode(f, Registry{AsOf: time.Unix(1_790_000_000, 0).UTC(), Day: "2026-11-20", Year: 2026, Salt: salt,
		Users: []RegisteredUser{{Key: UserKey(salt, "U-0001"), Pin: PinKey(salt, "U-0001", testCUID(1)), RidesDay: 1, RidesYear: 3}}}))
	f.Add([]byte(`{"day":"2026-01-01","year":2025,"users":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		reg, err := ParseRegistry(bytes.NewReader(b), 1<<20)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := reg.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}
