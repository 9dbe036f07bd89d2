package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenDurability(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), []string{`CREATE TABLE IF NOT EXISTS t (v INTEGER)`})
	require.NoError(t, err)
	defer db.Close()
	var mode string
	var sync int
	require.NoError(t, db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
	require.NoError(t, db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync))
	assert.Equal(t, "wal", mode)
	assert.Equal(t, 2, sync)

	boom := errors.New("boom")
	err = InTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil {
			return err
		}
		return boom
	})
	assert.ErrorIs(t, err, boom)
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n))
	assert.Zero(t, n, "a failed transaction is rolled back")
}

func TestOpenRefusesOddPaths(t *testing.T) {
	for _, p := range []string{"", "a?mode=memory", "a#b"} {
		_, err := Open(context.Background(), p, nil)
		assert.Error(t, err, p)
	}
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), []string{"NOT SQL"})
	assert.Error(t, err)
}
