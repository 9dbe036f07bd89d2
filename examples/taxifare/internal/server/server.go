// Package server is the city server of the taxi-fare example: it keeps the
// registry of subsidized users, accepts trip uploads from the in-car
// terminals (idempotently: a trip ID is stored once), and produces the
// monthly settlement per taxi company as CSV, in integer yen.
//
// HTTP API (Handler):
//
//	POST /v1/trips                  wire.UploadRequest → wire.UploadResponse
//	GET  /v1/registry?terminal=ID   wire.Registry
//	GET  /v1/settlement?month=YYYY-MM   text/csv
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mynacard/freespace/examples/taxifare/internal/fare"
	"github.com/mynacard/freespace/examples/taxifare/internal/sqlitedb"
	"github.com/mynacard/freespace/examples/taxifare/internal/wire"
	"github.com/mynacard/freespace/profile"
)

var schema = []string{
	`CREATE TABLE IF NOT EXISTS users (
		user_id TEXT PRIMARY KEY,
		cuid    TEXT
	)`,
	`CREATE TABLE IF NOT EXISTS trips (
		trip_id      TEXT PRIMARY KEY,
		terminal_id  TEXT NOT NULL,
		company_id   TEXT NOT NULL,
		vehicle_id   TEXT NOT NULL,
		started_at   INTEGER NOT NULL,
		ended_at     INTEGER NOT NULL,
		month        TEXT NOT NULL,
		fare_yen     INTEGER NOT NULL,
		subsidy_yen  INTEGER NOT NULL,
		paid_yen     INTEGER NOT NULL,
		riders       INTEGER NOT NULL,
		content_hash TEXT NOT NULL,
		received_at  INTEGER NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS trips_month ON trips(month, company_id)`,
	`CREATE TABLE IF NOT EXISTS trip_riders (
		trip_id     TEXT NOT NULL REFERENCES trips(trip_id),
		seq         INTEGER NOT NULL,
		user_id     TEXT NOT NULL,
		cuid        TEXT NOT NULL,
		subsidy_yen INTEGER NOT NULL,
		day         TEXT NOT NULL,
		year        INTEGER NOT NULL,
		PRIMARY KEY (trip_id, seq)
	)`,
	`CREATE INDEX IF NOT EXISTS trip_riders_user ON trip_riders(user_id, year, day)`,
}

// Config configures a Server.
type Config struct {
	Rules fare.Rules       // for days, years and months (the zone and year start)
	Token wire.Token       // required bearer token; empty: none
	Now   func() time.Time // default time.Now
	Log   *slog.Logger     // default slog.Default()
}

// Server is the city server. It is safe for concurrent use.
type Server struct {
	db  *sql.DB
	cfg Config
}

// Open opens or creates the server database at path.
func Open(ctx context.Context, path string, cfg Config) (*Server, error) {
	if err := cfg.Rules.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	db, err := sqlitedb.Open(ctx, path, schema)
	if err != nil {
		return nil, err
	}
	return &Server{db: db, cfg: cfg}, nil
}

// Close closes the database.
func (s *Server) Close() error { return s.db.Close() }

// Register adds or updates a subsidized user; cuid, when not nil, pins the
// registration to that card.
func (s *Server) Register(ctx context.Context, userID string, cuid *profile.CUID) error {
	if err := (profile.Identity{UserID: userID}).Validate(); err != nil {
		return err
	}
	var c any
	if cuid != nil {
		if cuid.IsZero() {
			return profile.ErrInvalidCUID
		}
		c = cuid.String()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO users(user_id, cuid) VALUES (?, ?)
		ON CONFLICT(user_id) DO UPDATE SET cuid = excluded.cuid`, userID, c)
	return err
}

// Ingest stores the trips of a validated request and returns one result per
// trip: accepted (stored now), duplicate (stored before with identical
// content) or rejected (a trip ID already stored with other content). All
// trips of the request are stored in one transaction.
func (s *Server) Ingest(ctx context.Context, req *wire.UploadRequest) ([]wire.Result, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	results := make([]wire.Result, len(req.Trips))
	err := sqlitedb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		for i := range req.Trips {
			t := &req.Trips[i]
			h := contentHash(req.TerminalID, t)
			results[i].TripID = t.TripID
			var have string
			err := tx.QueryRowContext(ctx, `SELECT content_hash FROM trips WHERE trip_id = ?`, t.TripID).Scan(&have)
			switch {
			case err == nil && have == h:
				results[i].Status = wire.StatusDuplicate
				continue
			case err == nil:
				results[i].Status, results[i].Reason = wire.StatusRejected, "conflict: trip ID already used for another trip"
				continue
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO trips(trip_id, terminal_id, company_id, vehicle_id,
				started_at, ended_at, month, fare_yen, subsidy_yen, paid_yen, riders, content_hash, received_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				t.TripID, req.TerminalID, t.CompanyID, t.VehicleID, t.StartedAt.Unix(), t.EndedAt.Unix(),
				s.cfg.Rules.Month(t.EndedAt), t.FareYen, t.SubsidyYen, t.PaidYen, len(t.Riders), h, now.Unix()); err != nil {
				return err
			}
			day, year := s.cfg.Rules.Day(t.StartedAt), s.cfg.Rules.Year(t.StartedAt)
			for j, r := range t.Riders {
				if _, err := tx.ExecContext(ctx, `INSERT INTO trip_riders(trip_id, seq, user_id, cuid, subsidy_yen, day, year)
					VALUES (?, ?, ?, ?, ?, ?, ?)`, t.TripID, j, r.UserID, r.CUID.String(), r.SubsidyYen, day, year); err != nil {
					return err
				}
			}
			results[i].Status = wire.StatusAccepted
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("server: storing trips: %w", err)
	}
	return results, nil
}

// contentHash identifies a trip's content (with the terminal that sent it)
// independently of its JSON encoding.
func contentHash(terminal string, t *wire.Trip) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q|%q|%q|%q|%d|%d|%d|%d|%d", terminal, t.TripID, t.CompanyID, t.VehicleID,
		t.StartedAt.UnixNano(), t.EndedAt.UnixNano(), t.FareYen, t.SubsidyYen, t.PaidYen)
	for _, r := range t.Riders {
		fmt.Fprintf(h, "|%q|%s|%d", r.UserID, r.CUID, r.SubsidyYen)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Registry returns every registered user with their rides on other
// terminals than terminalID, counted for the current day and year.
func (s *Server) Registry(ctx context.Context, terminalID string) (*wire.Registry, error) {
	now := s.cfg.Now()
	reg := &wire.Registry{AsOf: now.UTC().Truncate(time.Second), Day: s.cfg.Rules.Day(now), Year: s.cfg.Rules.Year(now), Users: []wire.RegisteredUser{}}
	rows, err := s.db.QueryContext(ctx, `SELECT u.user_id, u.cuid,
		(SELECT COUNT(*) FROM trip_riders r JOIN trips t ON t.trip_id = r.trip_id
		  WHERE r.user_id = u.user_id AND r.year = ?2 AND r.day = ?1 AND t.terminal_id <> ?3),
		(SELECT COUNT(*) FROM trip_riders r JOIN trips t ON t.trip_id = r.trip_id
		  WHERE r.user_id = u.user_id AND r.year = ?2 AND t.terminal_id <> ?3)
		FROM users u ORDER BY u.user_id`, reg.Day, reg.Year, terminalID)
	if err != nil {
		return nil, fmt.Errorf("server: reading the registry: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u wire.RegisteredUser
		var cuid sql.NullString
		if err := rows.Scan(&u.UserID, &cuid, &u.RidesDay, &u.RidesYear); err != nil {
			return nil, fmt.Errorf("server: reading the registry: %w", err)
		}
		if cuid.Valid {
			c, err := profile.ParseCUID(cuid.String)
			if err != nil {
				return nil, fmt.Errorf("server: registry holds a bad CUID: %w", err)
			}
			u.CUID = &c
		}
		reg.Users = append(reg.Users, u)
	}
	return reg, rows.Err()
}

// SettlementRow is the settlement of one taxi company for one month.
type SettlementRow struct {
	Month      string // YYYY-MM
	CompanyID  string
	Trips      int64
	Riders     int64
	FareYen    int64
	SubsidyYen int64 // what the city pays the company
	PaidYen    int64 // what the riders paid
}

// SettlementHeader is the first line of the settlement CSV.
var SettlementHeader = []string{"month", "company_id", "trips", "riders", "fare_yen", "subsidy_yen", "passenger_paid_yen"}

// ErrBadMonth is returned by Settlement for a month that is not YYYY-MM.
var ErrBadMonth = errors.New("server: month is not YYYY-MM")

// Settlement returns the settlement of month (YYYY-MM, in the rules' zone,
// by the trip's end time) per company, ordered by company ID.
func (s *Server) Settlement(ctx context.Context, month string) ([]SettlementRow, error) {
	if _, err := time.Parse("2006-01", month); err != nil || len(month) != 7 {
		return nil, fmt.Errorf("%w: %.10q", ErrBadMonth, month)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT company_id, COUNT(*), SUM(riders), SUM(fare_yen), SUM(subsidy_yen), SUM(paid_yen)
		FROM trips WHERE month = ? GROUP BY company_id ORDER BY company_id`, month)
	if err != nil {
		return nil, fmt.Errorf("server: settlement: %w", err)
	}
	defer rows.Close()
	var out []SettlementRow
	for rows.Next() {
		r := SettlementRow{Month: month}
		if err := rows.Scan(&r.CompanyID, &r.Trips, &r.Riders, &r.FareYen, &r.SubsidyYen, &r.PaidYen); err != nil {
			return nil, fmt.Errorf("server: settlement: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// WriteSettlementCSV writes rows as CSV with SettlementHeader.
func WriteSettlementCSV(w io.Writer, rows []SettlementRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(SettlementHeader); err != nil {
		return err
	}
	i := strconv.FormatInt
	for _, r := range rows {
		if err := cw.Write([]string{r.Month, r.CompanyID, i(r.Trips, 10), i(r.Riders, 10),
			i(r.FareYen, 10), i(r.SubsidyYen, 10), i(r.PaidYen, 10)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// TripIDs returns the IDs of every stored trip, sorted.
func (s *Server) TripIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT trip_id FROM trips ORDER BY trip_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/trips", s.handleTrips)
	mux.HandleFunc("GET /v1/registry", s.handleRegistry)
	mux.HandleFunc("GET /v1/settlement", s.handleSettlement)
	return s.auth(mux)
}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) != 1 {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleTrips(w http.ResponseWriter, r *http.Request) {
	req, err := wire.ParseUploadRequest(http.MaxBytesReader(w, r.Body, wire.MaxRequestBytes+1))
	if err != nil {
		s.cfg.Log.WarnContext(r.Context(), "upload refused", "error", err)
		http.Error(w, "bad upload request: "+err.Error(), http.StatusBadRequest)
		return
	}
	results, err := s.Ingest(r.Context(), req)
	if err != nil {
		s.cfg.Log.ErrorContext(r.Context(), "upload failed", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.writeJSON(w, r, wire.UploadResponse{Results: results})
}

func (s *Server) handleRegistry(w http.ResponseWriter, r *http.Request) {
	term := r.URL.Query().Get("terminal")
	if !wire.ValidID(term) {
		http.Error(w, "bad terminal ID", http.StatusBadRequest)
		return
	}
	reg, err := s.Registry(r.Context(), term)
	if err != nil {
		s.cfg.Log.ErrorContext(r.Context(), "registry failed", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.writeJSON(w, r, reg)
}

func (s *Server) handleSettlement(w http.ResponseWriter, r *http.Request) {
	rows, err := s.Settlement(r.Context(), r.URL.Query().Get("month"))
	if errors.Is(err, ErrBadMonth) {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err != nil {
		s.cfg.Log.ErrorContext(r.Context(), "settlement failed", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	if err := WriteSettlementCSV(w, rows); err != nil {
		s.cfg.Log.WarnContext(r.Context(), "writing settlement", "error", err)
	}
}

// writeJSON writes v as the answer. A failed write (the terminal went
// away) is logged: for an upload the trips are stored, and the terminal's
// repeat is answered "duplicate".
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.cfg.Log.WarnContext(r.Context(), "writing the answer failed", "path", r.URL.Path, "error", err)
	}
}
