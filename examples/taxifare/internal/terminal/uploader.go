package terminal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/mynacard/freespace/examples/taxifare/internal/wire"
)

// markTimeout bounds recording the server's answers, which does not stop
// when Flush's context is cancelled.
const markTimeout = 30 * time.Second

// MaxRegistryBytes bounds the registry document a terminal accepts.
const MaxRegistryBytes = 256 << 20

// Uploader sends the terminal's pending trips to the city server and syncs
// the registry back. Uploads are idempotent: a trip stays pending until the
// server has answered for it (accepted, duplicate or rejected), so a crash
// or a lost answer only causes a repeat, which the server recognizes by the
// trip ID.
type Uploader struct {
	Store      *Store
	BaseURL    string       // e.g. http://127.0.0.1:8080
	TerminalID string       // the vehicle ID
	Token      wire.Token   // this terminal's own token (server.EnrollTerminal)
	Client     *http.Client // default: a client with a 30 s timeout
	BatchSize  int          // trips per request; default 100, at most wire.MaxTripsPerRequest
	Now        func() time.Time
	Log        *slog.Logger
}

// ErrServer is wrapped by errors about the server's answer (an unexpected
// HTTP status or a malformed body).
var ErrServer = errors.New("terminal: bad answer from the server")

func (u *Uploader) client() *http.Client {
	if u.Client != nil {
		return u.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (u *Uploader) log() *slog.Logger {
	if u.Log != nil {
		return u.Log
	}
	return slog.Default()
}

func (u *Uploader) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

// FlushResult counts what a Flush achieved.
type FlushResult struct {
	Accepted, Duplicate, Rejected int
}

// Flush uploads pending trips batch by batch until none is left. It stops at
// the first failure and returns it together with what was achieved so far;
// calling it again continues where it stopped.
func (u *Uploader) Flush(ctx context.Context) (FlushResult, error) {
	var res FlushResult
	batch := u.BatchSize
	if batch <= 0 {
		batch = 100
	}
	batch = min(batch, wire.MaxTripsPerRequest)
	for {
		pend, err := u.Store.pending(ctx, batch)
		if err != nil || len(pend) == 0 {
			return res, err
		}
		results, err := u.upload(ctx, pend)
		if err != nil {
			return res, err
		}
		// The server has answered: record its answers even when ctx was
		// cancelled meanwhile, so that the batch is not sent again.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
		err = u.Store.markResults(mctx, results, u.now())
		cancel()
		if err != nil {
			return res, err
		}
		for _, r := range results {
			switch r.Status {
			case wire.StatusAccepted:
				res.Accepted++
			case wire.StatusDuplicate:
				res.Duplicate++
			case wire.StatusRejected:
				res.Rejected++
				u.log().WarnContext(ctx, "trip rejected by the server", "trip", r.TripID, "reason", r.Reason)
			}
		}
	}
}

// upload sends one batch and returns the server's per-trip results.
func (u *Uploader) upload(ctx context.Context, pend []pendingTrip) ([]wire.Result, error) {
	req := wire.UploadRequest{TerminalID: u.TerminalID, Trips: make([]wire.Trip, len(pend))}
	raw := make([]json.RawMessage, len(pend))
	for i, p := range pend {
		if err := json.Unmarshal(p.Payload, &req.Trips[i]); err != nil {
			return nil, fmt.Errorf("terminal: stored trip %s does not decode: %w", p.ID, err)
		}
		raw[i] = p.Payload
	}
	// Send the stored bytes as they are: a repeat is byte-identical.
	body, err := json.Marshal(struct {
		TerminalID string            `json:"terminal_id"`
		Trips      []json.RawMessage `json:"trips"`
	}{u.TerminalID, raw})
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.BaseURL+"/v1/trips", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if u.Token != "" {
		hreq.Header.Set("Authorization", "Bearer "+string(u.Token))
	}
	resp, err := u.client().Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("terminal: uploading %d trips: %w", len(pend), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("%w: upload answered %s", ErrServer, resp.Status)
	}
	out, err := wire.ParseUploadResponse(resp.Body, &req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrServer, err)
	}
	return out.Results, nil
}

// SyncRegistry fetches the registry from the server (keyed hashes of the
// registered users, with their rides on other terminals) and replaces the
// local copy.
func (u *Uploader) SyncRegistry(ctx context.Context) error {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.BaseURL+"/v1/registry", nil)
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	if u.Token != "" {
		hreq.Header.Set("Authorization", "Bearer "+string(u.Token))
	}
	resp, err := u.client().Do(hreq)
	if err != nil {
		return fmt.Errorf("terminal: fetching the registry: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: registry answered %s", ErrServer, resp.Status)
	}
	reg, err := wire.ParseRegistry(resp.Body, MaxRegistryBytes)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrServer, err)
	}
	return u.Store.ReplaceRegistry(ctx, reg)
}

// Run flushes every interval until ctx is done, backing off exponentially
// (with jitter, up to maxBackoff) while the server is unreachable. It
// returns ctx's error.
func (u *Uploader) Run(ctx context.Context, interval, maxBackoff time.Duration) error {
	wait := time.Duration(0)
	backoff := interval
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		if _, err := u.Flush(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			u.log().WarnContext(ctx, "upload failed; will retry", "error", err, "in", backoff)
			wait = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		wait, backoff = interval, interval
	}
}
