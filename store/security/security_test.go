package security

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/storetest"
)

func addUser(t *testing.T, db *store.DB, email string) int64 {
	t.Helper()
	var id int64
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = accounts.InsertUser(context.Background(), tx, accounts.NewUser{Email: email, PasswordHash: "x", Confirmed: true}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func record(t *testing.T, db *store.DB, e Event) string {
	t.Helper()
	var token string
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		token, _, err = Record(context.Background(), tx, e)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func use(db *store.DB, token string, now time.Time) (Event, error) {
	var e Event
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		e, err = Use(context.Background(), tx, token, now)
		return err
	})
	return e, err
}

func TestUndoToken(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		uid := addUser(t, db, "ev@example.org")
		at := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
		token := record(t, db, Event{UserID: uid, Kind: "new-device", Details: "d", Ref: "r", At: at, IP: "192.0.2.1", Browser: "Firefox on Linux", Device: "dev"})

		// The table holds only the hash.
		var n int
		if err := db.Read.QueryRow(`SELECT count(*) FROM security_events WHERE undo_hash = $1`, []byte(token)).Scan(&n); err != nil || n != 0 {
			t.Fatalf("token stored in clear: %d %v", n, err)
		}

		e, err := Check(ctx, db.Read, token, at.Add(time.Hour))
		if err != nil || e.UserID != uid || e.Kind != "new-device" || e.IP != "192.0.2.1" || e.Browser != "Firefox on Linux" ||
			e.Device != "dev" || e.Details != "d" || e.Ref != "r" || !e.At.Equal(at) || !e.UndoExpires.Equal(at.Add(UndoTTL)) {
			t.Fatalf("Check = %+v, %v", e, err)
		}
		// Checking uses nothing; the last millisecond works, the next not.
		if _, err := Check(ctx, db.Read, token, at.Add(UndoTTL)); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("at expiry: %v", err)
		}
		if _, err := use(db, token, at.Add(UndoTTL)); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("use at expiry: %v", err)
		}
		if e, err := use(db, token, at.Add(UndoTTL-time.Millisecond)); err != nil || e.ID == 0 {
			t.Fatalf("use: %+v %v", e, err)
		}
		if _, err := use(db, token, at.Add(time.Hour)); !errors.Is(err, ErrTokenUsed) {
			t.Fatalf("second use: %v", err)
		}
		if _, err := Check(ctx, db.Read, token[:40], at); !errors.Is(err, ErrTokenMalformed) {
			t.Fatalf("cut token: %v", err)
		}
		other, _, _ := newToken()
		if _, err := Check(ctx, db.Read, other, at); !errors.Is(err, ErrTokenUnknown) {
			t.Fatalf("unknown token: %v", err)
		}
	})
}

// Two uses of one token at once: exactly one succeeds.
func TestUndoTokenConcurrentUse(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		uid := addUser(t, db, "race@example.org")
		now := time.Now()
		token := record(t, db, Event{UserID: uid, Kind: "password-reset", At: now})
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[i] = use(db, token, now) }()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrTokenUsed):
				t.Fatalf("use: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d uses succeeded, want 1", ok)
		}
	})
}

func TestPasswordBlock(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		uid := addUser(t, db, "block@example.org")
		other := addUser(t, db, "other@example.org")
		if b, err := PasswordBlocked(ctx, db.Read, uid); b || err != nil {
			t.Fatalf("new account blocked: %v %v", b, err)
		}
		now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := BlockPassword(ctx, db.Write, uid, now); err != nil {
			t.Fatal(err)
		}
		if b, _ := PasswordBlocked(ctx, db.Read, uid); !b {
			t.Fatal("not blocked")
		}
		if b, _ := PasswordBlocked(ctx, db.Read, other); b {
			t.Fatal("another account blocked")
		}
		var valid sql.NullString
		db.Read.QueryRow(`SELECT devices_valid_after FROM users WHERE id = $1`, uid).Scan(&valid)
		if valid.String != ts(now) {
			t.Fatalf("devices_valid_after = %q", valid.String)
		}
		if err := UnblockPassword(ctx, db.Write, uid); err != nil {
			t.Fatal(err)
		}
		if b, _ := PasswordBlocked(ctx, db.Read, uid); b {
			t.Fatal("still blocked")
		}
	})
}
