package handlers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/store"
	"shelf/store/accounts"
)

// Item 23: sign-up and confirmation change an account and give the
// browser the session that carries the change (a reset gives none: it
// never signs in). Both are stored in one transaction, so a session that
// cannot be saved leaves the account as it was, and the 503 the browser
// gets is the truth.

// failSessionInserts makes every new session row fail with SQLITE_FULL (a
// disk that fills up just then), while the other small writes still fit:
// a trigger tries to store 16 MB with each session, in a database allowed
// to grow by 1 MB.
func failSessionInserts(t testing.TB, db *store.DB) (restore func()) {
	t.Helper()
	exec := func(q string) {
		t.Helper()
		if _, err := db.Write.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TABLE disk_filler (b BLOB)`)
	exec(`CREATE TRIGGER session_fills_disk BEFORE INSERT ON sessions BEGIN
		INSERT INTO disk_filler VALUES (zeroblob(16000000)); END`)
	var pages, pageSize int
	if err := db.Write.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if err := db.Write.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+(1<<20)/pageSize))
	return func() {
		exec(`DROP TRIGGER session_fills_disk`)
		exec(`PRAGMA max_page_count = 1073741823`)
	}
}

// countSessionWrites records every insert and update of a session row.
func countSessionWrites(t testing.TB, db *store.DB) (count func() int) {
	t.Helper()
	for _, q := range []string{
		`CREATE TABLE session_writes (token TEXT)`,
		`CREATE TRIGGER session_inserted AFTER INSERT ON sessions BEGIN INSERT INTO session_writes VALUES (new.token); END`,
		`CREATE TRIGGER session_updated AFTER UPDATE ON sessions BEGIN INSERT INTO session_writes VALUES (new.token); END`,
	} {
		if _, err := db.Write.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return func() int {
		var n int
		if err := db.Read.QueryRow(`SELECT count(*) FROM session_writes`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
}

func TestSignUpCommitsNothingWhenItsSessionFails(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	b.get("/register").wantStatus(t, http.StatusOK)
	restore := failSessionInserts(t, env.db)
	form := url.Values{"email": {"unsaved@example.org"}, "password": {goodPassword}, "password_confirm": {goodPassword}}

	wantUnavailable(t, b.post("/register", form))
	if _, err := env.app.Accounts.UserByEmail(context.Background(), "unsaved@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the account was created although the browser was told it failed (err %v)", err)
	}
	if ms := env.mails("unsaved@example.org"); len(ms) != 0 {
		t.Fatalf("%d mails enqueued for a sign-up that failed", len(ms))
	}
	if b.sessionCookie() != nil || sessionRows(t, env) != 0 {
		t.Fatal("a session for a sign-up that failed")
	}

	// Trying again once the disk has room works, with one session written once.
	restore()
	writes := countSessionWrites(t, env.db)
	p := b.post("/register", form)
	if p.status != http.StatusSeeOther || p.location() != "/check-email" {
		t.Fatalf("sign-up after the failure: %d %q\n%s", p.status, p.location(), p.body)
	}
	env.user("unsaved@example.org")
	if b.sessionCookie() == nil || sessionRows(t, env) != 1 || writes() != 1 {
		t.Fatalf("cookie %v, %d sessions, %d session writes; want a cookie, 1, 1", b.sessionCookie(), sessionRows(t, env), writes())
	}
	b.get("/check-email").wantStatus(t, http.StatusOK).wantContains(t, "unsaved@example.org")
}

func TestConfirmCommitsNothingWhenItsSessionFails(t *testing.T) {
	env := newTestEnv(t)
	b := env.signUp("confirm-unsaved@example.org")
	link := env.lastLink("confirm-unsaved@example.org")
	b.get(link).wantStatus(t, http.StatusOK)
	restore := failSessionInserts(t, env.db)

	wantUnavailable(t, b.post(link, nil))
	if env.user("confirm-unsaved@example.org").Confirmed() {
		t.Fatal("the account was confirmed although the browser was told it failed")
	}
	// The link still works, and the browser still holds its pending sign-up.
	b.get("/check-email").wantStatus(t, http.StatusOK).wantContains(t, "confirm-unsaved@example.org")
	b.get(link).wantStatus(t, http.StatusOK).wantContains(t, `id="confirm-form"`)

	restore()
	writes := countSessionWrites(t, env.db)
	b.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`, "Go to your account")
	if !env.user("confirm-unsaved@example.org").Confirmed() {
		t.Fatal("not confirmed")
	}
	if sessionRows(t, env) != 1 || writes() != 1 {
		t.Fatalf("%d sessions, %d session writes; want 1, 1", sessionRows(t, env), writes())
	}
	b.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `id="account-email">confirm-unsaved@example.org<`)
}

// A reset writes no session (it never signs in): it works while sessions
// cannot be stored, and ends the account's sessions.
func TestResetNeedsNoSession(t *testing.T) {
	env := newTestEnv(t)
	const email = "reset-unsaved@example.org"
	signedIn := env.register(email)
	r := env.browser()
	r.get("/password/forgot")
	r.post("/password/forgot", url.Values{"email": {email}}).wantStatus(t, http.StatusOK)
	env.waitMails(email, 2)
	link := env.lastLink(email)
	r.get(link).wantStatus(t, http.StatusOK)
	restore := failSessionInserts(t, env.db)
	newPW := "quiet orange lantern"
	form := url.Values{"password": {newPW}, "password_confirm": {newPW}}

	writes := countSessionWrites(t, env.db)
	p := r.post(link, form)
	if p.status != http.StatusSeeOther || p.location() != paths.LoginNext(paths.Account) {
		t.Fatalf("reset while sessions cannot be stored: %d %q\n%s", p.status, p.location(), p.body)
	}
	ctx := context.Background()
	_, hash, err := env.app.Accounts.PasswordHashByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := env.app.Accounts.Hasher.Verify(ctx, hash, newPW); err != nil || !ok {
		t.Fatalf("the new password was not stored (%v)", err)
	}
	if r.sessionCookie() != nil || writes() != 0 || sessionRows(t, env) != 0 {
		t.Fatalf("cookie %v, %d session writes, %d sessions after a reset; want none", r.sessionCookie(), writes(), sessionRows(t, env))
	}
	signedIn.get("/account").wantStatus(t, http.StatusSeeOther)
	r.get(link).wantStatus(t, http.StatusGone)

	restore()
	r.get("/login")
	r.login(email, newPW).wantStatus(t, http.StatusSeeOther)
	r.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `data-signed-in-as="`+email+`"`)
}

// Any other failure of the session's write undoes the flow too (here a
// sign-in by a mailed link), and the error page does not show the account
// the unsaved session was for.
func TestFailedSessionInTxShowsNoAccount(t *testing.T) {
	env := newMagicEnv(t)
	const email = "abort@example.org"
	env.register(email)
	r := env.browser()
	env.askMagic(r, email)
	link, _ := env.magicMail(email)
	r.get(link).wantStatus(t, http.StatusOK)
	if _, err := env.db.Write.Exec(`CREATE TRIGGER session_refused BEFORE INSERT ON sessions BEGIN
		SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	p := r.post(link, nil).wantStatus(t, http.StatusInternalServerError)
	if strings.Contains(p.body, "data-signed-in-as") || strings.Contains(p.body, email) {
		t.Fatalf("the error page shows the account of a session never stored:\n%s", p.body)
	}
	if r.sessionCookie() != nil {
		t.Fatal("a session cookie for a sign-in that failed")
	}
	r.get(link).wantStatus(t, http.StatusOK).wantContains(t, "Sign in on this device?")
}

// On PostgreSQL a flow's transaction may run again after a serialization
// conflict (store.DB.InTx), and withSession's change with it. The second
// run starts from the session as it was before the first: the pending
// sign-up the first run ended is there again, the old session row that the
// first run's token renewal deleted (rolled back with it) is deleted, and
// the browser gets one device cookie.
func TestFlowSessionRunsAgainFromItsStart(t *testing.T) {
	env := newTestEnv(t)
	const email = "again@example.org"
	b := env.signUp(email)
	before := b.sessionCookie()
	uid := env.user(email).ID
	errConflict := errors.New("conflict: run again")
	env.app.echo.POST("/test/confirm-twice", func(c echo.Context) error {
		a := env.app
		ctx := c.Request().Context()
		runs := 0
		err := a.withSession(c, func(save accounts.SaveSession) error {
			// What InTx does on PostgreSQL when the first run conflicts.
			for {
				runs++
				err := a.DB.InTx(ctx, func(tx *sql.Tx) error {
					u, err := accounts.UserByIDTx(ctx, tx, uid)
					if err != nil {
						return err
					}
					if err := save(store.WithTx(ctx, tx), u); err != nil {
						return err
					}
					if runs == 1 {
						return errConflict
					}
					return nil
				})
				if !errors.Is(err, errConflict) {
					return err
				}
			}
		}, func(u accounts.User) error {
			c.Set(ctxUser, nil)
			return a.signInPendingSignUp(c, u)
		})
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, fmt.Sprintf("runs=%d user=%d", runs, a.Sessions.GetInt64(c.Request().Context(), sessUserID)))
	})
	b.get("/check-email")
	p := b.post("/test/confirm-twice", nil).wantStatus(t, http.StatusOK).wantContains(t, fmt.Sprintf("runs=2 user=%d", uid))
	if n := len(p.header.Values("Set-Cookie")); n != 2 { // the session and the device cookie
		t.Fatalf("%d cookies set, want 2: %q", n, p.header.Values("Set-Cookie"))
	}
	if sessionRows(t, env) != 1 {
		t.Fatalf("%d session rows, want 1 (the pending sign-up's was renewed)", sessionRows(t, env))
	}
	if c := b.sessionCookie(); c == nil || c.Value == before.Value {
		t.Fatal("the session token was not renewed at sign-in")
	}
	// The pending sign-up's cookie no longer opens any session.
	old := env.browser()
	old.setCookie(env.app.Sessions.Cookie.Name, before.Value)
	old.get("/check-email").wantStatus(t, http.StatusSeeOther)
	b.get("/check-email").wantStatus(t, http.StatusOK).wantContains(t, `data-signed-in-as="`+email+`"`)
}
