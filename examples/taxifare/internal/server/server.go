// Package server is the city server of the taxi-fare example: it keeps the
// registry of subsidized users and of the in-car terminals, accepts trip
// uploads from the terminals (idempotently: a trip ID is stored once), and
// produces the monthly settlement per taxi company as CSV, in integer yen.
//
// Every terminal has its own bearer token (EnrollTerminal), which the
// server maps to that terminal's ID and company; the server keeps only the
// token's SHA-256. A terminal acts only as itself: its uploads carry its
// own ID, company and vehicle, it reads the settlement of its own company
// only, and the registry it syncs names no user and no CUID in clear
// (wire.RegisteredUser). The server does not trust a terminal's
// application of the rules: it re-checks every trip against the rules it
// holds (rider registration and CUID pin, the subsidy the fare rules give,
// the daily and yearly ride limits, closed months, the clock) and rejects
// a trip that breaks one.
//
// HTTP API (Handler), every call with "Authorization: Bearer <token>":
//
//	POST /v1/trips                      wire.UploadRequest → wire.UploadResponse
//	GET  /v1/registry                   wire.Registry (counts exclude the caller's trips)
//	GET  /v1/settlement?month=YYYY-MM   text/csv, the caller's company only
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
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
	`CREATE TABLE IF NOT EXISTS terminals (
		token_hash  TEXT PRIMARY KEY,
		terminal_id TEXT NOT NULL UNIQUE,
		company_id  TEXT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS closed_months (
		month     TEXT PRIMARY KEY,
		closed_at INTEGER NOT NULL
	)`,
}

// Config configures a Server.
type Config struct {
	// Rules are the subsidy rules every trip is checked against, and the
	// zone and year start that days, years and months are counted in.
	Rules fare.Rules
	// MaxClockSkew is how far in the future a trip may end (terminal
	// clocks drift); default 5 minutes.
	MaxClockSkew time.Duration
	Now          func() time.Time // default time.Now
	Rand         io.Reader        // for tokens and registry salts; default crypto/rand
	Log          *slog.Logger     // default slog.Default()
}

// Terminal is an enrolled in-car terminal: what its token stands for.
type Terminal struct {
	ID        string // the terminal (and vehicle) ID
	CompanyID string // the taxi company it settles for
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
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = 5 * time.Minute
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

// ErrTerminalExists is returned by EnrollTerminal for a terminal ID
// already enrolled.
var ErrTerminalExists = errors.New("server: terminal already enrolled")

// EnrollTerminal registers a terminal of companyID and returns its bearer
// token, 32 random bytes in hex, shown only this once (the server keeps
// its SHA-256).
func (s *Server) EnrollTerminal(ctx context.Context, terminalID, companyID string) (wire.Token, error) {
	if !wire.ValidID(terminalID) || !wire.ValidID(companyID) {
		return "", errors.New("server: terminal and company IDs must be 1..64 of A-Z a-z 0-9 . _ -")
	}
	var b [32]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("server: reading randomness for a token: %w", err)
	}
	tok := wire.Token(hex.EncodeToString(b[:]))
	clear(b[:])
	err := sqlitedb.InTx(ctx, s.db, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM terminals WHERE terminal_id = ?`, terminalID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s", ErrTerminalExists, terminalID)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO terminals(token_hash, terminal_id, company_id) VALUES (?, ?, ?)`,
			tokenHash(tok), terminalID, companyID)
		return err
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}

// tokenHash is the stored form of a token.
func tokenHash(tok wire.Token) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// errUnknownToken is returned by terminalOf for a token of no terminal.
var errUnknownToken = errors.New("server: unknown terminal token")

// terminalOf returns the terminal a token was issued to. The lookup is by
// the token's SHA-256: its timing tells nothing about the token.
func (s *Server) terminalOf(ctx context.Context, tok string) (Terminal, error) {
	var t Terminal
	err := s.db.QueryRowContext(ctx, `SELECT terminal_id, company_id FROM terminals WHERE token_hash = ?`,
		tokenHash(wire.Token(tok))).Scan(&t.ID, &t.CompanyID)
	if errors.Is(err, sql.ErrNoRows) {
		return Terminal{}, errUnknownToken
	}
	return t, err
}

// CloseMonth settles month (YYYY-MM): from now on a trip ending in it is
// rejected (a trip arriving after the settlement would never be paid, or
// would change what was paid).
func (s *Server) CloseMonth(ctx context.Context, month string) error {
	if err := checkMonth(month); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO closed_months(month, closed_at) VALUES (?, ?) ON CONFLICT(month) DO NOTHING`,
		month, s.cfg.Now().Unix())
	return err
}

// ErrForbidden is returned by Ingest for a request that names another
// terminal than the one that sent it.
var ErrForbidden = errors.New("server: a terminal may act only as itself")

// Ingest stores the trips that term uploaded and returns one result per
// trip: accepted (stored now), duplicate (stored before with identical
// content) or rejected, with the reason: a trip ID already stored with
// other content, or a trip that breaks a rule the server holds (checkTrip).
// All trips of the request are stored in one transaction, each checked
// against the trips stored before it (the ride limits count them).
func (s *Server) Ingest(ctx context.Context, term Terminal, req *wire.UploadRequest) ([]wire.Result, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if req.TerminalID != term.ID {
		return nil, fmt.Errorf("%w: request of terminal %s sent by %s", ErrForbidden, req.TerminalID, term.ID)
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
			reason, err := s.checkTrip(ctx, tx, term, t, now)
			if err != nil {
				return err
			}
			if reason != "" {
				results[i].Status, results[i].Reason = wire.StatusRejected, reason
				s.cfg.Log.WarnContext(ctx, "trip rejected", "terminal", term.ID, "trip", t.TripID, "reason", reason)
				continue
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

// checkTrip re-checks a new trip of term against every rule the server
// holds and returns why it is rejected, or "" when it passes: the trip is
// term's own (vehicle and company), it ends neither in the future nor in a
// closed month, its subsidy and each rider's share are exactly what the
// rules give for its fare and riders, every rider is registered (with the
// pinned card, when pinned) and within the daily and yearly ride limits,
// counting the trips stored so far. An error is a failure of the database.
func (s *Server) checkTrip(ctx context.Context, tx *sql.Tx, term Terminal, t *wire.Trip, now time.Time) (string, error) {
	switch {
	case t.VehicleID != term.ID:
		return fmt.Sprintf("trip of vehicle %s uploaded by terminal %s", t.VehicleID, term.ID), nil
	case t.CompanyID != term.CompanyID:
		return fmt.Sprintf("trip of company %s uploaded by a terminal of %s", t.CompanyID, term.CompanyID), nil
	case t.EndedAt.After(now.Add(s.cfg.MaxClockSkew)):
		return "trip ends in the future", nil
	}
	month := s.cfg.Rules.Month(t.EndedAt)
	var closed int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM closed_months WHERE month = ?`, month).Scan(&closed); err != nil {
		return "", err
	}
	if closed > 0 {
		return fmt.Sprintf("month %s is settled", month), nil
	}
	split, err := s.cfg.Rules.Compute(t.FareYen, len(t.Riders))
	if err != nil {
		return fmt.Sprintf("the rules refuse the trip: %v", err), nil
	}
	if t.SubsidyYen != split.SubsidyYen {
		return fmt.Sprintf("subsidy %d yen, the rules give %d yen", t.SubsidyYen, split.SubsidyYen), nil
	}
	day, year := s.cfg.Rules.Day(t.StartedAt), s.cfg.Rules.Year(t.StartedAt)
	for i, r := range t.Riders {
		if r.SubsidyYen != split.SharesYen[i] {
			return fmt.Sprintf("rider %d: share %d yen, the rules give %d yen", i, r.SubsidyYen, split.SharesYen[i]), nil
		}
		var pin sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT cuid FROM users WHERE user_id = ?`, r.UserID).Scan(&pin)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Sprintf("rider %s is not registered", r.UserID), nil
		}
		if err != nil {
			return "", err
		}
		if pin.Valid && pin.String != r.CUID.String() {
			return fmt.Sprintf("rider %s is registered to another card", r.UserID), nil
		}
		var onDay, inYear int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(day = ?), 0), COUNT(*) FROM trip_riders WHERE user_id = ? AND year = ?`,
			day, r.UserID, year).Scan(&onDay, &inYear); err != nil {
			return "", err
		}
		if s.cfg.Rules.RidesPerDay > 0 && onDay >= s.cfg.Rules.RidesPerDay {
			return fmt.Sprintf("rider %s has used up the %d subsidized rides of %s", r.UserID, s.cfg.Rules.RidesPerDay, day), nil
		}
		if s.cfg.Rules.RidesPerYear > 0 && inYear >= s.cfg.Rules.RidesPerYear {
			return fmt.Sprintf("rider %s has used up the %d subsidized rides of year %d", r.UserID, s.cfg.Rules.RidesPerYear, year), nil
		}
	}
	return "", nil
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

// Registry returns every registered user, as keyed hashes under a fresh
// salt (wire.RegisteredUser), with their rides on other terminals than
// terminalID, counted for the current day and year.
func (s *Server) Registry(ctx context.Context, terminalID string) (*wire.Registry, error) {
	now := s.cfg.Now()
	salt := make([]byte, wire.SaltBytes)
	if _, err := io.ReadFull(s.cfg.Rand, salt); err != nil {
		return nil, fmt.Errorf("server: reading randomness for the registry: %w", err)
	}
	reg := &wire.Registry{AsOf: now.UTC().Truncate(time.Second), Day: s.cfg.Rules.Day(now), Year: s.cfg.Rules.Year(now),
		Salt: salt, Users: []wire.RegisteredUser{}}
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
		var userID string
		var cuid sql.NullString
		if err := rows.Scan(&userID, &cuid, &u.RidesDay, &u.RidesYear); err != nil {
			return nil, fmt.Errorf("server: reading the registry: %w", err)
		}
		u.Key = wire.UserKey(salt, userID)
		if cuid.Valid {
			c, err := profile.ParseCUID(cuid.String)
			if err != nil {
				return nil, fmt.Errorf("server: registry holds a bad CUID: %w", err)
			}
			u.Pin = wire.PinKey(salt, userID, c)
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

func checkMonth(month string) error {
	if _, err := time.Parse("2006-01", month); err != nil || len(month) != 7 {
		return fmt.Errorf("%w: %.10q", ErrBadMonth, month)
	}
	return nil
}

// Settlement returns the settlement of month (YYYY-MM, in the rules' zone,
// by the trip's end time) per company, ordered by company ID: the city's
// view. A terminal reads its own company's row only (CompanySettlement,
// through the HTTP API).
func (s *Server) Settlement(ctx context.Context, month string) ([]SettlementRow, error) {
	return s.settlement(ctx, month, "")
}

// CompanySettlement is the settlement of month for companyID alone: no
// row when it has no trip that month.
func (s *Server) CompanySettlement(ctx context.Context, month, companyID string) ([]SettlementRow, error) {
	if companyID == "" {
		return nil, errors.New("server: no company")
	}
	return s.settlement(ctx, month, companyID)
}

// settlement is Settlement for every company (companyID "") or one.
func (s *Server) settlement(ctx context.Context, month, companyID string) ([]SettlementRow, error) {
	if err := checkMonth(month); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT company_id, COUNT(*), SUM(riders), SUM(fare_yen), SUM(subsidy_yen), SUM(paid_yen)
		FROM trips WHERE month = ?1 AND (?2 = '' OR company_id = ?2) GROUP BY company_id ORDER BY company_id`, month, companyID)
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

// Handler returns the HTTP API. Every request must carry a terminal's
// token; the terminal it belongs to is the only one the request may act as.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/trips", s.handleTrips)
	mux.HandleFunc("GET /v1/registry", s.handleRegistry)
	mux.HandleFunc("GET /v1/settlement", s.handleSettlement)
	return s.auth(mux)
}

// terminalKey is the context key of the authenticated Terminal.
type terminalKey struct{}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		term, err := s.terminalOf(r.Context(), tok)
		if errors.Is(err, errUnknownToken) {
			s.cfg.Log.WarnContext(r.Context(), "unknown terminal token", "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if err != nil {
			s.cfg.Log.ErrorContext(r.Context(), "terminal lookup failed", "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), terminalKey{}, term)))
	})
}

// caller returns the authenticated terminal of a request.
func caller(r *http.Request) Terminal {
	t, _ := r.Context().Value(terminalKey{}).(Terminal)
	return t
}

func (s *Server) handleTrips(w http.ResponseWriter, r *http.Request) {
	term := caller(r)
	req, err := wire.ParseUploadRequest(http.MaxBytesReader(w, r.Body, wire.MaxRequestBytes+1))
	if err != nil {
		s.cfg.Log.WarnContext(r.Context(), "upload refused", "terminal", term.ID, "error", err)
		http.Error(w, "bad upload request: "+err.Error(), http.StatusBadRequest)
		return
	}
	results, err := s.Ingest(r.Context(), term, req)
	if errors.Is(err, ErrForbidden) {
		s.cfg.Log.WarnContext(r.Context(), "upload refused", "terminal", term.ID, "error", err)
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	if err != nil {
		s.cfg.Log.ErrorContext(r.Context(), "upload failed", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.writeJSON(w, r, wire.UploadResponse{Results: results})
}

func (s *Server) handleRegistry(w http.ResponseWriter, r *http.Request) {
	term := caller(r)
	// The counts exclude the caller's own trips: a terminal may not ask
	// for another's view (it would count its own trips twice).
	if q := r.URL.Query().Get("terminal"); q != "" && q != term.ID {
		http.Error(w, "a terminal reads its own registry only", http.StatusForbidden)
		return
	}
	reg, err := s.Registry(r.Context(), term.ID)
	if err != nil {
		s.cfg.Log.ErrorContext(r.Context(), "registry failed", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.writeJSON(w, r, reg)
}

func (s *Server) handleSettlement(w http.ResponseWriter, r *http.Request) {
	term := caller(r)
	if c := r.URL.Query().Get("company"); c != "" && c != term.CompanyID {
		http.Error(w, "a terminal reads its own company's settlement only", http.StatusForbidden)
		return
	}
	rows, err := s.CompanySettlement(r.Context(), r.URL.Query().Get("month"), term.CompanyID)
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
