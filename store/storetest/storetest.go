// Package storetest gives tests of any package a real database to work on,
// and the faults they need to provoke in it.
package storetest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"shelf/store"
)

// Open opens a fresh database in the test's temporary directory and closes
// it when the test ends.
func Open(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "shelf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// FillDisk makes every further write on db's writer fail with SQLITE_FULL,
// as a full disk would: the file may not grow, and the free space left in
// its pages is filled first.
func FillDisk(t testing.TB, db *store.DB) {
	t.Helper()
	var pages int
	if err := db.Write.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, size := range []int{2000, 200, 20, 1} {
		for {
			n++
			if _, err := db.Write.Exec(`INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, 0)`,
				fmt.Sprintf("filler-%d", n), make([]byte, size)); err != nil {
				break
			}
		}
	}
}
