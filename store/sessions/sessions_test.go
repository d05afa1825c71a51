package sessions

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/storetest"
)

var (
	_ scs.Store    = (*Store)(nil)
	_ scs.CtxStore = (*Store)(nil)
)

// insertTestUser adds an account for sessions to belong to.
func insertTestUser(t testing.TB, db *store.DB, email string, now time.Time) int64 {
	t.Helper()
	var id int64
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = accounts.InsertUser(context.Background(), tx, accounts.NewUser{Email: email, PasswordHash: "x"}, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Session writes made with a context carrying a transaction join it: they
// are undone when it rolls back, and stored when it commits.
func TestSessionStoreJoinsTransaction(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		uid := insertTestUser(t, db, "tx@example.org", time.Now())
		s := New(db, func([]byte) Info { return Info{UserID: uid} })
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
			txCtx := store.WithTx(ctx, tx)
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
			txCtx := store.WithTx(ctx, tx)
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
	})
}

func TestSessionStoreExpiryAndCleanup(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		uid := insertTestUser(t, db, "s@example.org", time.Now())
		clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		s := New(db, func(b []byte) Info {
			if string(b) == "signed-in" {
				return Info{UserID: uid}
			}
			return Info{}
		})
		s.Now = func() time.Time { return clock }

		if err := s.Commit("a", []byte("anon"), clock.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.CommitCtx(ctx, "b", []byte("signed-in"), clock.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.CommitCtx(ctx, "c", []byte("signed-in"), clock.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if b, ok, err := s.Find("a"); !ok || err != nil || string(b) != "anon" {
			t.Fatalf("find a = %q %v %v", b, ok, err)
		}
		// Commit replaces data and expiry.
		if err := s.Commit("a", []byte("anon2"), clock.Add(90*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if b, _, _ := s.Find("a"); string(b) != "anon2" {
			t.Fatalf("after recommit %q", b)
		}
		if _, ok, err := s.Find("missing"); ok || err != nil {
			t.Fatalf("missing: %v %v", ok, err)
		}

		clock = clock.Add(100 * time.Minute) // a has expired; b and c have not
		if _, ok, _ := s.Find("a"); ok {
			t.Fatal("expired session found")
		}
		if n, err := s.DeleteExpired(ctx); n != 1 || err != nil {
			t.Fatalf("DeleteExpired = %d, %v", n, err)
		}
		var rows int
		db.Read.QueryRow(`SELECT count(*) FROM sessions`).Scan(&rows)
		if rows != 2 {
			t.Fatalf("%d rows left, want 2", rows)
		}
		if n, err := s.DeleteUserSessions(ctx, uid); n != 2 || err != nil {
			t.Fatalf("DeleteUserSessions = %d, %v", n, err)
		}
		if err := s.Delete("b"); err != nil {
			t.Fatalf("deleting a deleted session: %v", err)
		}

		// The cleanup loop runs on its own.
		s.Commit("d", []byte("x"), clock.Add(-time.Second))
		loopCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s.CleanupLoop(loopCtx, 5*time.Millisecond, slog.New(slog.DiscardHandler)); close(done) }()
		deadline := time.Now().Add(2 * time.Second)
		for {
			db.Read.QueryRow(`SELECT count(*) FROM sessions`).Scan(&rows)
			if rows == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
		if rows != 0 {
			t.Fatalf("cleanup loop left %d rows", rows)
		}
	})
}

// An account's sessions are listed with what their data says, the most
// recently used first, without expired ones or other accounts'; one, or all
// but one, can be ended.
func TestUserSessions(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		uid := insertTestUser(t, db, "list@example.org", clock)
		other := insertTestUser(t, db, "other@example.org", clock)
		infos := map[string]Info{
			"phone":  {UserID: uid, IP: "192.0.2.7", Browser: "Safari on iPhone", SeenAt: clock.Add(-time.Minute)},
			"laptop": {UserID: uid, IP: "2001:db8::1", Browser: "Firefox on Linux", SeenAt: clock.Add(-time.Second)},
			"old":    {UserID: uid, IP: "192.0.2.9", Browser: "Chrome on Windows", SeenAt: clock.Add(-time.Hour)},
			"theirs": {UserID: other, IP: "192.0.2.8", Browser: "Edge on Windows", SeenAt: clock},
			"anon":   {},
		}
		s := New(db, func(b []byte) Info { return infos[string(b)] })
		s.Now = func() time.Time { return clock }
		for name := range infos {
			expiry := clock.Add(time.Hour)
			if name == "old" {
				expiry = clock.Add(-time.Millisecond)
			}
			if err := s.CommitCtx(ctx, "tok-"+name, []byte(name), expiry); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.UserSessions(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Token != "tok-laptop" || list[1].Token != "tok-phone" {
			t.Fatalf("listed %+v", list)
		}
		if l := list[0]; l.IP != "2001:db8::1" || l.Browser != "Firefox on Linux" || !l.SeenAt.Equal(clock.Add(-time.Second)) || !l.Expiry.Equal(clock.Add(time.Hour)) {
			t.Fatalf("laptop listed as %+v", l)
		}

		if ok, err := s.DeleteUserSession(ctx, uid, "tok-theirs"); ok || err != nil {
			t.Fatalf("ended another account's session: %v %v", ok, err)
		}
		if ok, err := s.DeleteUserSession(ctx, uid, "tok-phone"); !ok || err != nil {
			t.Fatalf("end phone: %v %v", ok, err)
		}
		if _, ok, _ := s.Find("tok-phone"); ok {
			t.Fatal("ended session still found")
		}
		s.CommitCtx(ctx, "tok-phone", []byte("phone"), clock.Add(time.Hour))
		if n, err := s.DeleteUserSessionsExcept(ctx, uid, "tok-laptop"); n != 2 || err != nil { // phone, and the expired one
			t.Fatalf("DeleteUserSessionsExcept = %d, %v", n, err)
		}
		for tok, want := range map[string]bool{"tok-laptop": true, "tok-theirs": true, "tok-anon": true, "tok-phone": false} {
			if _, ok, _ := s.Find(tok); ok != want {
				t.Fatalf("%s found %v, want %v", tok, ok, want)
			}
		}
	})
}
