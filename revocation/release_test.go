package revocation

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestReleaseOnReplace: with Options.ReleaseOnReplace a full list gives up
// the old list's lookup structures before the new one is written; every
// check made meanwhile fails closed (ErrStale) and the snapshot answers
// "revoked" to Contains; afterwards the new list answers. A replacement
// that fails leaves the store failing closed until Refresh (or the next
// Apply, which refreshes under the writer lock) loads the list on disk.
func TestReleaseOnReplace(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(11, 12))
	recs := randRecords(r, 500)
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{ReleaseOnReplace: true, RefreshInterval: -1})
	first, err := TextParser{}.Parse(bytes.NewReader(textDoc(t, recs[:250], 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, first); err != nil {
		t.Fatal(err)
	}
	inFirst, inSecond := recs[0].Key, recs[400].Key

	var during []error
	var containsDuring []bool
	s.opts.Progress = func(phase Phase, _ string, _, _ int64) {
		if phase != PhaseApply {
			return
		}
		_, err := s.Check(inSecond)
		during = append(during, err)
		containsDuring = append(containsDuring, s.Snapshot().Contains(inSecond))
	}
	second, err := TextParser{}.Parse(bytes.NewReader(textDoc(t, recs[250:], 2)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, second); err != nil {
		t.Fatal(err)
	}
	if len(during) == 0 {
		t.Fatal("no progress reported during the apply")
	}
	for i, err := range during {
		if !errors.Is(err, ErrStale) || !containsDuring[i] {
			t.Fatalf("check during the replacement: %v, contains %v; want ErrStale and true", err, containsDuring[i])
		}
	}
	s.opts.Progress = nil
	if res, err := s.Check(inSecond); err != nil || !res.Revoked {
		t.Fatalf("after: %v %+v", err, res)
	}
	if res, err := s.Check(inFirst); err != nil || res.Revoked {
		t.Fatalf("a key of the old list only: %v %+v", err, res)
	}

	// A replacement that fails (a serial twice, found while writing).
	var serial Record
	for _, rec := range recs[250:] {
		if rec.Key.Kind() == KindSerial {
			serial = rec
			break
		}
	}
	dup := append(slices.Clone(recs[250:]), Record{Key: serial.Key, RevokedAt: serial.RevokedAt + 1})
	bad, err := TextParser{SpoolDir: dir, SpoolRecords: 64}.Parse(bytes.NewReader(textDoc(t, dup, 3)))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := s.Apply(ctx, bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("apply of a list with a key twice: %v", err)
	}
	if _, err := s.Check(inSecond); !errors.Is(err, ErrStale) {
		t.Fatalf("check after a failed replacement: %v, want ErrStale (fail closed)", err)
	}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Check(inSecond); err != nil || !res.Revoked || res.Seq != 2 {
		t.Fatalf("after Refresh: %v %+v", err, res)
	}

	// The next Apply after a failed replacement starts from the list on
	// disk too.
	if err := s.Apply(ctx, bad2(t, dir, dup)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("second failing replacement: %v", err)
	}
	delta := &Update{Seq: 3, Prev: 2, AsOf: s.Snapshot().AsOf(), Add: []Record{recs[1]}}
	if err := s.Apply(ctx, delta); err != nil {
		t.Fatalf("a delta after a failed replacement: %v", err)
	}
	for _, k := range []Key{inSecond, recs[1].Key} {
		if res, err := s.Check(k); err != nil || !res.Revoked || res.Seq != 3 {
			t.Fatalf("after the delta, %s: %v %+v", k, err, res)
		}
	}
}

// bad2 is the spooled list dup (a key twice) again, as sequence 3.
func bad2(t *testing.T, dir string, dup []Record) *Update {
	t.Helper()
	u, err := TextParser{SpoolDir: dir, SpoolRecords: 64}.Parse(bytes.NewReader(textDoc(t, dup, 3)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}
