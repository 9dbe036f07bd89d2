package revocation_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mynacard/freespace/revocation"
)

// A gate checks each card's identifier against the local store; the list
// is fresh enough (Policy.MaxAge, 48 h by default) or the check fails
// closed.
func ExampleStore_Check() {
	dir, _ := os.MkdirTemp("", "revocation-example")
	defer os.RemoveAll(dir)
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	store, err := revocation.Open(dir, revocation.Options{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	// The daily delivery, here in the CSV form of docs/PROTOCOL.md 9.1.
	list, err := revocation.TextParser{}.Parse(strings.NewReader(`#freespace-revocation/1 list
#seq 1
#as-of 2026-11-29T00:00:00Z
kind,id,revoked_at,reason
cuid,00112233445566778899aabbccddeeff,2026-11-28T09:30:00Z,lost
#end 1
`))
	if err != nil {
		panic(err)
	}
	if err := store.Apply(context.Background(), list); err != nil {
		panic(err)
	}

	// An urgent local stop takes effect at once.
	urgent, _ := revocation.ParseKey("cuid:0f0e0d0c0b0a09080706050403020100")
	if err := store.Stop(context.Background(), urgent, revocation.ReasonStolen, "desk-3", "holder phoned"); err != nil {
		panic(err)
	}

	for _, id := range []string{"00112233445566778899aabbccddeeff", "0f0e0d0c0b0a09080706050403020100", "ffeeddccbbaa99887766554433221100"} {
		k, _ := revocation.ParseKey(id)
		res, err := store.Check(k)
		switch {
		case errors.Is(err, revocation.ErrStale):
			fmt.Println(id, "refused: list too old")
		case err != nil:
			fmt.Println(id, "error:", err)
		case res.Revoked:
			fmt.Printf("%s revoked (%s, %s); list age %s\n", id, res.Entry.Origin, res.Entry.Reason, res.Age)
		default:
			fmt.Printf("%s allowed; list age %s\n", id, res.Age)
		}
	}
	// Output:
	// 00112233445566778899aabbccddeeff revoked (feed, lost); list age 8h0m0s
	// 0f0e0d0c0b0a09080706050403020100 revoked (local-stop, stolen); list age 8h0m0s
	// ffeeddccbbaa99887766554433221100 allowed; list age 8h0m0s
}

// The operator publishes its master list as a signed feed; every terminal
// syncs from it (here a directory; an HTTPSource for a web host or CDN).
func ExampleSyncer_Sync() {
	feed, _ := os.MkdirTemp("", "revocation-feed")
	defer os.RemoveAll(feed)
	dir, _ := os.MkdirTemp("", "revocation-store")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	seed := make([]byte, ed25519.SeedSize) // use a real secret key in production
	priv := ed25519.NewKeyFromSeed(seed)
	pub := &revocation.Publisher{Dir: feed, Key: priv}

	k1, _ := revocation.ParseKey("cuid:00112233445566778899aabbccddeeff")
	k2, _ := revocation.ParseKey("cuid:0f0e0d0c0b0a09080706050403020100")
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	pub.Publish(ctx, []revocation.Record{{Key: k1, RevokedAt: day.Unix(), Reason: revocation.ReasonLost}}, day)

	store, _ := revocation.Open(dir, revocation.Options{})
	defer store.Close()
	syncer := &revocation.Syncer{Store: store, Source: revocation.DirSource{Dir: feed}, PublicKey: priv.Public().(ed25519.PublicKey)}

	res, err := syncer.Sync(ctx)
	fmt.Println(res.From, "->", res.To, res.Files, err)

	// Next day: one more revocation, published as a delta too.
	pub.Publish(ctx, []revocation.Record{
		{Key: k1, RevokedAt: day.Unix(), Reason: revocation.ReasonLost},
		{Key: k2, RevokedAt: day.Add(20 * time.Hour).Unix(), Reason: revocation.ReasonStolen},
	}, day.Add(24*time.Hour))
	res, err = syncer.Sync(ctx)
	fmt.Println(res.From, "->", res.To, res.Files, err)
	fmt.Println(store.Snapshot().Len(), "revoked")
	// Output:
	// 0 -> 1 [list-00000000000000000001.csv] <nil>
	// 1 -> 2 [delta-00000000000000000002.csv] <nil>
	// 2 revoked
}

// A checker (a PAM module, a gate) opens the store read-only while
// another process (here a second Store standing in for `cardap revocation
// stop`) writes to it; the checker sees the stop at its next refresh,
// automatic within about Options.RefreshInterval or explicit with Refresh.
func ExampleOpenReadOnly() {
	dir, _ := os.MkdirTemp("", "revocation-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	writer, err := revocation.Open(dir, revocation.Options{Now: clock})
	if err != nil {
		panic(err)
	}
	defer writer.Close()
	if err := writer.Apply(ctx, &revocation.Update{Full: true, Seq: 1, AsOf: now.Add(-time.Hour)}); err != nil {
		panic(err)
	}

	checker, err := revocation.OpenReadOnly(dir, revocation.Options{Now: clock})
	if err != nil {
		panic(err)
	}
	defer checker.Close()
	k, _ := revocation.ParseKey("cuid:0f0e0d0c0b0a09080706050403020100")
	res, _ := checker.Check(k)
	fmt.Println("before the stop: allowed", res.Allowed)

	if err := writer.Stop(ctx, k, revocation.ReasonStolen, "desk-3", "holder phoned"); err != nil {
		panic(err)
	}
	if err := checker.Refresh(ctx); err != nil {
		panic(err)
	}
	res, _ = checker.Check(k)
	fmt.Println("after the stop: revoked", res.Revoked, "by", res.Entry.By)
	fmt.Println("writes refused:", errors.Is(checker.Stop(ctx, k, revocation.ReasonLost, "x", ""), revocation.ErrReadOnly))
	// Output:
	// before the stop: allowed true
	// after the stop: revoked true by desk-3
	// writes refused: true
}
