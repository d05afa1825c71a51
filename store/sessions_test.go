package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"
)

// Session writes made with a context carrying a transaction join it: they
// are undone when it rolls back, and stored when it commits.
func TestSessionStoreJoinsTransaction(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	uid := insertTestUser(t, db, "tx@example.org", time.Now())
	s := NewSessionStore(db, func([]byte) int64 { return uid })
	expiry := time.Now().Add(time.Hour)
	if err := s.CommitCtx(ctx, "old", []byte("x"), expiry); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		t.Helper()
		if err := db.Read.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	failed := errors.New("the change failed")
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		txCtx := WithTx(ctx, tx)
		if err := s.DeleteCtx(txCtx, "old"); err != nil {
			return err
		}
		if err := s.CommitCtx(txCtx, "new", []byte("x"), expiry); err != nil {
			return err
		}
		if _, err := s.DeleteUserSessions(txCtx, uid); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("InTx = %v", err)
	}
	if _, ok, _ := s.Find("old"); !ok || count() != 1 {
		t.Fatalf("a rolled-back transaction changed sessions: %d rows", count())
	}

	err = db.InTx(ctx, func(tx *sql.Tx) error {
		txCtx := WithTx(ctx, tx)
		if err := s.DeleteCtx(txCtx, "old"); err != nil {
			return err
		}
		return s.CommitCtx(txCtx, "new", []byte("x"), expiry)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Find("new"); !ok || count() != 1 {
		t.Fatalf("after commit: %d rows, new found %v", count(), ok)
	}
}
