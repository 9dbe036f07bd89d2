package terminal

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mynacard/freespace/examples/taxifare/internal/fare"
	"github.com/mynacard/freespace/examples/taxifare/internal/server"
	"github.com/mynacard/freespace/examples/taxifare/internal/wire"
)

// flaky wraps the server's handler and fails a share of the requests in
// every way a mobile network can: the connection drops before the server
// sees the request, the server stores the trips but the answer is lost
// (connection dropped, or a 500), or a plain 500.
type flaky struct {
	next http.Handler
	fail int // out of 10 requests, how many fail

	mu  sync.Mutex
	rng *rand.Rand

	dropped, lostAnswers, errors500, served atomic.Int64
}

func newFlaky(next http.Handler, seed uint64, fail int) *flaky {
	return &flaky{next: next, fail: fail, rng: rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))}
}

func (f *flaky) roll() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.IntN(10)
}

func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := f.roll()
	if p >= f.fail {
		f.served.Add(1)
		f.next.ServeHTTP(w, r)
		return
	}
	switch p % 4 {
	case 0: // the request never reaches the server
		f.dropped.Add(1)
		hangUp(w)
	case 1: // stored, then the connection drops before the answer
		f.lostAnswers.Add(1)
		f.next.ServeHTTP(httptest.NewRecorder(), r)
		hangUp(w)
	case 2: // stored, then a 500 instead of the answer
		f.lostAnswers.Add(1)
		f.next.ServeHTTP(httptest.NewRecorder(), r)
		http.Error(w, "gateway error", http.StatusInternalServerError)
	case 3:
		f.errors500.Add(1)
		http.Error(w, "overloaded", http.StatusInternalServerError)
	}
}

// makeTrip returns a valid trip with a fresh ID for 1..3 riders.
func makeTrip(rng *rand.Rand, vehicle string, at time.Time) (*wire.Trip, error) {
	id, err := wire.NewUUID(crand.Reader)
	if err != nil {
		return nil, err
	}
	n := 1 + rng.IntN(3)
	split, err := fare.Default().Compute(int64(500+rng.IntN(6000)), n)
	if err != nil {
		return nil, err
	}
	t := &wire.Trip{TripID: id, CompanyID: "co-" + vehicle, VehicleID: vehicle, StartedAt: at, EndedAt: at.Add(10 * time.Minute),
		FareYen: split.FareYen, SubsidyYen: split.SubsidyYen, PaidYen: split.PaidYen}
	for i, u := range rng.Perm(testUsers)[:n] {
		t.Riders = append(t.Riders, wire.Rider{UserID: fmt.Sprintf("U%d", u), CUID: testCUID(byte(u + 1)), SubsidyYen: split.SharesYen[i]})
	}
	return t, nil
}

var tripTime = time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)

// testUsers is how many users (U0, U1, ...) openTestServer registers.
const testUsers = 20

// openTestServer opens a city server with the default rules without ride
// limits (the upload tests send many trips of few users) and the users
// U0..U19 registered.
func openTestServer(t testing.TB) *server.Server {
	t.Helper()
	rules := fare.Default()
	rules.RidesPerDay, rules.RidesPerYear = 0, 0
	srv, err := server.Open(context.Background(), filepath.Join(t.TempDir(), "city.db"),
		server.Config{Rules: rules, Log: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	for i := range testUsers {
		require.NoError(t, srv.Register(context.Background(), fmt.Sprintf("U%d", i), nil))
	}
	return srv
}

// enroll enrolls the terminal vehicle of company "co-<vehicle>" (as
// makeTrip names it) and returns its token.
func enroll(t testing.TB, srv *server.Server, vehicle string) wire.Token {
	t.Helper()
	tok, err := srv.EnrollTerminal(context.Background(), vehicle, "co-"+vehicle)
	require.NoError(t, err)
	return tok
}

// checkExactlyOnce checks the server holds exactly the terminal's trips,
// and that the settlement adds up to the terminal's own totals (a duplicate
// would inflate them).
func checkExactlyOnce(t *testing.T, st *Store, srv *server.Server) {
	t.Helper()
	ctx := context.Background()
	c, err := st.Counts(ctx)
	require.NoError(t, err)
	assert.Zero(t, c.Pending)
	assert.Zero(t, c.Rejected)
	trips, err := st.Trips(ctx)
	require.NoError(t, err)
	var local []string
	perCompany := map[string][2]int64{}
	for _, tr := range trips {
		local = append(local, tr.TripID)
		v := perCompany[tr.CompanyID]
		v[0]++
		v[1] += tr.SubsidyYen
		perCompany[tr.CompanyID] = v
	}
	slices.Sort(local)
	remote, err := srv.TripIDs(ctx)
	require.NoError(t, err)
	require.Equal(t, local, remote, "the server must hold each trip exactly once")
	rows, err := srv.Settlement(ctx, "2026-11")
	require.NoError(t, err)
	for _, r := range rows {
		assert.Equal(t, perCompany[r.CompanyID], [2]int64{r.Trips, r.SubsidyYen}, r.CompanyID)
		delete(perCompany, r.CompanyID)
	}
	assert.Empty(t, perCompany)
}

func TestUploadFlakyNetworkAndInterruptedUploader(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t)
	srv := openTestServer(t)
	fl := newFlaky(srv.Handler(), 42, 5)
	hs := httptest.NewServer(fl)
	defer hs.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	const total = 400
	for i := 0; i < total; i++ {
		tr, err := makeTrip(rng, "car-12", tripTime.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
		require.NoError(t, st.RecordTrip(ctx, tr, "2026-11-20", 2026))
	}
	up := &Uploader{Store: st, BaseURL: hs.URL, TerminalID: "car-12", Token: enroll(t, srv, "car-12"), BatchSize: 9, Log: quiet,
		Client: &http.Client{Timeout: 5 * time.Second}}
	for round := 0; ; round++ {
		require.Less(t, round, 2000, "uploads never finished")
		c, err := st.Counts(ctx)
		require.NoError(t, err)
		if c.Pending == 0 {
			break
		}
		// Every other round, kill the uploader part-way by cancelling it
		// after a random delay.
		fctx, cancel := context.WithCancel(ctx)
		if round%2 == 1 {
			time.AfterFunc(time.Duration(rng.IntN(3000))*time.Microsecond, cancel)
		}
		_, _ = up.Flush(fctx)
		cancel()
	}
	checkExactlyOnce(t, st, srv)
	t.Logf("requests: %d served, %d dropped, %d answers lost, %d plain 500s", fl.served.Load(), fl.dropped.Load(), fl.lostAnswers.Load(), fl.errors500.Load())
	assert.Positive(t, fl.lostAnswers.Load(), "the test must exercise lost answers")

	// A repeat of everything is recognized as duplicates.
	trips, err := st.Trips(ctx)
	require.NoError(t, err)
	res, err := srv.Ingest(ctx, server.Terminal{ID: "car-12", CompanyID: "co-car-12"}, &wire.UploadRequest{TerminalID: "car-12", Trips: trips[:10]})
	require.NoError(t, err)
	for _, r := range res {
		assert.Equal(t, wire.StatusDuplicate, r.Status)
	}
}

func TestUploadRejectsWrongToken(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t)
	srv := openTestServer(t)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	tr, err := makeTrip(rand.New(rand.NewPCG(3, 4)), "car-1", tripTime)
	require.NoError(t, err)
	require.NoError(t, st.RecordTrip(ctx, tr, "2026-11-20", 2026))
	up := &Uploader{Store: st, BaseURL: hs.URL, TerminalID: "car-1", Token: "wrong", Log: quiet}
	_, err = up.Flush(ctx)
	require.ErrorIs(t, err, ErrServer)
	assert.NotContains(t, err.Error(), "wrong")
	c, err := st.Counts(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, c.Pending, "a refused upload leaves the trip pending")
}

func TestRegistrySyncCountsOtherTerminals(t *testing.T) {
	ctx := context.Background()
	srv := openTestServer(t)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	require.NoError(t, srv.Register(ctx, "U2", nil))
	// U2 rode once today on car-07, and once on car-12.
	rng := rand.New(rand.NewPCG(5, 6))
	for _, v := range []string{"car-07", "car-12"} {
		tr, err := makeTrip(rng, v, time.Now().UTC().Truncate(time.Second))
		require.NoError(t, err)
		split, err := fare.Default().Compute(tr.FareYen, 1)
		require.NoError(t, err)
		tr.SubsidyYen, tr.PaidYen = split.SubsidyYen, split.PaidYen
		tr.Riders = []wire.Rider{{UserID: "U2", CUID: testCUID(3), SubsidyYen: split.SubsidyYen}}
		tr.EndedAt = tr.StartedAt // a trip of today that has ended already
		res, err := srv.Ingest(ctx, server.Terminal{ID: v, CompanyID: "co-" + v}, &wire.UploadRequest{TerminalID: v, Trips: []wire.Trip{*tr}})
		require.NoError(t, err)
		require.Equal(t, wire.StatusAccepted, res[0].Status, res[0].Reason)
	}
	st := openTestStore(t)
	up := &Uploader{Store: st, BaseURL: hs.URL, TerminalID: "car-12", Token: enroll(t, srv, "car-12"), Log: quiet}
	require.NoError(t, up.SyncRegistry(ctx))
	reg, err := st.lookup(ctx, "U2")
	require.NoError(t, err)
	assert.Equal(t, 1, reg.RidesDay, "car-12's own trip is not counted by the server")
	assert.Equal(t, 1, reg.RidesYear)
	_, err = st.lookup(ctx, "U99")
	assert.ErrorIs(t, err, errNotRegistered)
}

// TestCrashChild is the terminal process of TestUploadSurvivesSIGKILL; it
// does nothing unless started by it.
func TestCrashChild(t *testing.T) {
	dbPath, url, tok := os.Getenv("TAXIFARE_CRASH_DB"), os.Getenv("TAXIFARE_CRASH_URL"), wire.Token(os.Getenv("TAXIFARE_CRASH_TOKEN"))
	if dbPath == "" {
		t.Skip("only run as the child of TestUploadSurvivesSIGKILL")
	}
	ctx := context.Background()
	st, err := OpenStore(ctx, dbPath)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	up := &Uploader{Store: st, BaseURL: url, TerminalID: "car-99", Token: tok, BatchSize: 3, Log: quiet,
		Client: &http.Client{Timeout: 2 * time.Second}}
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	go func() {
		for {
			_, _ = up.Flush(ctx)
			time.Sleep(time.Millisecond)
		}
	}()
	for i := 0; ; i++ {
		tr, err := makeTrip(rng, "car-99", tripTime.Add(time.Duration(rng.IntN(1000))*time.Second))
		if err == nil {
			err = st.RecordTrip(ctx, tr, "2026-11-20", 2026)
		}
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		// Only a trip whose commit returned is reported as recorded.
		fmt.Println("committed", tr.TripID)
	}
}

func TestUploadSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	ctx := context.Background()
	srv := openTestServer(t)
	fl := newFlaky(srv.Handler(), 7, 3)
	hs := httptest.NewServer(fl)
	defer hs.Close()
	tok := enroll(t, srv, "car-99")
	dbPath := filepath.Join(t.TempDir(), "terminal.db")
	rng := rand.New(rand.NewPCG(8, 9))

	committed := map[string]bool{}
	for round := 0; round < 6; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), "TAXIFARE_CRASH_DB="+dbPath, "TAXIFARE_CRASH_URL="+hs.URL, "TAXIFARE_CRASH_TOKEN="+string(tok))
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill() }) // if the test fails early
		killAt := 10 + rng.IntN(60)
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			line := sc.Text()
			if id, ok := strings.CutPrefix(line, "committed "); ok {
				committed[id] = true
				if n++; n == killAt {
					require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
					break
				}
			} else if strings.HasPrefix(line, "error") {
				t.Fatalf("child: %s", line)
			}
		}
		for sc.Scan() { // what the child printed before it died
			if id, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
				committed[id] = true
			}
		}
		err = cmd.Wait()
		require.Error(t, err, "the child must have been killed")
		require.Less(t, 0, n, "child recorded nothing")
	}

	// Restart the terminal one last time and let it finish uploading.
	st, err := OpenStore(ctx, dbPath)
	require.NoError(t, err)
	defer st.Close()
	var ok string
	require.NoError(t, st.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok))
	require.Equal(t, "ok", ok)
	trips, err := st.Trips(ctx)
	require.NoError(t, err)
	have := map[string]bool{}
	for _, tr := range trips {
		have[tr.TripID] = true
	}
	for id := range committed {
		require.True(t, have[id], "committed trip %s lost in a crash", id)
	}
	up := &Uploader{Store: st, BaseURL: hs.URL, TerminalID: "car-99", Token: tok, Log: quiet}
	for i := 0; ; i++ {
		require.Less(t, i, 1000)
		if _, err := up.Flush(ctx); err == nil {
			break
		}
	}
	checkExactlyOnce(t, st, srv)
	t.Logf("%d trips over 6 crashes; requests: %d served, %d dropped, %d answers lost, %d plain 500s",
		len(trips), fl.served.Load(), fl.dropped.Load(), fl.lostAnswers.Load(), fl.errors500.Load())
}

func benchServer(b *testing.B) (*server.Server, string) {
	b.Helper()
	srv := openTestServer(b)
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	return srv, hs.URL
}

func TestRunKeepsUploadingThroughFailures(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t)
	srv := openTestServer(t)
	fl := newFlaky(srv.Handler(), 11, 6)
	hs := httptest.NewServer(fl)
	defer hs.Close()
	rng := rand.New(rand.NewPCG(12, 13))
	for i := 0; i < 50; i++ {
		tr, err := makeTrip(rng, "car-5", tripTime)
		require.NoError(t, err)
		require.NoError(t, st.RecordTrip(ctx, tr, "2026-11-20", 2026))
	}
	up := &Uploader{Store: st, BaseURL: hs.URL, TerminalID: "car-5", Token: enroll(t, srv, "car-5"), BatchSize: 4, Log: quiet}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- up.Run(rctx, 2*time.Millisecond, 20*time.Millisecond) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := st.Counts(ctx)
		require.NoError(t, err)
		if c.Pending == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "Run did not upload everything; %d pending", c.Pending)
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	checkExactlyOnce(t, st, srv)
}

// TestFlushRecordsAnswersAfterCancel: the server has answered a batch,
// then the uploader is cancelled (Ctrl-C) before it records the answers.
// The answers are recorded all the same, so the batch is not sent again.
func TestFlushRecordsAnswersAfterCancel(t *testing.T) {
	srv := openTestServer(t)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	st := openTestStore(t)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 3 {
		tr, err := makeTrip(rng, "car-1", tripTime.Add(time.Duration(i)*time.Hour))
		require.NoError(t, err)
		require.NoError(t, st.RecordTrip(context.Background(), tr, "2026-11-20", 2026))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Now is read once the answer is in, right before it is recorded.
	up := &Uploader{Store: st, BaseURL: hs.URL, TerminalID: "car-1", Token: enroll(t, srv, "car-1"), Log: quiet,
		Now: func() time.Time { cancel(); return time.Now() }}
	res, err := up.Flush(ctx)
	assert.ErrorIs(t, err, context.Canceled, "Flush stops after the batch")
	assert.Equal(t, 3, res.Accepted)
	c, err := st.Counts(context.Background())
	require.NoError(t, err)
	assert.Equal(t, Counts{Uploaded: 3}, c)
	checkExactlyOnce(t, st, srv)
}
