// Package sqlitedb opens the embedded SQLite databases of the taxi-fare
// example (pure Go, modernc.org/sqlite) with the durability settings both the
// terminal and the server rely on: write-ahead log, synchronous=FULL (a
// committed transaction survives a crash or power loss), a busy timeout, and
// immediate write transactions.
//
// The databases hold user IDs and card CUIDs: Open creates the file mode
// 0600 whatever the directory's mode and the umask (SQLite gives the
// write-ahead log and its index the database file's mode), and refuses an
// existing database, log or index that group or others may access
// (*securefile.Error, whose Remedy says how to fix it).
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/mynacard/freespace/securefile"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Open opens (creating if needed) the database file at path and applies
// schema, a list of idempotent statements (CREATE ... IF NOT EXISTS).
func Open(ctx context.Context, path string, schema []string) (*sql.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlitedb: unusable database path %q", path)
	}
	if err := prepareFiles(path); err != nil {
		return nil, fmt.Errorf("sqlitedb: %w", err)
	}
	dsn := "file:" + path +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: opening %s: %w", path, err)
	}
	// One connection: every write is serialized in-process, readers see
	// committed data, and SQLITE_BUSY cannot arise between our own
	// connections.
	db.SetMaxOpenConns(1)
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlitedb: creating the schema of %s: %w", path, err)
		}
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("sqlitedb: %s: journal mode %q, want wal (%v)", path, mode, err)
	}
	var sync int
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		db.Close()
		return nil, fmt.Errorf("sqlitedb: %s: synchronous=%d, want 2 (FULL) (%v)", path, sync, err)
	}
	return db, nil
}

// prepareFiles creates the database file exclusively with mode 0600 when
// it does not exist (SQLite then creates the -wal and -shm files with the
// same mode), and checks an existing database and its -wal and -shm files
// as secrets: regular, not a symbolic link, owned by root or the running
// user, no access for group and others.
func prepareFiles(path string) error {
	f, err := securefile.CreateSecret(path)
	if err == nil {
		return f.Close()
	}
	var se *securefile.Error
	if !errors.As(err, &se) || se.Problem != securefile.Exists {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		f, err := securefile.Open(p, securefile.Policy{Secret: true})
		if errors.Is(err, fs.ErrNotExist) && p != path {
			continue
		}
		if err != nil {
			return err
		}
		f.Close()
	}
	return nil
}

// InTx runs fn in a transaction and commits it, or rolls back when fn fails.
func InTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
