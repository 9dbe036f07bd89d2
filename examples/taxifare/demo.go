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

	"github.com/mynacard/freespace/examples/internal/demo"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/examples/taxifare/internal/card"
	"github.com/mynacard/freespace/examples/taxifare/internal/fare"
	"github.com/mynacard/freespace/examples/taxifare/internal/server"
	"github.com/mynacard/freespace/examples/taxifare/internal/terminal"
	"github.com/mynacard/freespace/keys"
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

// mockTypeA returns the built-in mock card carrying a personalized Type A
// AP loaded with keys diversified from masters, read through client (mutual
// authentication, then the identity under secure messaging) exactly as a
// card in a PC/SC reader.
func mockTypeA(masters keys.Provider, client *cardap.Client, userID string, c profile.CUID, expires time.Time) (*mockcard.Card, card.Identifier, error) {
	if !expires.IsZero() {
		y, m, d := expires.Date()
		expires = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	id := profile.Identity{UserID: userID, Expires: expires}
	mc, err := mockcard.New(mockcard.WithTypeA(mockcard.TypeA{Identity: id, CUID: c, Keys: mockcard.APKeys{Masters: masters}}))
	if err != nil {
		return nil, nil, err
	}
	return mc, card.Cardap{Client: client, Transport: mc}, nil
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
func run(ctx context.Context, out io.Writer, opts options) (retErr error) {
	rules := fare.Default()
	if opts.RulesFile != "" {
		b, err := os.ReadFile(opts.RulesFile)
		if err != nil {
			return err
		}
		if rules, err = fare.ParseRules(b); err != nil {
			return err
		}
	}
	dir := opts.Dir
	if dir != "" {
		// The demo's story (first rides of the day, a fresh revocation
		// list) needs fresh databases.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if ents, err := os.ReadDir(dir); err != nil || len(ents) > 0 {
			return fmt.Errorf("--dir %s must be a new or empty directory (%v)", dir, err)
		}
	} else {
		tmp, err := os.MkdirTemp("", "taxifare-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	log := opts.Log

	// The city server.
	srv, err := server.Open(ctx, filepath.Join(dir, "city.db"), server.Config{Rules: rules, Log: log})
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, srv)
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	stopCity := serveCity(ln, srv.Handler(), log)
	defer func() { retErr = errors.Join(retErr, stopCity()) }()
	baseURL := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "city server listening on %s\n", baseURL)

	// Registered residents; U-0001's registration is pinned to its card.
	now := time.Now()
	yearAgo, nextYear := now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)
	c1 := cuid(0x01)
	for _, u := range []struct {
		id  string
		pin *profile.CUID
	}{{"U-0001", &c1}, {"U-0002", nil}, {"U-0003", nil}, {"U-0005", nil}} {
		if err := srv.Register(ctx, u.id, u.pin); err != nil {
			return err
		}
	}
	// The revocation list as delivered this morning: U-0003's card was
	// reported lost.
	rs, err := revocation.Open(filepath.Join(dir, "revocation"), revocation.Options{Logger: log})
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, rs)
	if err := rs.Apply(ctx, &revocation.Update{Full: true, Seq: 1, AsOf: now.Add(-2 * time.Hour),
		Add: []revocation.Record{{Key: revocation.CUIDKey(cuid(0x03)), RevokedAt: now.Add(-26 * time.Hour).Unix(), Reason: revocation.ReasonLost}}}); err != nil {
		return err
	}
	revoked := cardap.RevocationStore(rs)

	type car struct {
		t    *terminal.Terminal
		up   *terminal.Uploader
		slot *card.Slot
		st   *terminal.Store
	}
	newCar := func(company, vehicle string) (*car, error) {
		st, err := terminal.OpenStore(ctx, filepath.Join(dir, vehicle+".db"))
		if err != nil {
			return nil, err
		}
		slot := &card.Slot{}
		t, err := terminal.New(terminal.Config{CompanyID: company, VehicleID: vehicle, Rules: rules,
			Store: st, Card: slot, Revocation: revoked, MaxRevocationAge: 48 * time.Hour, Log: log})
		if err != nil {
			return nil, errors.Join(err, st.Close())
		}
		// Each terminal has its own token, which the server maps to this
		// vehicle and company: a terminal can act only as itself.
		token, err := srv.EnrollTerminal(ctx, vehicle, company)
		if err != nil {
			return nil, errors.Join(err, st.Close())
		}
		up := &terminal.Uploader{Store: st, BaseURL: baseURL, TerminalID: vehicle, Token: token, Log: log}
		return &car{t: t, up: up, slot: slot, st: st}, nil
	}
	carA, err := newCar("kita-kotsu", "car-12")
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, carA.st)
	carB, err := newCar("minami-taxi", "car-07")
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
		rules.Rate, rules.CapPerRideYen, rules.SharedPerPersonYen, rules.RidesPerDay, rules.RidesPerYear)

	// The operator's keys, made in memory; the terminals read only cards
	// that prove themselves with them.
	masters, err := demo.OperatorKeys()
	if err != nil {
		return err
	}
	defer masters.Zero()
	client, err := card.NewClient(masters, nil)
	if err != nil {
		return err
	}
	cards := map[string]demoCard{}
	for _, c := range []struct {
		name, label, userID string
		cuid                profile.CUID
		expires             time.Time
	}{
		{"U-0001", "U-0001's card", "U-0001", c1, nextYear},
		{"U-0002", "U-0002's card", "U-0002", cuid(0x02), time.Time{}},
		{"revoked", "U-0003's card (reported lost)", "U-0003", cuid(0x03), nextYear},
		{"U-0004", "U-0004's card (not registered)", "U-0004", cuid(0x04), nextYear},
		{"expired", "U-0005's card (expired)", "U-0005", cuid(0x05), yearAgo},
		{"swapped", "a card claiming U-0001 with another CUID", "U-0001", cuid(0x06), nextYear},
		{"pulled", "U-0002's card pulled away mid-read", "U-0002", cuid(0x02), time.Time{}},
	} {
		mc, id, err := mockTypeA(masters, client, c.userID, c.cuid, c.expires)
		if err != nil {
			return err
		}
		if c.name == "pulled" {
			// SELECT AP passes; the card leaves as the next APDU arrives.
			if err := mc.Inject(mockcard.RemoveBefore(2)); err != nil {
				return err
			}
		}
		cards[c.name] = demoCard{c.label, id}
	}
	noAP, err := mockcard.New()
	if err != nil {
		return err
	}
	cards["noap"] = demoCard{"a card without the Type A AP", card.Cardap{Client: client, Transport: noAP}}
	// Anyone can read U-0002's Type C AP (no keys) and copy it, CUID and
	// all, to a blank card or a phone: it proves nothing.
	clone, err := mockcard.New(mockcard.WithTypeCConfig(mockcard.TypeC{Identity: profile.Identity{UserID: "U-0002"}, CUID: cuid(0x02)}))
	if err != nil {
		return err
	}
	cards["clone"] = demoCard{"a Type C copy of U-0002's card", card.TypeC{Transport: clone}}
	rides := []struct {
		car     *car
		taps    []string
		fareYen int64
	}{
		{carA, []string{"U-0001"}, 2400},
		{carA, []string{"U-0001", "U-0002"}, 3100},
		{carB, []string{"U-0002"}, 1500},
		{carA, []string{"U-0001"}, 1800}, // third ride today: over the daily limit
		{carB, []string{"U-0004", "revoked", "expired", "swapped", "pulled", "noap", "clone"}, 2000},
	}
	for i, r := range rides {
		fmt.Fprintf(out, "\nride %d (%s):\n", i+1, vehicleOf(r.car.up))
		ride := r.car.t.StartRide()
		for _, name := range r.taps {
			dc := cards[name]
			r.car.slot.Insert(dc.card)
			d, err := ride.Tap(ctx)
			r.car.slot.Remove()
			if err != nil {
				return err
			}
			mark := "REFUSED"
			if d.Accepted() {
				mark = "OK     "
			}
			fmt.Fprintf(out, "  tap %-45s %s %s\n", dc.label, mark, d)
		}
		trip, err := ride.Finish(ctx, r.fareYen)
		if errors.Is(err, terminal.ErrNoRiders) {
			fmt.Fprintf(out, "  meter %d yen: no subsidized rider, regular fare, nothing recorded\n", r.fareYen)
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  meter %d yen: city pays %d yen, riders pay %d yen", trip.FareYen, trip.SubsidyYen, trip.PaidYen)
		for _, x := range trip.Riders {
			fmt.Fprintf(out, "; %s %d yen", x.UserID, x.SubsidyYen)
		}
		fmt.Fprintf(out, " (trip %s recorded)\n", trip.TripID)
	}

	// Upload: first while the server is unreachable, then for real.
	fmt.Fprintln(out)
	offline := *carA.up
	offline.BaseURL = "http://127.0.0.1:1"
	offline.Client = &http.Client{Timeout: 2 * time.Second}
	if _, err := offline.Flush(ctx); err != nil {
		c, err := carA.st.Counts(ctx)
		if err != nil {
			return fmt.Errorf("counting pending trips: %w", err)
		}
		fmt.Fprintf(out, "upload from car-12 while offline failed; %d trips stay pending\n", c.Pending)
	}
	for _, c := range []*car{carA, carB, carA} {
		res, err := c.up.Flush(ctx)
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		fmt.Fprintf(out, "upload from %s: %d accepted, %d duplicate, %d rejected\n", vehicleOf(c.up), res.Accepted, res.Duplicate, res.Rejected)
	}

	month := rules.Month(now)
	rows, err := srv.Settlement(ctx, month)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nsettlement for %s:\n", month)
	return server.WriteSettlementCSV(out, rows)
}

func vehicleOf(u *terminal.Uploader) string { return u.TerminalID }
