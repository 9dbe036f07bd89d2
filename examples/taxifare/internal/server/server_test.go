package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/examples/taxifare/internal/fare"
	"github.com/mynacard/freespace/examples/taxifare/internal/wire"
	"github.com/mynacard/freespace/profile"
)

func cuid(b byte) profile.CUID {
	var c profile.CUID
	for i := range c {
		c[i] = b + byte(i)
	}
	return c
}

func trip(id, company string, ended time.Time, fareYen, subsidy int64, users ...string) wire.Trip {
	t := wire.Trip{TripID: id, CompanyID: company, VehicleID: "car-1", StartedAt: ended.Add(-10 * time.Minute), EndedAt: ended,
		FareYen: fareYen, SubsidyYen: subsidy, PaidYen: fareYen - subsidy}
	n := int64(len(users))
	for i, u := range users {
		share := subsidy / n
		if int64(i) < subsidy%n {
			share++
		}
		t.Riders = append(t.Riders, wire.Rider{UserID: u, CUID: cuid(byte(i + 1)), SubsidyYen: share})
	}
	return t
}

func openServer(t *testing.T, token wire.Token) *Server {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "city.db"),
		Config{Rules: fare.Default(), Token: token, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

const (
	id1 = "00000000-0000-4000-8000-000000000001"
	id2 = "00000000-0000-4000-8000-000000000002"
	id3 = "00000000-0000-4000-8000-000000000003"
	id4 = "00000000-0000-4000-8000-000000000004"
)

func TestIngestIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openServer(t, "")
	at := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	a := trip(id1, "kita", at, 2400, 1000, "U1")
	req := &wire.UploadRequest{TerminalID: "car-1", Trips: []wire.Trip{a}}
	res, err := s.Ingest(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, wire.StatusAccepted, res[0].Status)
	res, err = s.Ingest(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, wire.StatusDuplicate, res[0].Status)
	// Same content in another time zone's encoding is still a duplicate.
	b := a
	b.StartedAt, b.EndedAt = a.StartedAt.In(fare.Default().Zone), a.EndedAt.In(fare.Default().Zone)
	res, err = s.Ingest(ctx, &wire.UploadRequest{TerminalID: "car-1", Trips: []wire.Trip{b}})
	require.NoError(t, err)
	assert.Equal(t, wire.StatusDuplicate, res[0].Status)
	// The same ID with other content is a conflict, and stores nothing.
	c := trip(id1, "kita", at, 2600, 1000, "U1")
	res, err = s.Ingest(ctx, &wire.UploadRequest{TerminalID: "car-1", Trips: []wire.Trip{c}})
	require.NoError(t, err)
	assert.Equal(t, wire.StatusRejected, res[0].Status)
	assert.Contains(t, res[0].Reason, "conflict")
	ids, err := s.TripIDs(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{id1}, ids)
}

func TestSettlementCSV(t *testing.T) {
	ctx := context.Background()
	s := openServer(t, "tok")
	// 2026-11-30 15:30 UTC is already December in UTC+9.
	nov := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	dec := time.Date(2026, 11, 30, 15, 30, 0, 0, time.UTC)
	_, err := s.Ingest(ctx, &wire.UploadRequest{TerminalID: "car-1", Trips: []wire.Trip{
		trip(id1, "kita", nov, 2400, 1000, "U1"),
		trip(id2, "kita", nov.Add(time.Hour), 3101, 1000, "U1", "U2"),
		trip(id3, "minami", nov, 1500, 750, "U3"),
		trip(id4, "kita", dec, 1000, 500, "U1"),
	}})
	require.NoError(t, err)
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	get := func(path, token string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, hs.URL+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/v1/settlement?month=2026-11", "tok")
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "month,company_id,trips,riders,fare_yen,subsidy_yen,passenger_paid_yen\n"+
		"2026-11,kita,2,3,5501,2000,3501\n"+
		"2026-11,minami,1,1,1500,750,750\n", body)
	code, body = get("/v1/settlement?month=2026-12", "tok")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "month,company_id,trips,riders,fare_yen,subsidy_yen,passenger_paid_yen\n2026-12,kita,1,1,1000,500,500\n", body)

	code, _ = get("/v1/settlement?month=2026-11", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = get("/v1/settlement?month=2026-11", "tok2")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = get("/v1/settlement?month=2026-1", "tok")
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = get("/v1/registry?terminal=a%20b", "tok")
	assert.Equal(t, http.StatusBadRequest, code)
}

func TestHandleTripsRefusesBadRequests(t *testing.T) {
	s := openServer(t, "")
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	good, err := json.Marshal(wire.UploadRequest{TerminalID: "car-1", Trips: []wire.Trip{trip(id1, "kita", time.Now().UTC(), 100, 50, "U1")}})
	require.NoError(t, err)
	for _, body := range [][]byte{nil, []byte(`{`), bytes.Replace(good, []byte(`"paid_yen":50`), []byte(`"paid_yen":60`), 1),
		bytes.Repeat([]byte(" "), wire.MaxRequestBytes+10)} {
		resp, err := http.Post(hs.URL+"/v1/trips", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	}
	resp, err := http.Post(hs.URL+"/v1/trips", "application/json", bytes.NewReader(good))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out wire.UploadResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	assert.Equal(t, wire.StatusAccepted, out.Results[0].Status)
	resp2, err := http.Get(hs.URL + "/v1/trips")
	require.NoError(t, err)
	resp2.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp2.StatusCode)
}

func TestRegister(t *testing.T) {
	ctx := context.Background()
	s := openServer(t, "")
	c := cuid(1)
	require.NoError(t, s.Register(ctx, "U1", &c))
	require.NoError(t, s.Register(ctx, "U2", nil))
	assert.Error(t, s.Register(ctx, "bad id", nil))
	assert.ErrorIs(t, s.Register(ctx, "U3", &profile.CUID{}), profile.ErrInvalidCUID)
	reg, err := s.Registry(ctx, "car-1")
	require.NoError(t, err)
	require.Len(t, reg.Users, 2)
	assert.Equal(t, &c, reg.Users[0].CUID)
	assert.Nil(t, reg.Users[1].CUID)
	require.NoError(t, reg.Validate())
	assert.True(t, strings.HasPrefix(reg.Day, "20"))
}
