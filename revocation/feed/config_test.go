package feed

import (
	"context"
	"testing"

	"github.com/mynacard/freespace/revocation"
	"github.com/stretchr/testify/assert"
)

// Sources, the Syncer and the Publisher are built the same way (a struct
// literal used through a pointer); one missing what it needs is a clear
// ErrConfig naming the field, not a fetch from the working directory or
// a nil dereference (issue 14 §3, §5).
func TestZeroValuesAreConfigErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		run   func() error
		field string
	}{
		{"DirSource", func() error { _, err := (&DirSource{}).Fetch(ctx, IndexName, Validators{}); return err }, "DirSource.Dir"},
		{"HTTPSource", func() error { _, err := (&HTTPSource{}).Fetch(ctx, IndexName, Validators{}); return err }, "HTTPSource.BaseURL"},
		{"HTTPSource scheme", func() error {
			_, err := (&HTTPSource{BaseURL: "ftp://feed.example/"}).Fetch(ctx, IndexName, Validators{})
			return err
		}, "HTTPSource.BaseURL"},
		{"Syncer store", func() error { _, err := (&Syncer{Source: &DirSource{Dir: "."}}).Sync(ctx); return err }, "Syncer.Store"},
		{"Syncer source", func() error {
			_, err := (&Syncer{Store: mustOpen(t, t.TempDir(), revocation.Options{})}).Sync(ctx)
			return err
		}, "Syncer.Source"},
		{"Publisher key", func() error { _, err := (&Publisher{Dir: t.TempDir()}).Publish(ctx, nil, testAsOf); return err }, "Publisher.Key"},
		{"Publisher dir", func() error { _, err := (&Publisher{Key: testKey(t, 1)}).Publish(ctx, nil, testAsOf); return err }, "Publisher.Dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			assert.ErrorIs(t, err, ErrConfig)
			assert.ErrorContains(t, err, tt.field)
		})
	}
}
