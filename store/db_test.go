package store

import (
	"context"
	"path/filepath"
	"testing"
)

// openTestDB opens a fresh database file in the test's temporary directory.
func openTestDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "shelf.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenAppliesMigrationsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		ms, _ := migrations(SQLite)
		var n int
		if err := db.Read.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(ms) {
			t.Fatalf("open #%d: %d migrations recorded, want %d", i+1, n, len(ms))
		}
		db.Close()
	}
}

func TestPragmas(t *testing.T) {
	db := openTestDB(t)
	var mode string
	if err := db.Write.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := db.Read.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if _, err := db.Read.Exec(`CREATE TABLE nope (x)`); err == nil {
		t.Fatal("reader pool accepted a write")
	}
}
