package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// rider is a registered test user: U<n> with the card cuid(n).
func rider(n int) wire.Rider { return wire.Rider{UserID: fmt.Sprintf("U%d", n), CUID: cuid(byte(n))} }

// trip is a trip of vehicle (company "co-<vehicle>") ending at ended, with
// the subsidy the default rules give.
func trip(t *testing.T, id, vehicle string, ended time.Time, fareYen int64, riders ...wire.Rider) wire.Trip {
	t.Helper()
	split, err := fare.Default().Compute(fareYen, len(riders))
	require.NoError(t, err)
	tr := wire.Trip{TripID: id, CompanyID: "co-" + vehicle, VehicleID: vehicle, StartedAt: ended.Add(-10 * time.Minute), EndedAt: ended,
		FareYen: fareYen, SubsidyYen: split.SubsidyYen, PaidYen: split.PaidYen}
	for i, r := range riders {
		r.SubsidyYen = split.SharesYen[i]
		tr.Riders = append(tr.Riders, r)
	}
	return tr
}

// now is the servers' clock: 2026-11-25 10:00 in UTC+9.
var now = time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)

// at is 2026-11-20 10:00 in UTC+9 plus d.
func at(d time.Duration) time.Time { return time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC).Add(d) }

// openServer opens a server whose users U1..U4 are registered, U1 pinned
// to cuid(1).
func openServer(t *testing.T) *Server {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "city.db"),
		Config{Rules: fare.Default(), Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	pin := cuid(1)
	require.NoError(t, s.Register(context.Background(), "U1", &pin))
	for _, u := range []string{"U2", "U3", "U4"} {
		require.NoError(t, s.Register(context.Background(), u, nil))
	}
	return s
}

// client calls the HTTP API as one terminal.
type client struct {
	t     *testing.T
	url   string
	token wire.Token
}

func (c client) do(method, path string, body []byte) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	require.NoError(c.t, err)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+string(c.token))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, string(b)
}

// upload sends trips as terminal and returns the HTTP status and, for a
// 200, the results.
func (c client) upload(terminal string, trips ...wire.Trip) (int, []wire.Result) {
	c.t.Helper()
	body, err := json.Marshal(wire.UploadRequest{TerminalID: terminal, Trips: trips})
	require.NoError(c.t, err)
	code, out := c.do(http.MethodPost, "/v1/trips", body)
	if code != http.StatusOK {
		return code, nil
	}
	var resp wire.UploadResponse
	require.NoError(c.t, json.Unmarshal([]byte(out), &resp))
	return code, resp.Results
}

// serve starts the HTTP API and enrolls the terminals car-1 (company
// co-car-1) and car-2 (co-car-2).
func serve(t *testing.T, s *Server) (car1, car2 client) {
	t.Helper()
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	ctx := context.Background()
	t1, err := s.EnrollTerminal(ctx, "car-1", "co-car-1")
	require.NoError(t, err)
	t2, err := s.EnrollTerminal(ctx, "car-2", "co-car-2")
	require.NoError(t, err)
	assert.NotEqual(t, t1, t2)
	return client{t, hs.URL, t1}, client{t, hs.URL, t2}
}

const (
	id1 = "00000000-0000-4000-8000-000000000001"
	id2 = "00000000-0000-4000-8000-000000000002"
	id3 = "00000000-0000-4000-8000-000000000003"
	id4 = "00000000-0000-4000-8000-000000000004"
	id5 = "00000000-0000-4000-8000-000000000005"
)

var car1 = Terminal{ID: "car-1", CompanyID: "co-car-1"}

func TestIngestIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openServer(t)
	a := trip(t, id1, "car-1", at(0), 2400, rider(1))
	req := &wire.UploadRequest{TerminalID: "car-1", Trips: []wire.Trip{a}}
	res, err := s.Ingest(ctx, car1, req)
	require.NoError(t, err)
	assert.Equal(t, wire.StatusAccepted, res[0].Status, res[0].Reason)
	res, err = s.Ingest(ctx, car1, req)
	require.NoError(t, err)
	assert.Equal(t, wire.StatusDuplicate, res[0].Status)
	// Same content in another time zone's encoding is still a duplicate.
	b := a
	b.StartedAt, b.EndedAt = a.StartedAt.In(fare.Default().Zone), a.EndedAt.In(fare.Default().Zone)
	res, err = s.Ingest(ctx, car1, &wire.UploadRequest{TerminalID: "car-1", Trips: []wire.Trip{b}})
	require.NoError(t, err)
	assert.Equal(t, wire.StatusDuplicate, res[0].Status)
	// The same ID with other content is a conflict, and stores nothing.
	c := trip(t, id1, "car-1", at(0), 2600, rider(1))
	res, err = s.Ingest(ctx, car1, &wire.UploadRequest{TerminalID: "car-1", Trips: []wire.Trip{c}})
	require.NoError(t, err)
	assert.Equal(t, wire.StatusRejected, res[0].Status)
	assert.Contains(t, res[0].Reason, "conflict")
	ids, err := s.TripIDs(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{id1}, ids)
	// A duplicate stays a duplicate once its month is settled (the answer
	// to the first upload was lost).
	require.NoError(t, s.CloseMonth(ctx, "2026-11"))
	res, err = s.Ingest(ctx, car1, req)
	require.NoError(t, err)
	assert.Equal(t, wire.StatusDuplicate, res[0].Status)
}

// TestRogueTerminal reproduces each attack of a terminal that breaks the
// rules (issue 10, §12): with one shared token and a server that trusted
// the terminals' application of the rules, every trip below was accepted.
// Now each is rejected, with its reason, and nothing of it is stored.
func TestRogueTerminal(t *testing.T) {
	s := openServer(t)
	c1, _ := serve(t, s)
	ctx := context.Background()
	// Two rides of U2 today are fine; November is then settled.
	code, res := c1.upload("car-1", trip(t, id1, "car-1", at(0), 1500, rider(2)), trip(t, id2, "car-1", at(time.Hour), 1500, rider(2)))
	require.Equal(t, http.StatusOK, code)
	for _, r := range res {
		require.Equal(t, wire.StatusAccepted, r.Status, r.Reason)
	}

	million := trip(t, id3, "car-1", at(3*time.Hour), 1_000_000, rider(3))
	million.SubsidyYen, million.PaidYen, million.Riders[0].SubsidyYen = 1_000_000, 0, 1_000_000
	share := trip(t, id3, "car-1", at(3*time.Hour), 3000, rider(3), rider(4))
	share.Riders[0].SubsidyYen, share.Riders[1].SubsidyYen = 1000, 0 // 1000 is within the cap, but not the rules' split
	otherVehicle := trip(t, id3, "car-2", at(3*time.Hour), 1500, rider(3))
	otherVehicle.CompanyID = "co-car-1"
	otherCompany := trip(t, id3, "car-1", at(3*time.Hour), 1500, rider(3))
	otherCompany.CompanyID = "co-car-2"
	unpinned := rider(1)
	unpinned.CUID = cuid(9)
	cases := []struct {
		name string
		trip wire.Trip
		want string // in the reason
	}{
		{"an unregistered rider", trip(t, id3, "car-1", at(3*time.Hour), 1500, rider(7)), "rider U7 is not registered"},
		{"a 1 000 000 yen subsidy (the cap is 1 000)", million, "subsidy 1000000 yen, the rules give 1000 yen"},
		{"shares the rules do not give", share, "rider 0: share 1000 yen, the rules give 500 yen"},
		{"another CUID than the pinned one", trip(t, id3, "car-1", at(3*time.Hour), 1500, unpinned), "rider U1 is registered to another card"},
		{"a third ride in a day (limit two)", trip(t, id3, "car-1", at(3*time.Hour), 1500, rider(2)), "rider U2 has used up the 2 subsidized rides of 2026-11-20"},
		{"a trip under another terminal's vehicle", otherVehicle, "trip of vehicle car-2 uploaded by terminal car-1"},
		{"a trip of another company", otherCompany, "trip of company co-car-2 uploaded by a terminal of co-car-1"},
		{"a trip ending tomorrow", trip(t, id3, "car-1", now.Add(24*time.Hour), 1500, rider(3)), "trip ends in the future"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.trip.TripID = fmt.Sprintf("00000000-0000-4000-8000-%012d", 100+i) // each attack on its own
			code, res := c1.upload("car-1", tc.trip)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, wire.StatusRejected, res[0].Status)
			assert.Equal(t, tc.want, res[0].Reason)
		})
	}
	// A trip backdated into a settled month.
	require.NoError(t, s.CloseMonth(ctx, "2026-10"))
	code, res = c1.upload("car-1", trip(t, id4, "car-1", time.Date(2026, 10, 31, 1, 0, 0, 0, time.UTC), 1500, rider(3)))
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, wire.StatusRejected, res[0].Status)
	assert.Equal(t, "month 2026-10 is settled", res[0].Reason)
	// A request in another terminal's name (its trips would drop out of
	// that terminal's limits) is refused as a whole.
	code, _ = c1.upload("car-2", trip(t, id5, "car-2", at(3*time.Hour), 1500, rider(3)))
	assert.Equal(t, http.StatusForbidden, code)
	_, err := s.Ingest(ctx, car1, &wire.UploadRequest{TerminalID: "car-2", Trips: []wire.Trip{trip(t, id5, "car-2", at(3*time.Hour), 1500, rider(3))}})
	assert.ErrorIs(t, err, ErrForbidden)

	ids, err := s.TripIDs(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{id1, id2}, ids, "nothing of the rogue trips is stored")
	// And the same trip done right is accepted.
	code, res = c1.upload("car-1", trip(t, id3, "car-1", at(3*time.Hour), 1500, rider(3)))
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, wire.StatusAccepted, res[0].Status, res[0].Reason)
}

// TestLimitsWithinOneRequest: the ride limit counts the trips earlier in
// the same request.
func TestLimitsWithinOneRequest(t *testing.T) {
	s := openServer(t)
	res, err := s.Ingest(context.Background(), car1, &wire.UploadRequest{TerminalID: "car-1", Trips: []wire.Trip{
		trip(t, id1, "car-1", at(0), 1500, rider(2)),
		trip(t, id2, "car-1", at(time.Hour), 1500, rider(2), rider(3)),
		trip(t, id3, "car-1", at(2*time.Hour), 1500, rider(3), rider(2)),
		trip(t, id4, "car-1", at(3*time.Hour), 1500, rider(3)),
	}})
	require.NoError(t, err)
	var got []wire.Status
	for _, r := range res {
		got = append(got, r.Status)
	}
	assert.Equal(t, []wire.Status{wire.StatusAccepted, wire.StatusAccepted, wire.StatusRejected, wire.StatusAccepted}, got)
}

// TestTerminalsSeeOnlyWhatTheyNeed: a terminal reads its own company's
// settlement only, and the registry names no user and no CUID in clear.
func TestTerminalsSeeOnlyWhatTheyNeed(t *testing.T) {
	s := openServer(t)
	c1, c2 := serve(t, s)
	ctx := context.Background()
	_, err := s.Ingest(ctx, car1, &wire.UploadRequest{TerminalID: "car-1", Trips: []wire.Trip{trip(t, id1, "car-1", at(0), 2400, rider(1))}})
	require.NoError(t, err)
	_, err = s.Ingest(ctx, Terminal{ID: "car-2", CompanyID: "co-car-2"}, &wire.UploadRequest{TerminalID: "car-2",
		Trips: []wire.Trip{trip(t, id2, "car-2", at(0), 1500, rider(3))}})
	require.NoError(t, err)

	const header = "month,company_id,trips,riders,fare_yen,subsidy_yen,passenger_paid_yen\n"
	code, body := c1.do(http.MethodGet, "/v1/settlement?month=2026-11", nil)
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, header+"2026-11,co-car-1,1,1,2400,1000,1400\n", body)
	code, body = c2.do(http.MethodGet, "/v1/settlement?month=2026-11", nil)
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, header+"2026-11,co-car-2,1,1,1500,750,750\n", body)
	code, _ = c1.do(http.MethodGet, "/v1/settlement?month=2026-11&company=co-car-2", nil)
	assert.Equal(t, http.StatusForbidden, code, "another company's settlement")
	// The city sees every company (in process).
	rows, err := s.Settlement(ctx, "2026-11")
	require.NoError(t, err)
	assert.Len(t, rows, 2)

	code, body = c1.do(http.MethodGet, "/v1/registry", nil)
	require.Equal(t, http.StatusOK, code, body)
	for _, clear := range []string{"U1", "U2", "U3", "U4", cuid(1).String()} {
		assert.NotContains(t, body, clear, "the registry names no user and no CUID in clear")
	}
	reg, err := wire.ParseRegistry(strings.NewReader(body), 1<<20)
	require.NoError(t, err)
	require.Len(t, reg.Users, 4)
	byKey := map[string]wire.RegisteredUser{}
	for _, u := range reg.Users {
		byKey[u.Key] = u
	}
	u1, ok := byKey[wire.UserKey(reg.Salt, "U1")]
	require.True(t, ok, "a terminal that reads U1's card finds the registration")
	assert.Equal(t, wire.PinKey(reg.Salt, "U1", cuid(1)), u1.Pin)
	u3 := byKey[wire.UserKey(reg.Salt, "U3")]
	assert.Equal(t, 1, u3.RidesYear, "car-2's trip counts for car-1")
	// A second answer has a fresh salt: nothing to correlate.
	_, body2 := c1.do(http.MethodGet, "/v1/registry", nil)
	assert.NotEqual(t, body, body2)
	code, _ = c1.do(http.MethodGet, "/v1/registry?terminal=car-2", nil)
	assert.Equal(t, http.StatusForbidden, code, "another terminal's view")
}

func TestAuthentication(t *testing.T) {
	s := openServer(t)
	c1, _ := serve(t, s)
	for _, tok := range []wire.Token{"", "tok", wire.Token(strings.Repeat("0", 64)), c1.token + "0"} {
		c := c1
		c.token = tok
		for _, path := range []string{"/v1/registry", "/v1/settlement?month=2026-11"} {
			code, _ := c.do(http.MethodGet, path, nil)
			assert.Equal(t, http.StatusUnauthorized, code, path)
		}
		code, _ := c.upload("car-1", trip(t, id1, "car-1", at(0), 1500, rider(2)))
		assert.Equal(t, http.StatusUnauthorized, code)
	}
	_, err := s.EnrollTerminal(context.Background(), "car-1", "co-car-1")
	assert.ErrorIs(t, err, ErrTerminalExists)
	_, err = s.EnrollTerminal(context.Background(), "car 3", "co")
	assert.Error(t, err)
	// The token is stored only as its hash.
	var stored string
	require.NoError(t, s.db.QueryRow(`SELECT token_hash FROM terminals WHERE terminal_id = 'car-1'`).Scan(&stored))
	assert.NotContains(t, stored, string(c1.token))
	assert.Equal(t, tokenHash(c1.token), stored)
}

func TestSettlementCSV(t *testing.T) {
	ctx := context.Background()
	s := openServer(t)
	// 2026-11-30 15:30 UTC is already December in UTC+9.
	dec := time.Date(2026, 11, 30, 15, 30, 0, 0, time.UTC)
	s.cfg.Now = func() time.Time { return dec.Add(time.Hour) }
	c2 := Terminal{ID: "car-2", CompanyID: "co-car-2"}
	for _, x := range []struct {
		term Terminal
		trip wire.Trip
	}{
		{car1, trip(t, id1, "car-1", at(0), 2400, rider(1))},
		{car1, trip(t, id2, "car-1", at(time.Hour), 3101, rider(1), rider(2))},
		{c2, trip(t, id3, "car-2", at(0), 1500, rider(3))},
		{car1, trip(t, id4, "car-1", dec, 1000, rider(1))},
	} {
		res, err := s.Ingest(ctx, x.term, &wire.UploadRequest{TerminalID: x.term.ID, Trips: []wire.Trip{x.trip}})
		require.NoError(t, err)
		require.Equal(t, wire.StatusAccepted, res[0].Status, res[0].Reason)
	}
	var b bytes.Buffer
	rows, err := s.Settlement(ctx, "2026-11")
	require.NoError(t, err)
	require.NoError(t, WriteSettlementCSV(&b, rows))
	assert.Equal(t, "month,company_id,trips,riders,fare_yen,subsidy_yen,passenger_paid_yen\n"+
		"2026-11,co-car-1,2,3,5501,2000,3501\n"+
		"2026-11,co-car-2,1,1,1500,750,750\n", b.String())
	rows, err = s.Settlement(ctx, "2026-12")
	require.NoError(t, err)
	assert.Equal(t, []SettlementRow{{Month: "2026-12", CompanyID: "co-car-1", Trips: 1, Riders: 1, FareYen: 1000, SubsidyYen: 500, PaidYen: 500}}, rows)
	_, err = s.Settlement(ctx, "2026-1")
	assert.ErrorIs(t, err, ErrBadMonth)
	assert.ErrorIs(t, s.CloseMonth(ctx, "11-2026"), ErrBadMonth)

	c1, _ := serve(t, s)
	code, _ := c1.do(http.MethodGet, "/v1/settlement?month=2026-1", nil)
	assert.Equal(t, http.StatusBadRequest, code)
}

func TestHandleTripsRefusesBadRequests(t *testing.T) {
	s := openServer(t)
	c1, _ := serve(t, s)
	good, err := json.Marshal(wire.UploadRequest{TerminalID: "car-1", Trips: []wire.Trip{trip(t, id5, "car-1", at(0), 100, rider(2))}})
	require.NoError(t, err)
	for _, body := range [][]byte{nil, []byte(`{`), bytes.Replace(good, []byte(`"paid_yen":50`), []byte(`"paid_yen":60`), 1),
		bytes.Repeat([]byte(" "), wire.MaxRequestBytes+10)} {
		code, _ := c1.do(http.MethodPost, "/v1/trips", body)
		assert.Equal(t, http.StatusBadRequest, code)
	}
	code, out := c1.do(http.MethodPost, "/v1/trips", good)
	require.Equal(t, http.StatusOK, code)
	var resp wire.UploadResponse
	require.NoError(t, json.Unmarshal([]byte(out), &resp))
	assert.Equal(t, wire.StatusAccepted, resp.Results[0].Status, resp.Results[0].Reason)
	code, _ = c1.do(http.MethodGet, "/v1/trips", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, code)
}

func TestRegister(t *testing.T) {
	ctx := context.Background()
	s := openServer(t)
	c := cuid(7)
	require.NoError(t, s.Register(ctx, "U7", &c))
	assert.Error(t, s.Register(ctx, "bad id", nil))
	assert.ErrorIs(t, s.Register(ctx, "U8", &profile.CUID{}), profile.ErrInvalidCUID)
	reg, err := s.Registry(ctx, "car-1")
	require.NoError(t, err)
	require.Len(t, reg.Users, 5)
	require.NoError(t, reg.Validate())
	assert.True(t, strings.HasPrefix(reg.Day, "20"))
}
