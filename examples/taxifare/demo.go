package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/examples/taxifare/internal/card"
	"github.com/mynacard/freespace/examples/taxifare/internal/fare"
	"github.com/mynacard/freespace/examples/taxifare/internal/server"
	"github.com/mynacard/freespace/examples/taxifare/internal/terminal"
	"github.com/mynacard/freespace/examples/taxifare/internal/wire"
	"github.com/mynacard/freespace/mockcard"
	"github.com/mynacard/freespace/profile"
	"github.com/mynacard/freespace/revocation"
)

// demoCard is one simulated card of the demo.
type demoCard struct {
	label string
	card  card.Identifier
}

func cuid(b byte) profile.CUID {
	var c profile.CUID
	for i := range c {
		c[i] = b ^ byte(i*17)
	}
	return c
}

// mockTypeC returns the built-in mock card carrying a personalized Type C
// AP, read through package typec exactly as a card in a PC/SC reader.
func mockTypeC(userID string, c profile.CUID, expires time.Time) (*mockcard.Card, card.Identifier, error) {
	if !expires.IsZero() {
		y, m, d := expires.Date()
		expires = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	mc, err := mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{
		Identity: profile.Identity{UserID: userID, Expires: expires}, CUID: c}))
	if err != nil {
		return nil, nil, err
	}
	return mc, card.TypeC{Transport: mc}, nil
}

// serveCity serves the city server's handler h on ln in the background.
// The returned stop closes the server and returns what went wrong: Serve's
// error unless it is http.ErrServerClosed (the normal end), joined with
// Close's. A server that stops on its own is logged at once, since the
// terminals' uploads then fail.
func serveCity(ln net.Listener, h http.Handler, log *slog.Logger) (stop func() error) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := hs.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("city server stopped", "err", err)
		}
		done <- err
	}()
	return func() error {
		err := hs.Close()
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("city server: %w", serr))
		}
		return err
	}
}

// closeJoin closes c (a database written by the demo) and joins a failure
// to *err.
func closeJoin(err *error, c io.Closer) {
	*err = errors.Join(*err, c.Close())
}

// run is the whole demo; see the package comment.
// demo is one run of the demo: the city server, the revocation list and
// the two cars, in a fresh directory.
type demo struct {
	out     io.Writer
	log     *slog.Logger
	dir     string
	rules   fare.Rules
	token   wire.Token
	now     time.Time
	srv     *server.Server
	baseURL string
	revoked cardap.RevocationChecker
}

// car is one taxi: its terminal, uploader, card slot and trip store.
type car struct {
	t    *terminal.Terminal
	up   *terminal.Uploader
	slot *card.Slot
	st   *terminal.Store
}

// ride is one ride of the story: the car, the cards tapped, the meter.
type ride struct {
	car     *car
	taps    []string
	fareYen int64
}

// run tells the demo's story: residents registered, a revocation list
// delivered, two cars serving rides with the cards of the story, trips
// uploaded (first while offline), and the month's settlement.
func run(ctx context.Context, out io.Writer, opts options) (retErr error) {
	d := &demo{out: out, log: opts.Log, token: wire.Token("demo-terminal-token"), now: time.Now()}
	var err error
	if d.rules, err = loadRules(opts.RulesFile); err != nil {
		return err
	}
	dir, cleanup, err := demoDir(opts.Dir)
	if err != nil {
		return err
	}
	defer cleanup()
	d.dir = dir

	stopCity, err := d.startCity(ctx, opts.Addr)
	if err != nil {
		return err
	}
	defer func() { retErr = errors.Join(retErr, stopCity()) }()
	rs, err := d.openRevocation(ctx)
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, rs)

	carA, err := d.newCar(ctx, "kita-kotsu", "car-12")
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, carA.st)
	carB, err := d.newCar(ctx, "minami-taxi", "car-07")
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, carB.st)
	for _, c := range []*car{carA, carB} {
		if err := c.up.SyncRegistry(ctx); err != nil {
			return fmt.Errorf("registry sync: %w", err)
		}
	}
	fmt.Fprintf(out, "registry synced to both terminals; rules: %s of the fare, cap %d yen per ride, %d yen per person shared, %d rides/day, %d rides/year\n",
		d.rules.Rate, d.rules.CapPerRideYen, d.rules.SharedPerPersonYen, d.rules.RidesPerDay, d.rules.RidesPerYear)

	cards, err := d.cards()
	if err != nil {
		return err
	}
	for i, r := range []ride{
		{carA, []string{"U-0001"}, 2400},
		{carA, []string{"U-0001", "U-0002"}, 3100},
		{carB, []string{"U-0002"}, 1500},
		{carA, []string{"U-0001"}, 1800}, // third ride today: over the daily limit
		{carB, []string{"U-0004", "revoked", "expired", "swapped", "pulled", "noap"}, 2000},
	} {
		if err := d.ride(ctx, i+1, r, cards); err != nil {
			return err
		}
	}
	if err := d.upload(ctx, carA, carB); err != nil {
		return err
	}
	return d.settle(ctx)
}

// loadRules reads the fare rules from file, or returns the defaults.
func loadRules(file string) (fare.Rules, error) {
	if file == "" {
		return fare.Default(), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fare.Rules{}, err
	}
	return fare.ParseRules(b)
}

// demoDir returns the demo's directory: dir, which must be new or empty
// (the story, first rides of the day and a fresh revocation list, needs
// fresh databases), or a temporary one that cleanup removes.
func demoDir(dir string) (_ string, cleanup func(), _ error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "taxifare-")
		if err != nil {
			return "", nil, err
		}
		return tmp, func() { _ = os.RemoveAll(tmp) }, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) > 0 {
		return "", nil, fmt.Errorf("--dir %s must be a new or empty directory (%v)", dir, err)
	}
	return dir, func() {}, nil
}

// startCity opens the city server, serves it on addr and registers the
// residents; U-0001's registration is pinned to its card. stop stops the
// server and closes its database.
func (d *demo) startCity(ctx context.Context, addr string) (stop func() error, err error) {
	srv, err := server.Open(ctx, filepath.Join(d.dir, "city.db"), server.Config{Rules: d.rules, Token: d.token, Log: d.log})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, errors.Join(err, srv.Close())
	}
	stopServing := serveCity(ln, srv.Handler(), d.log)
	stop = func() error { return errors.Join(stopServing(), srv.Close()) }
	d.srv, d.baseURL = srv, "http://"+ln.Addr().String()
	fmt.Fprintf(d.out, "city server listening on %s\n", d.baseURL)
	c1 := cuid(0x01)
	for _, u := range []struct {
		id  string
		pin *profile.CUID
	}{{"U-0001", &c1}, {"U-0002", nil}, {"U-0003", nil}, {"U-0005", nil}} {
		if err := srv.Register(ctx, u.id, u.pin); err != nil {
			return nil, errors.Join(err, stop())
		}
	}
	return stop, nil
}

// openRevocation opens the revocation list as delivered this morning:
// U-0003's card was reported lost.
func (d *demo) openRevocation(ctx context.Context) (*revocation.Store, error) {
	rs, err := revocation.Open(filepath.Join(d.dir, "revocation"), revocation.Options{Logger: d.log})
	if err != nil {
		return nil, err
	}
	if err := rs.Apply(ctx, &revocation.Update{Full: true, Seq: 1, AsOf: d.now.Add(-2 * time.Hour),
		Add: []revocation.Record{{Key: revocation.CUIDKey(cuid(0x03)), RevokedAt: d.now.Add(-26 * time.Hour).Unix(), Reason: revocation.ReasonLost}}}); err != nil {
		return nil, errors.Join(err, rs.Close())
	}
	d.revoked = cardap.RevocationStore(rs)
	return rs, nil
}

// newCar sets up one taxi's terminal with its own trip store.
func (d *demo) newCar(ctx context.Context, company, vehicle string) (*car, error) {
	st, err := terminal.OpenStore(ctx, filepath.Join(d.dir, vehicle+".db"))
	if err != nil {
		return nil, err
	}
	slot := &card.Slot{}
	t, err := terminal.New(terminal.Config{CompanyID: company, VehicleID: vehicle, Rules: d.rules,
		Store: st, Card: slot, Revocation: d.revoked, MaxRevocationAge: 48 * time.Hour, Log: d.log})
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	up := &terminal.Uploader{Store: st, BaseURL: d.baseURL, TerminalID: vehicle, Token: d.token, Log: d.log}
	return &car{t: t, up: up, slot: slot, st: st}, nil
}

// cards makes the simulated cards of the story, by name.
func (d *demo) cards() (map[string]demoCard, error) {
	yearAgo, nextYear := d.now.AddDate(-1, 0, 0), d.now.AddDate(1, 0, 0)
	cards := map[string]demoCard{}
	for _, c := range []struct {
		name, label, userID string
		cuid                profile.CUID
		expires             time.Time
	}{
		{"U-0001", "U-0001's card", "U-0001", cuid(0x01), nextYear},
		{"U-0002", "U-0002's card", "U-0002", cuid(0x02), time.Time{}},
		{"revoked", "U-0003's card (reported lost)", "U-0003", cuid(0x03), nextYear},
		{"U-0004", "U-0004's card (not registered)", "U-0004", cuid(0x04), nextYear},
		{"expired", "U-0005's card (expired)", "U-0005", cuid(0x05), yearAgo},
		{"swapped", "a card claiming U-0001 with another CUID", "U-0001", cuid(0x06), nextYear},
		{"pulled", "U-0002's card pulled away mid-read", "U-0002", cuid(0x02), time.Time{}},
	} {
		mc, id, err := mockTypeC(c.userID, c.cuid, c.expires)
		if err != nil {
			return nil, err
		}
		if c.name == "pulled" {
			mc.RemoveBefore(2) // SELECT AP passes; the card leaves as the next APDU arrives
		}
		cards[c.name] = demoCard{c.label, id}
	}
	noAP, err := mockcard.New()
	if err != nil {
		return nil, err
	}
	cards["noap"] = demoCard{"a card without the Type C AP", card.TypeC{Transport: noAP}}
	return cards, nil
}

// ride runs ride n: each card is tapped and the decision printed, then
// the meter's fare is split between the city and the riders.
func (d *demo) ride(ctx context.Context, n int, r ride, cards map[string]demoCard) error {
	fmt.Fprintf(d.out, "\nride %d (%s):\n", n, vehicleOf(r.car.up))
	rd := r.car.t.StartRide()
	for _, name := range r.taps {
		dc := cards[name]
		r.car.slot.Insert(dc.card)
		dec, err := rd.Tap(ctx)
		r.car.slot.Remove()
		if err != nil {
			return err
		}
		mark := "REFUSED"
		if dec.Accepted() {
			mark = "OK     "
		}
		fmt.Fprintf(d.out, "  tap %-45s %s %s\n", dc.label, mark, dec)
	}
	trip, err := rd.Finish(ctx, r.fareYen)
	if errors.Is(err, terminal.ErrNoRiders) {
		fmt.Fprintf(d.out, "  meter %d yen: no subsidized rider, regular fare, nothing recorded\n", r.fareYen)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "  meter %d yen: city pays %d yen, riders pay %d yen", trip.FareYen, trip.SubsidyYen, trip.PaidYen)
	for _, x := range trip.Riders {
		fmt.Fprintf(d.out, "; %s %d yen", x.UserID, x.SubsidyYen)
	}
	fmt.Fprintf(d.out, " (trip %s recorded)\n", trip.TripID)
	return nil
}

// upload sends the trips: first from car A while the server is
// unreachable (they stay pending), then from every car for real (car A
// twice: the second upload has nothing left).
func (d *demo) upload(ctx context.Context, carA, carB *car) error {
	fmt.Fprintln(d.out)
	offline := *carA.up
	offline.BaseURL = "http://127.0.0.1:1"
	offline.Client = &http.Client{Timeout: 2 * time.Second}
	if _, err := offline.Flush(ctx); err != nil {
		c, err := carA.st.Counts(ctx)
		if err != nil {
			return fmt.Errorf("counting pending trips: %w", err)
		}
		fmt.Fprintf(d.out, "upload from car-12 while offline failed; %d trips stay pending\n", c.Pending)
	}
	for _, c := range []*car{carA, carB, carA} {
		res, err := c.up.Flush(ctx)
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		fmt.Fprintf(d.out, "upload from %s: %d accepted, %d duplicate, %d rejected\n", vehicleOf(c.up), res.Accepted, res.Duplicate, res.Rejected)
	}
	return nil
}

// settle prints the month's settlement as CSV.
func (d *demo) settle(ctx context.Context) error {
	month := d.rules.Month(d.now)
	rows, err := d.srv.Settlement(ctx, month)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nsettlement for %s:\n", month)
	return server.WriteSettlementCSV(d.out, rows)
}

func vehicleOf(u *terminal.Uploader) string { return u.TerminalID }
