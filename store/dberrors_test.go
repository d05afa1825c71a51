package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// fillDisk makes every further write on db's writer fail with SQLITE_FULL,
// as a full disk would: the file may not grow, and the free space left in
// its pages is filled first.
func fillDisk(t testing.TB, db *DB) {
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
			if _, err := db.Write.Exec(`INSERT INTO sessions (token, data, expiry) VALUES (?, ?, 0)`,
				fmt.Sprintf("filler-%d", n), make([]byte, size)); err != nil {
				break
			}
		}
	}
}

func TestUnavailable(t *testing.T) {
	db := openTestDB(t)
	fillDisk(t, db)
	_, err := db.Write.Exec(`INSERT INTO sessions (token, data, expiry) VALUES ('x', zeroblob(300), 1)`)
	if err == nil || !Unavailable(fmt.Errorf("wrapped: %w", err)) {
		t.Fatalf("full disk: %v, Unavailable=false", err)
	}

	// Another process holds the write lock.
	db2 := openTestDB(t)
	other, err := sql.Open("sqlite", "file:"+db2.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)
	if _, err := db2.Write.Exec(`PRAGMA busy_timeout = 50`); err != nil {
		t.Fatal(err)
	}
	if err := db2.InTx(context.Background(), func(*sql.Tx) error { return nil }); err == nil || !Unavailable(err) {
		t.Fatalf("locked: %v, Unavailable=false", err)
	}

	if !Unavailable(fmt.Errorf("x: %w", context.DeadlineExceeded)) {
		t.Error("deadline not unavailable")
	}
	for _, err := range []error{nil, errors.New("boom"), ErrNotFound, context.Canceled} {
		if Unavailable(err) {
			t.Errorf("Unavailable(%v) = true", err)
		}
	}
	// A constraint violation is a bug or bad input, not an outage.
	db3, err := Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db3.Close()
	db3.Write.Exec(`INSERT INTO sessions (token, data, expiry) VALUES ('dup', x'00', 1)`)
	if _, err := db3.Write.Exec(`INSERT INTO sessions (token, data, expiry) VALUES ('dup', x'00', 1)`); err == nil || Unavailable(err) {
		t.Fatalf("constraint: %v", err)
	}
}
