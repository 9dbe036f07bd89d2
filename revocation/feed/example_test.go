package feed_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"time"

	"github.com/mynacard/freespace/revocation"
	"github.com/mynacard/freespace/revocation/feed"
)

// The operator publishes its master list as a signed feed; every terminal
// syncs from it (here a directory; an HTTPSource for a web host or CDN).
func ExampleSyncer_Sync() {
	feedDir, _ := os.MkdirTemp("", "revocation-feed")
	defer os.RemoveAll(feedDir)
	dir, _ := os.MkdirTemp("", "revocation-store")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	seed := make([]byte, ed25519.SeedSize) // use a real secret key in production
	priv := ed25519.NewKeyFromSeed(seed)
	pub := &feed.Publisher{Dir: feedDir, Key: priv}

	k1, _ := revocation.ParseKey("cuid:00112233445566778899aabbccddeeff")
	k2, _ := revocation.ParseKey("cuid:0f0e0d0c0b0a09080706050403020100")
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	pub.Publish(ctx, []revocation.Record{{Key: k1, RevokedAt: day.Unix(), Reason: revocation.ReasonLost}}, day)

	store, _ := revocation.Open(dir, revocation.Options{})
	defer store.Close()
	syncer := &feed.Syncer{Store: store, Source: &feed.DirSource{Dir: feedDir}, PublicKey: priv.Public().(ed25519.PublicKey)}

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
