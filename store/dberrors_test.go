package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"shelf/store"
	"shelf/store/storetest"
)

func TestUnavailable(t *testing.T) {
	db := storetest.Open(t)
	storetest.FillDisk(t, db)
	_, err := db.Write.Exec(`INSERT INTO sessions (token, data, expiry) VALUES ('x', zeroblob(300), 1)`)
	if err == nil || !store.Unavailable(fmt.Errorf("wrapped: %w", err)) {
		t.Fatalf("full disk: %v, Unavailable=false", err)
	}

	// Another process holds the write lock.
	db2 := storetest.Open(t)
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
	if err := db2.InTx(context.Background(), func(*sql.Tx) error { return nil }); err == nil || !store.Unavailable(err) {
		t.Fatalf("locked: %v, Unavailable=false", err)
	}

	// What pgx returns when the server ended a connection in the middle of
	// a request's statements (pg_terminate_backend, a restart): seen as a
	// 500 from sign-up while connections were being terminated.
	if !store.Unavailable(fmt.Errorf("failed to deallocate cached statement(s): %w", pgconn.ErrConnClosed)) {
		t.Error("a connection closed under a statement is not unavailable")
	}
	if !store.Unavailable(fmt.Errorf("x: %w", context.DeadlineExceeded)) {
		t.Error("deadline not unavailable")
	}
	for _, err := range []error{nil, errors.New("boom"), store.ErrNotFound, context.Canceled} {
		if store.Unavailable(err) {
			t.Errorf("Unavailable(%v) = true", err)
		}
	}
	// A constraint violation is a bug or bad input, not an outage.
	db3, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db3.Close()
	db3.Write.Exec(`INSERT INTO sessions (token, data, expiry) VALUES ('dup', x'00', 1)`)
	if _, err := db3.Write.Exec(`INSERT INTO sessions (token, data, expiry) VALUES ('dup', x'00', 1)`); err == nil || store.Unavailable(err) {
		t.Fatalf("constraint: %v", err)
	}
}
