package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/mynacard/freespace/cardap"
	"github.com/mynacard/freespace/cardap/pcsc"
	"github.com/mynacard/freespace/keys"
	"github.com/mynacard/freespace/reader"
	"github.com/mynacard/freespace/revocation/feed"
)

// serveReaders runs the gate on PC/SC readers with pcsc.Serve until
// ctx is done: wait for a card, identify it, decide, wait for it to leave.
// Readers plugged in later and a restarted pcscd are picked up.
func (g *gate) serveReaders(ctx context.Context, o *options) (retErr error) {
	// A binary built without cgo cannot talk to PC/SC at all: say so at
	// once instead of retrying forever.
	rc, err := reader.EstablishContext(ctx)
	switch {
	case errors.Is(err, reader.ErrNoCgo):
		return err
	case err != nil:
		g.log.Warn("gate: PC/SC not available yet; waiting for it", "err", err)
	default:
		_ = rc.Close()
	}

	var ks keys.Provider
	if o.keysFile != "" {
		st, err := keys.LoadFile(o.keysFile)
		if err != nil {
			return fmt.Errorf("loading the operator keys: %w", err)
		}
		defer st.Zero()
		ks = st
	}

	var rev cardap.RevocationChecker
	if o.revDir != "" {
		// Read-only unless the gate syncs the store itself (--feed): a
		// mistyped path then reads as a store that never received a list
		// (every card refused), and nothing is created there.
		store, err := g.openStore(o.revDir, o, o.feed != "")
		if err != nil {
			return fmt.Errorf("opening the revocation store: %w", err)
		}
		if store.Snapshot().Seq() == 0 {
			g.log.Warn("gate: the revocation store holds no list (never synced, or a wrong --revocation path): cards are refused until a list arrives", "dir", o.revDir)
		}
		defer func() {
			// The feed sync writes the store: a failing close is a failure
			// of the run, also after Ctrl-C.
			if err := store.Close(); err != nil {
				err = fmt.Errorf("closing the revocation store: %w", err)
				if retErr == nil || errors.Is(retErr, context.Canceled) {
					retErr = err
				} else {
					retErr = errors.Join(retErr, err)
				}
			}
		}()
		rev = cardap.RevocationStore(store)
		if o.feed != "" {
			syncer := &feed.Syncer{Store: store, Source: feedSource(o.feed), PublicKey: o.feedKey}
			sctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				g.syncLoop(sctx, syncer, o.syncEvery)
			}()
			defer func() { cancel(); <-done }()
		}
	} else {
		g.log.Warn("gate: running WITHOUT a revocation list (--no-revocation): revoked cards are accepted")
	}
	client, err := g.newClient(o, ks, rev)
	if err != nil {
		return err
	}
	return pcsc.Serve(ctx, client, g.handle, pcsc.Options{Readers: o.readers})
}
