package revocation_test

import (
	"context"
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
	if err := store.Stop(context.Background(), urgent, revocation.StopOptions{Reason: revocation.ReasonStolen, By: "desk-3", Why: "holder phoned"}); err != nil {
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
	// 00112233445566778899aabbccddeeff revoked (delivered, lost); list age 8h0m0s
	// 0f0e0d0c0b0a09080706050403020100 revoked (local-stop, stolen); list age 8h0m0s
	// ffeeddccbbaa99887766554433221100 allowed; list age 8h0m0s
}

// A checker (a PAM module, a gate) opens the store read-only while
// another process (here a second Store standing in for `cardap revocation
// stop`) writes to it; the checker sees the stop at its next refresh,
// automatic within about Options.RefreshInterval or explicit with Refresh.
func ExampleOptions_readOnly() {
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

	checker, err := revocation.Open(dir, revocation.Options{ReadOnly: true, Now: clock})
	if err != nil {
		panic(err)
	}
	defer checker.Close()
	k, _ := revocation.ParseKey("cuid:0f0e0d0c0b0a09080706050403020100")
	res, _ := checker.Check(k)
	fmt.Println("before the stop: allowed", res.Allowed)

	if err := writer.Stop(ctx, k, revocation.StopOptions{Reason: revocation.ReasonStolen, By: "desk-3", Why: "holder phoned"}); err != nil {
		panic(err)
	}
	if err := checker.Refresh(ctx); err != nil {
		panic(err)
	}
	res, _ = checker.Check(k)
	fmt.Println("after the stop: revoked", res.Revoked, "by", res.Entry.By)
	fmt.Println("writes refused:", errors.Is(checker.Stop(ctx, k, revocation.StopOptions{Reason: revocation.ReasonLost, By: "x"}), revocation.ErrReadOnly))
	// Output:
	// before the stop: allowed true
	// after the stop: revoked true by desk-3
	// writes refused: true
}
