package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// A write that runs out of room gives SQLITE_FULL: here the room is the
// database's max_page_count, which SQLite enforces as it does a full disk.
func TestDiskFullWhenSQLiteSaysSo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pages int
	if err := db.Write.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	_, err = db.Write.Exec(`INSERT INTO sessions (token, data, expiry) VALUES ('x', zeroblob(100000), 1)`)
	if err == nil {
		t.Fatal("a write past max_page_count succeeded")
	}
	if !DiskFull(fmt.Errorf("migrate: %w", err), path) {
		t.Errorf("DiskFull(%v) = false", err)
	}
	if DiskFull(fmt.Errorf("no database error"), path) || DiskFull(nil, path) {
		t.Error("DiskFull without an SQLite error")
	}
}
