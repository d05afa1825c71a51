package accounts

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"shelf/store/outbox"
)

// testMails renders each mail as its kind and token, so a test can read the
// token back from the outbox.
type testMails struct{}

func (testMails) Confirm(_ context.Context, to, token string, _ time.Duration) (outbox.Mail, error) {
	return outbox.Mail{To: to, Subject: "confirm", Text: "token:" + token, HTML: "token:" + token}, nil
}

func (testMails) Reset(_ context.Context, to, token string, _ time.Duration) (outbox.Mail, error) {
	return outbox.Mail{To: to, Subject: "reset", Text: "token:" + token, HTML: "token:" + token}, nil
}

func (testMails) SignUpAttempt(_ context.Context, to string) (outbox.Mail, error) {
	return outbox.Mail{To: to, Subject: "attempt", Text: "someone tried", HTML: "someone tried"}, nil
}

type countingNotifier struct{ n atomic.Int64 }

func (c *countingNotifier) Notify() { c.n.Add(1) }

// flowDB is testDB with the mails and a clock the flows need.
func flowDB(t *testing.T, db testDB, now *time.Time, notifier *countingNotifier) testDB {
	t.Helper()
	db.Accounts = New(db.DB, Config{Hash: fastHash, Mails: testMails{}, Notifier: notifier, Now: func() time.Time { return *now }})
	return db
}

type outboxMail struct{ subject, token string }

var tokenRe = regexp.MustCompile(`token:(\S+)`)

// mailsTo lists the mails enqueued for to, oldest first.
func mailsTo(t *testing.T, db testDB, to string) []outboxMail {
	t.Helper()
	rows, err := db.Read.Query(`SELECT subject, text_body FROM outbox WHERE recipient = $1 ORDER BY id`, to)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxMail
	for rows.Next() {
		var subject, text string
		if err := rows.Scan(&subject, &text); err != nil {
			t.Fatal(err)
		}
		m := outboxMail{subject: subject}
		if sm := tokenRe.FindStringSubmatch(text); sm != nil {
			m.token = sm[1]
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func noSession(context.Context, User) error { return nil }

// Every flow, start to end, on both backends: on PostgreSQL a refused
// statement ends its transaction, so a flow may not go on after one.
func TestFlows(t *testing.T) {
	backends(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		notified := &countingNotifier{}
		db = flowDB(t, db, &now, notified)
		const addr = "flow@example.org"

		created, existing, err := db.SignUp(ctx, NewAccount{Email: addr, Password: "first password", CreatedIP: "192.0.2.1"}, noSession)
		if err != nil || created == 0 || existing != 0 {
			t.Fatalf("sign-up = %d, %d, %v", created, existing, err)
		}
		if ms := mailsTo(t, db, addr); len(ms) != 1 || ms[0].subject != "confirm" {
			t.Fatalf("mails after sign-up: %+v", ms)
		}
		if _, err := db.Authenticate(ctx, addr, "first password", func(Credentials) error { return nil }); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("sign-in before confirming: %v", err)
		}

		// The same address again, still unconfirmed: taken over, in the
		// same transaction as the refused insert.
		now = now.Add(2 * time.Minute)
		var saved User
		again, existing, err := db.SignUp(ctx, NewAccount{Email: "FLOW@example.org", Password: "second password"}, func(_ context.Context, u User) error {
			saved = u
			return nil
		})
		if err != nil || again != created || existing != 0 || saved.ID != created {
			t.Fatalf("retake = %d, %d, %v (saved %+v)", again, existing, err, saved)
		}
		ms := mailsTo(t, db, "FLOW@example.org")
		if len(ms) != 1 || ms[0].token == "" {
			t.Fatalf("mails after retake: %+v", ms)
		}
		if wait, err := db.Resend(ctx, created); err != nil || wait != time.Minute {
			t.Fatalf("resend at once = %v, %v", wait, err)
		}

		uid, first, err := db.Confirm(ctx, ms[0].token, noSession)
		if err != nil || uid != created || !first {
			t.Fatalf("confirm = %d, %v, %v", uid, first, err)
		}
		if _, err := db.Resend(ctx, created); !errors.Is(err, ErrAccountConfirmed) {
			t.Fatalf("resend after confirming: %v", err)
		}
		u, err := db.Authenticate(ctx, addr, "second password", func(Credentials) error { return nil })
		if err != nil || u.ID != created || !u.Confirmed() || u.IsAdmin {
			t.Fatalf("sign-in = %+v, %v", u, err)
		}

		// A confirmed address: its owner is told, once an hour.
		for range 2 {
			created, existing, err = db.SignUp(ctx, NewAccount{Email: addr, Password: "third password"}, noSession)
			if err != nil || created != 0 || existing != uid {
				t.Fatalf("sign-up for a confirmed address = %d, %d, %v", created, existing, err)
			}
		}
		var attempts int
		// The retake changed the address's case: mail goes to the new one.
		const retaken = "FLOW@example.org"
		for _, m := range mailsTo(t, db, retaken) {
			if m.subject == "attempt" {
				attempts++
			}
		}
		if attempts != 1 {
			t.Fatalf("%d sign-up notices, want 1", attempts)
		}

		// Reset: requested, handled off the request, completed.
		if err := db.RequestReset(ctx, addr); err != nil {
			t.Fatal(err)
		}
		if err := db.RequestReset(ctx, "nobody@example.org"); err != nil {
			t.Fatal(err)
		}
		if err := db.HandleResetRequests(ctx); err != nil {
			t.Fatal(err)
		}
		ms = mailsTo(t, db, retaken)
		if last := ms[len(ms)-1]; last.subject != "reset" || last.token == "" {
			t.Fatalf("no reset mail: %+v", ms)
		}
		if len(mailsTo(t, db, "nobody@example.org")) != 0 {
			t.Fatal("a reset mail to an address without an account")
		}
		if _, err := db.CompleteReset(ctx, ms[len(ms)-1].token, "fourth password", noSession); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Authenticate(ctx, addr, "fourth password", func(Credentials) error { return nil }); err != nil {
			t.Fatalf("sign-in with the new password: %v", err)
		}

		admin, err := db.CreateAdmin(ctx, "admin@example.org", "admin password")
		if err != nil || admin == 0 {
			t.Fatalf("create admin = %d, %v", admin, err)
		}
		if u, err := db.UserByID(ctx, admin); err != nil || !u.IsAdmin || !u.Confirmed() {
			t.Fatalf("admin = %+v, %v", u, err)
		}
		if _, err := db.CreateAdmin(ctx, "ADMIN@example.org", "admin password"); !errors.Is(err, ErrDuplicateEmail) {
			t.Fatalf("second admin: %v", err)
		}

		// "Not me" deletes an unconfirmed account.
		other, _, err := db.SignUp(ctx, NewAccount{Email: "typo@example.org", Password: "some password"}, noSession)
		if err != nil {
			t.Fatal(err)
		}
		if u, err := db.NotMe(ctx, mailsTo(t, db, "typo@example.org")[0].token); err != nil || u.ID != other {
			t.Fatalf("not me = %+v, %v", u, err)
		}
		if notified.n.Load() == 0 {
			t.Fatal("the mail sender was never woken")
		}
	})
}

// Concurrent sign-ups with one address make one account, and every one of
// them succeeds: the others take it over or find it.
func TestConcurrentSignUps(t *testing.T) {
	backends(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		db = flowDB(t, db, &now, &countingNotifier{})
		var wg sync.WaitGroup
		ids := make([]int64, 8)
		for i := range ids {
			wg.Go(func() {
				id, _, err := db.SignUp(ctx, NewAccount{Email: "race@example.org", Password: "a password"}, noSession)
				if err != nil {
					t.Errorf("sign-up %d: %v", i, err)
				}
				ids[i] = id
			})
		}
		wg.Wait()
		var n int
		if err := db.Read.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d accounts, %v", n, err)
		}
		for i, id := range ids {
			if id != ids[0] || id == 0 {
				t.Fatalf("sign-up %d got account %d, the first %d", i, id, ids[0])
			}
		}
	})
}

// Reset requests handled by several workers at once (instances) are each
// handled once.
func TestConcurrentResetWorkers(t *testing.T) {
	backends(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		db = flowDB(t, db, &now, &countingNotifier{})
		if _, err := db.CreateAdmin(ctx, "reset@example.org", "a password"); err != nil {
			t.Fatal(err)
		}
		const requests = 12
		for range requests {
			if err := db.RequestReset(ctx, "reset@example.org"); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := db.HandleResetRequests(ctx); err != nil {
					t.Errorf("worker: %v", err)
				}
			})
		}
		wg.Wait()
		if ms := mailsTo(t, db, "reset@example.org"); len(ms) != requests {
			t.Fatalf("%d reset mails for %d requests", len(ms), requests)
		}
	})
}

// ChangePassword stores the new password and the end of device trust with
// what save does, or, when save fails, none of them.
func TestChangePassword(t *testing.T) {
	backends(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		db = flowDB(t, db, &now, &countingNotifier{})
		const addr = "change@example.org"
		id, err := db.CreateAdmin(ctx, addr, "first password")
		if err != nil {
			t.Fatal(err)
		}
		signsIn := func(pw string) bool {
			_, err := db.Authenticate(ctx, addr, pw, func(Credentials) error { return nil })
			return err == nil
		}

		now = now.Add(time.Hour)
		refused := errors.New("session not saved")
		if _, err := db.ChangePassword(ctx, id, "second password", func(context.Context, User) error { return refused }); !errors.Is(err, refused) {
			t.Fatalf("change with a failing save: %v", err)
		}
		if !signsIn("first password") || signsIn("second password") {
			t.Fatal("a change whose save failed was kept")
		}
		if u, _ := db.UserByID(ctx, id); !u.DevicesValidAfter.IsZero() {
			t.Fatalf("device trust ended by a failed change: %v", u.DevicesValidAfter)
		}

		var saved User
		u, err := db.ChangePassword(ctx, id, "second password", func(_ context.Context, u User) error { saved = u; return nil })
		if err != nil || u.ID != id || saved.ID != id {
			t.Fatalf("change = %+v, %v (saved %+v)", u, err, saved)
		}
		if signsIn("first password") || !signsIn("second password") {
			t.Fatal("the new password does not replace the old one")
		}
		if !saved.DevicesValidAfter.Equal(now) {
			t.Fatalf("devices valid after %v, want %v", saved.DevicesValidAfter, now)
		}
	})
}

// A change ends the reset links mailed before it, in its transaction (and
// only when it commits); a link asked for after it works.
func TestChangePasswordEndsResetLinks(t *testing.T) {
	backends(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		db = flowDB(t, db, &now, &countingNotifier{})
		const addr = "reset-then-change@example.org"
		id, err := db.CreateAdmin(ctx, addr, "first password")
		if err != nil {
			t.Fatal(err)
		}
		resetLink := func() string {
			t.Helper()
			if err := db.RequestReset(ctx, addr); err != nil {
				t.Fatal(err)
			}
			if err := db.HandleResetRequests(ctx); err != nil {
				t.Fatal(err)
			}
			ms := mailsTo(t, db, addr)
			return ms[len(ms)-1].token
		}
		early := resetLink()
		now = now.Add(time.Minute)
		refused := errors.New("session not saved")
		if _, err := db.ChangePassword(ctx, id, "second password", func(context.Context, User) error { return refused }); !errors.Is(err, refused) {
			t.Fatalf("change with a failing save: %v", err)
		}
		if _, err := db.CheckToken(ctx, early, PurposeReset, now); err != nil {
			t.Fatalf("a change that was not kept ended the reset link: %v", err)
		}
		if _, err := db.ChangePassword(ctx, id, "second password", noSession); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CheckToken(ctx, early, PurposeReset, now); !errors.Is(err, ErrTokenSuperseded) {
			t.Fatalf("reset link mailed before the change: %v, want ErrTokenSuperseded", err)
		}
		if _, err := db.CompleteReset(ctx, early, "third password", noSession); !errors.Is(err, ErrTokenSuperseded) {
			t.Fatalf("reset with the earlier link: %v, want ErrTokenSuperseded", err)
		}
		now = now.Add(time.Minute)
		if _, err := db.CompleteReset(ctx, resetLink(), "third password", noSession); err != nil {
			t.Fatalf("reset link asked for after the change: %v", err)
		}
	})
}
