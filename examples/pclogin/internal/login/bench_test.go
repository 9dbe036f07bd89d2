package login

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkAuthorizeMockState is one PAM decision on the mock card: load
// the state file, read the Type A AP after mutual authentication through
// cardap, map, decide.
func BenchmarkAuthorizeMockState(b *testing.B) {
	state := filepath.Join(b.TempDir(), "card.json")
	saveCard(b, state, "U-0002", testCUID(2), time.Time{})
	cfg := testConfig(b)
	id := MockState{Path: state, Client: testClient(b, false)}
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if r := Authorize(ctx, id, cfg, Policy{}, "bob", now); !r.Allowed() {
			b.Fatal(r.Reason, r.Err)
		}
	}
}
