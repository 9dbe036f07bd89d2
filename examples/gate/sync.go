package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mynacard/freespace/revocation/feed"
)

// feedSource returns the feed.Source of --feed: an http(s) URL (a
// static host or CDN serving a feed.Publisher's output) or a
// directory.
func feedSource(from string) feed.Source {
	if strings.HasPrefix(from, "http://") || strings.HasPrefix(from, "https://") {
		return &feed.HTTPSource{BaseURL: from}
	}
	return &feed.DirSource{Dir: from}
}

// readPublicKey reads an Ed25519 public key given as 64 hex digits or as
// a file holding them.
func readPublicKey(v string) (ed25519.PublicKey, error) {
	s := strings.TrimSpace(v)
	if len(s) != 2*ed25519.PublicKeySize {
		data, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("want %d hex digits or a file holding them: %w", 2*ed25519.PublicKeySize, err)
		}
		s = strings.TrimSpace(string(data))
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("want %d hex digits", 2*ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// syncLoop keeps the store up to date from the signed feed: one sync at
// once, then one every interval, until ctx is done. A failed sync is
// logged and the store left as it was (the freshness policy then decides
// when the gate starts refusing cards). Checks never wait for a sync.
func (g *gate) syncLoop(ctx context.Context, s *feed.Syncer, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		g.syncOnce(ctx, s)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// syncOnce runs one sync and logs what it did.
func (g *gate) syncOnce(ctx context.Context, s *feed.Syncer) {
	res, err := s.Sync(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
	case errors.Is(err, feed.ErrBadSignature):
		g.log.Error("gate: revocation feed refused (bad signature); keeping the current list", "err", err)
	case err != nil:
		g.log.Warn("gate: revocation sync failed; keeping the current list", "err", err)
	case res.To != res.From:
		g.log.Info("gate: revocation list updated", "from_seq", res.From, "to_seq", res.To, "files", len(res.Files))
	}
}
