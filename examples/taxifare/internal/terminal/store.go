package terminal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mynacard/freespace/examples/taxifare/internal/sqlitedb"
	"github.com/mynacard/freespace/examples/taxifare/internal/wire"
	"github.com/mynacard/freespace/profile"
)

// Upload states of a recorded trip.
const (
	statePending  = 0
	stateUploaded = 1
	stateRejected = 2
)

var storeSchema = []string{
	`CREATE TABLE IF NOT EXISTS trips (
		trip_id       TEXT PRIMARY KEY,
		ended_at      INTEGER NOT NULL,
		payload       BLOB NOT NULL,
		state         INTEGER NOT NULL DEFAULT 0,
		uploaded_at   INTEGER,
		reject_reason TEXT
	)`,
	`CREATE INDEX IF NOT EXISTS trips_pending ON trips(state, ended_at)`,
	`CREATE TABLE IF NOT EXISTS trip_riders (
		trip_id TEXT NOT NULL REFERENCES trips(trip_id),
		seq     INTEGER NOT NULL,
		user_id TEXT NOT NULL,
		day     TEXT NOT NULL,
		year    INTEGER NOT NULL,
		PRIMARY KEY (trip_id, seq)
	)`,
	`CREATE INDEX IF NOT EXISTS trip_riders_user ON trip_riders(user_id, year, day)`,
	`CREATE TABLE IF NOT EXISTS registry (
		user_key   TEXT PRIMARY KEY,
		pin        TEXT,
		rides_day  INTEGER NOT NULL,
		rides_year INTEGER NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS registry_meta (
		id    INTEGER PRIMARY KEY CHECK (id = 1),
		as_of INTEGER NOT NULL,
		day   TEXT NOT NULL,
		year  INTEGER NOT NULL,
		salt  BLOB NOT NULL
	)`,
}

// Store is the terminal's embedded database: recorded trips with their
// upload state, and the registry synced from the server. Every write is one
// transaction committed with synchronous=FULL before the call returns.
type Store struct {
	db *sql.DB
}

// OpenStore opens or creates the terminal database at path.
func OpenStore(ctx context.Context, path string) (*Store, error) {
	db, err := sqlitedb.Open(ctx, path, storeSchema)
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// RecordTrip stores a validated trip as pending upload. day and year are
// the day and counting year the ride counts against for every rider.
func (s *Store) RecordTrip(ctx context.Context, t *wire.Trip, day string, year int) error {
	if err := t.Validate(); err != nil {
		return err
	}
	payload, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("terminal: encoding trip: %w", err)
	}
	return sqlitedb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO trips(trip_id, ended_at, payload) VALUES (?, ?, ?)`,
			t.TripID, t.EndedAt.Unix(), payload); err != nil {
			return fmt.Errorf("terminal: recording trip: %w", err)
		}
		for i, r := range t.Riders {
			if _, err := tx.ExecContext(ctx, `INSERT INTO trip_riders(trip_id, seq, user_id, day, year) VALUES (?, ?, ?, ?, ?)`,
				t.TripID, i, r.UserID, day, year); err != nil {
				return fmt.Errorf("terminal: recording trip rider: %w", err)
			}
		}
		return nil
	})
}

// LocalRides counts the rides of userID recorded on this terminal on day and
// in year, whatever their upload state.
func (s *Store) LocalRides(ctx context.Context, userID, day string, year int) (onDay, inYear int, err error) {
	err = s.db.QueryRowContext(ctx,
		`SELECT COALESCE(SUM(day = ?), 0), COUNT(*) FROM trip_riders WHERE user_id = ? AND year = ?`,
		day, userID, year).Scan(&onDay, &inYear)
	if err != nil {
		return 0, 0, fmt.Errorf("terminal: counting rides: %w", err)
	}
	return onDay, inYear, nil
}

// pendingTrip is a trip waiting for upload, with its stored encoding.
type pendingTrip struct {
	ID      string
	Payload []byte
}

// pending returns up to limit trips waiting for upload, oldest first.
func (s *Store) pending(ctx context.Context, limit int) ([]pendingTrip, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT trip_id, payload FROM trips WHERE state = ? ORDER BY ended_at, trip_id LIMIT ?`, statePending, limit)
	if err != nil {
		return nil, fmt.Errorf("terminal: listing pending trips: %w", err)
	}
	defer rows.Close()
	var out []pendingTrip
	for rows.Next() {
		var p pendingTrip
		if err := rows.Scan(&p.ID, &p.Payload); err != nil {
			return nil, fmt.Errorf("terminal: listing pending trips: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// markResults records the server's answers in one transaction: accepted and
// duplicate trips become uploaded, rejected ones rejected with the reason.
func (s *Store) markResults(ctx context.Context, results []wire.Result, now time.Time) error {
	return sqlitedb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		for _, r := range results {
			var err error
			switch r.Status {
			case wire.StatusAccepted, wire.StatusDuplicate:
				_, err = tx.ExecContext(ctx, `UPDATE trips SET state = ?, uploaded_at = ? WHERE trip_id = ? AND state = ?`,
					stateUploaded, now.Unix(), r.TripID, statePending)
			case wire.StatusRejected:
				_, err = tx.ExecContext(ctx, `UPDATE trips SET state = ?, reject_reason = ? WHERE trip_id = ? AND state = ?`,
					stateRejected, r.Reason, r.TripID, statePending)
			}
			if err != nil {
				return fmt.Errorf("terminal: marking trip %s: %w", r.TripID, err)
			}
		}
		return nil
	})
}

// Counts is how many recorded trips are in each upload state.
type Counts struct {
	Pending, Uploaded, Rejected int
}

// Counts returns the number of trips per upload state.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(state = 0), 0), COALESCE(SUM(state = 1), 0), COALESCE(SUM(state = 2), 0) FROM trips`).
		Scan(&c.Pending, &c.Uploaded, &c.Rejected)
	if err != nil {
		return Counts{}, fmt.Errorf("terminal: counting trips: %w", err)
	}
	return c, nil
}

// Trips returns every recorded trip, oldest first.
func (s *Store) Trips(ctx context.Context) ([]wire.Trip, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT payload FROM trips ORDER BY ended_at, trip_id`)
	if err != nil {
		return nil, fmt.Errorf("terminal: listing trips: %w", err)
	}
	defer rows.Close()
	var out []wire.Trip
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		var t wire.Trip
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("terminal: stored trip does not decode: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ReplaceRegistry replaces the local registry with reg in one transaction.
func (s *Store) ReplaceRegistry(ctx context.Context, reg *wire.Registry) error {
	if err := reg.Validate(); err != nil {
		return err
	}
	return sqlitedb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM registry`); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO registry(user_key, pin, rides_day, rides_year) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, u := range reg.Users {
			var pin any
			if u.Pin != "" {
				pin = u.Pin
			}
			if _, err := stmt.ExecContext(ctx, u.Key, pin, u.RidesDay, u.RidesYear); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO registry_meta(id, as_of, day, year, salt) VALUES (1, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET as_of = excluded.as_of, day = excluded.day, year = excluded.year, salt = excluded.salt`,
			reg.AsOf.Unix(), reg.Day, reg.Year, reg.Salt)
		return err
	})
}

// registration is what the local registry says about one user.
type registration struct {
	pin       string // wire.PinKey of the pinned card; "" when not pinned
	salt      []byte // the registry's salt
	RidesDay  int    // rides counted by the server on other terminals on RegDay
	RidesYear int    // ... in RegYear
	RegDay    string
	RegYear   int
	AsOf      time.Time
}

// matches reports whether card c may be used for userID's registration:
// the registration is not pinned, or pinned to c.
func (r registration) matches(userID string, c profile.CUID) bool {
	return r.pin == "" || r.pin == wire.PinKey(r.salt, userID, c)
}

// errNotRegistered is returned by lookup for a user not in the registry.
var errNotRegistered = errors.New("terminal: user not registered")

// lookup finds userID in the local registry (by its key under the
// registry's salt).
func (s *Store) lookup(ctx context.Context, userID string) (registration, error) {
	var r registration
	var asOf int64
	err := s.db.QueryRowContext(ctx, `SELECT day, year, as_of, salt FROM registry_meta WHERE id = 1`).
		Scan(&r.RegDay, &r.RegYear, &asOf, &r.salt)
	if errors.Is(err, sql.ErrNoRows) {
		return registration{}, errNotRegistered // never synced: nobody is registered
	}
	if err != nil {
		return registration{}, fmt.Errorf("terminal: registry lookup: %w", err)
	}
	var pin sql.NullString
	err = s.db.QueryRowContext(ctx, `SELECT pin, rides_day, rides_year FROM registry WHERE user_key = ?`,
		wire.UserKey(r.salt, userID)).Scan(&pin, &r.RidesDay, &r.RidesYear)
	if errors.Is(err, sql.ErrNoRows) {
		return registration{}, errNotRegistered
	}
	if err != nil {
		return registration{}, fmt.Errorf("terminal: registry lookup: %w", err)
	}
	r.pin = pin.String
	r.AsOf = time.Unix(asOf, 0).UTC()
	return r, nil
}
