package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/catalog"
	"shelf/store/search"
	"shelf/store/storetest"
)

// ---- Test harness: the real handler over HTTP, a real SQLite file, a
// settable clock, and browsers with cookie jars. ----

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type countNotifier struct{ n atomic.Int64 }

func (n *countNotifier) Notify() { n.n.Add(1) }

type testEnv struct {
	t      testing.TB
	app    *App
	db     *store.DB
	srv    *httptest.Server
	clock  *clock
	mailer *countNotifier

	booksAdded int // for unique dedupe keys, see addBooks
}

// testSecretKey seals the tests' second-factor secrets.
var testSecretKey = []byte("0123456789abcdef0123456789abcdef")

// testHash is cheap; the PHC string records parameters, so it works as real.
var testHash = accounts.HashParams{Time: 1, Memory: 64, Threads: 1}

// productionHash gives the App the production hash cost, for tests and
// benchmarks that time it.
func productionHash(_ *Deps, s *Settings) { s.Accounts.Hash = accounts.DefaultHashParams }

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	return newTestEnvWith(t, nil)
}

// newTestEnvWith is newTestEnv with setup applied to the App's
// dependencies and settings before it is built.
func newTestEnvWith(t testing.TB, setup func(*Deps, *Settings)) *testEnv {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "shelf.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newTestEnvOn(t, db, &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, setup)
}

// newInstances starts n Apps, each with its own server, over one fresh
// PostgreSQL database and one clock: instances of Shelf behind a load
// balancer. A browser moves between them with browser.at. They serve
// accounts only (no catalog search). Skipped without a PostgreSQL server
// (unless CI=true).
func newInstances(t testing.TB, n int) []*testEnv {
	t.Helper()
	db := storetest.OpenPostgres(t)
	clk := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	envs := make([]*testEnv, n)
	for i := range envs {
		envs[i] = newTestEnvOn(t, db, clk, func(d *Deps, _ *Settings) { d.Search = nil })
	}
	return envs
}

// newTestEnvOn builds an App and its server over db, with clk as its
// clock. setup may drop the catalog search (Deps.Search = nil), which is
// then not built, or give one of its own (with the DB and catalog it
// searches).
func newTestEnvOn(t testing.TB, db *store.DB, clk *clock, setup func(*Deps, *Settings)) *testEnv {
	t.Helper()
	base, _ := url.Parse("http://shelf.test")
	env := &testEnv{t: t, db: db, clock: clk, mailer: &countNotifier{}}
	buildSearch := &search.Searcher{} // stands for "a Searcher of deps.DB, built below"
	deps := Deps{DB: db, Logger: slog.New(slog.DiscardHandler), Now: env.clock.Now, Mailer: env.mailer,
		Catalog: catalog.New(db), Search: buildSearch}
	settings := Settings{BaseURL: base, Accounts: AccountSettings{Hash: testHash}, SecretKey: testSecretKey}
	if setup != nil {
		setup(&deps, &settings)
	}
	env.db = deps.DB
	if deps.Search == buildSearch {
		searcher, err := search.New(context.Background(), deps.DB)
		if err != nil {
			t.Fatal(err)
		}
		deps.Search = searcher
	}
	var err error
	env.app, err = New(deps, settings)
	if err != nil {
		t.Fatal(err)
	}
	env.srv = httptest.NewServer(env.app)
	t.Cleanup(env.srv.Close)
	return env
}

type browser struct {
	env  *testEnv
	http *http.Client
	csrf string // last token seen on a page
	ua   string // User-Agent sent, if set
}

// at returns the same browser (its cookies, its last CSRF token) talking
// to env's server instead. Servers of one test all listen on 127.0.0.1,
// and cookies do not depend on the port, so the browser's cookies go to
// every one of them, as to instances behind one address.
func (b *browser) at(env *testEnv) *browser {
	return &browser{env: env, http: b.http, csrf: b.csrf, ua: b.ua}
}

func (env *testEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{env: env, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	body   string
	header http.Header
}

var csrfRe = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)

func (b *browser) do(req *http.Request) page {
	b.env.t.Helper()
	if b.ua != "" && req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", b.ua)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.env.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRe.FindSubmatch(body); m != nil {
		b.csrf = html.UnescapeString(string(m[1]))
	}
	return page{status: resp.StatusCode, body: string(body), header: resp.Header}
}

// get fetches path; headers are name, value pairs sent with the request.
func (b *browser) get(path string, headers ...string) page {
	b.env.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.env.srv.URL+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// post submits a form like a browser without JavaScript, with the page's
// CSRF token in _csrf.
func (b *browser) post(path string, form url.Values) page {
	b.env.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" && b.csrf != "" {
		form.Set("_csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.env.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// htmx posts like htmx with static/app.js: the token in X-CSRF-Token.
func (b *browser) htmx(path string, form url.Values) page {
	b.env.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.env.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", b.csrf)
	return b.do(req)
}

func (b *browser) sessionCookie() *http.Cookie {
	u, _ := url.Parse(b.env.srv.URL)
	for _, c := range b.http.Jar.Cookies(u) {
		if c.Name == b.env.app.Sessions.Cookie.Name {
			return c
		}
	}
	return nil
}

func (p page) wantStatus(t testing.TB, want int) page {
	t.Helper()
	if p.status != want {
		t.Fatalf("status %d, want %d; body:\n%s", p.status, want, p.body)
	}
	return p
}

func (p page) wantContains(t testing.TB, subs ...string) page {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(p.body, s) {
			t.Fatalf("page lacks %q; body:\n%s", s, p.body)
		}
	}
	return p
}

func (p page) location() string { return p.header.Get("Location") }

const goodPassword = "violet tractor humming"

// signUp signs up through the no-JS form and returns the browser, which
// holds the pending sign-up but is not signed in.
func (env *testEnv) signUp(email string) *browser {
	env.t.Helper()
	b := env.browser()
	b.get("/register").wantStatus(env.t, http.StatusOK)
	p := b.post("/register", url.Values{"email": {email}, "password": {goodPassword}, "password_confirm": {goodPassword}})
	if p.status != http.StatusSeeOther || p.location() != "/check-email" {
		env.t.Fatalf("register: %d %s\n%s", p.status, p.location(), p.body)
	}
	return b
}

// register signs up and confirms the address in the same browser, which
// that signs in, and returns the browser, signed in to the confirmed
// account. (Password sign-in needs a confirmed address.)
func (env *testEnv) register(email string) *browser {
	env.t.Helper()
	b := env.signUp(email)
	link := env.lastLink(accounts.NormalizeEmail(email))
	b.get(link).wantStatus(env.t, http.StatusOK)
	if p := b.post(link, nil); p.status != http.StatusOK || !strings.Contains(p.body, `data-outcome="confirmed"`) {
		env.t.Fatalf("confirm after sign-up: %d\n%s", p.status, p.body)
	}
	b.get("/account").wantStatus(env.t, http.StatusOK) // the signed-in session's CSRF token
	return b
}

// signInUnconfirmed signs b in to email's account while its address stays
// unconfirmed: the state of a session that signed in before password
// sign-in required a confirmed address, which the login form no longer
// reaches. The account is marked confirmed only for the sign-in.
func (b *browser) signInUnconfirmed(email string) *browser {
	env := b.env
	env.t.Helper()
	setConfirmed := func(at any) {
		if _, err := env.db.Write.Exec(`UPDATE users SET confirmed_at = $1 WHERE email = $2`, at, email); err != nil {
			env.t.Fatal(err)
		}
	}
	setConfirmed("2000-01-01 00:00:00.000")
	b.get("/login")
	if p := b.post("/login", url.Values{"email": {email}, "password": {goodPassword}}); p.status != http.StatusSeeOther {
		env.t.Fatalf("sign in: %d\n%s", p.status, p.body)
	}
	setConfirmed(nil)
	b.get("/check-email").wantStatus(env.t, http.StatusOK).wantContains(env.t, `data-signed-in-as="`+email+`"`)
	return b
}

// waitMails waits until `to` has at least n mails (reset mail is enqueued by
// a background worker) and returns them.
func (env *testEnv) waitMails(to string, n int) []sentMail {
	env.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms := env.mails(to)
		if len(ms) >= n || time.Now().After(deadline) {
			return ms
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type sentMail struct{ To, Subject, Text, HTML string }

// mails returns the account-flow mails to `to` (confirmation, reset,
// sign-up notices), oldest first: security mails (securityMails), which
// sign-ins and resets add, are left out, so tests of the flows count and
// pick their own mails.
func (env *testEnv) mails(to string) []sentMail {
	env.t.Helper()
	var out []sentMail
	for _, m := range env.allMails(to) {
		if !isSecurityMail(m) {
			out = append(out, m)
		}
	}
	return out
}

// securityMails returns the security mails to `to`, oldest first: the
// notices with a "This wasn't me" link, and the confirmation that one was used.
func (env *testEnv) securityMails(to string) []sentMail {
	env.t.Helper()
	var out []sentMail
	for _, m := range env.allMails(to) {
		if isSecurityMail(m) {
			out = append(out, m)
		}
	}
	return out
}

func isSecurityMail(m sentMail) bool {
	return strings.Contains(m.Text, "http://shelf.test/security/") || m.Subject == "We secured your Shelf account"
}

func (env *testEnv) allMails(to string) []sentMail {
	env.t.Helper()
	rows, err := env.db.Read.Query(`SELECT recipient, subject, text_body, html_body FROM outbox WHERE recipient = $1 ORDER BY id`, to)
	if err != nil {
		env.t.Fatal(err)
	}
	defer rows.Close()
	var out []sentMail
	for rows.Next() {
		var m sentMail
		if err := rows.Scan(&m.To, &m.Subject, &m.Text, &m.HTML); err != nil {
			env.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

var linkRe = regexp.MustCompile(`http://shelf\.test(/[A-Za-z0-9/_\-]+)`)

// lastLink returns the path of the link in the newest mail to `to`, checking
// it appears in both the text and HTML parts.
func (env *testEnv) lastLink(to string) string {
	env.t.Helper()
	ms := env.mails(to)
	if len(ms) == 0 {
		env.t.Fatalf("no mail to %s", to)
	}
	m := ms[len(ms)-1]
	tm, hm := linkRe.FindStringSubmatch(m.Text), linkRe.FindStringSubmatch(m.HTML)
	if tm == nil || hm == nil || tm[1] != hm[1] {
		env.t.Fatalf("link missing or different in text/HTML:\n%s\n%s", m.Text, m.HTML)
	}
	return tm[1]
}

func (env *testEnv) user(email string) accounts.User {
	env.t.Helper()
	u, err := env.app.Accounts.UserByEmail(context.Background(), email)
	if err != nil {
		env.t.Fatal(err)
	}
	return u
}

// addBooks inserts books (on a fresh database their IDs are 1, 2, … in
// order) and refreshes the search vocabulary, as an import would.
func (env *testEnv) addBooks(books ...catalog.Book) {
	env.t.Helper()
	ctx := context.Background()
	err := env.db.InTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO books (title, authors, year, isbn13, language, average_rating, ratings_count, dedupe_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, b := range books {
			env.booksAdded++
			if _, err := st.ExecContext(ctx, b.Title, b.Authors, b.Year, b.ISBN13, b.Language, b.AverageRating, b.RatingsCount,
				fmt.Sprintf("test:%d", env.booksAdded)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		env.t.Fatalf("add books: %v", err)
	}
	if err := env.app.Search.RefreshTerms(ctx); err != nil {
		env.t.Fatalf("add books: %v", err)
	}
}

// htmxHeaders mark a request as htmx sends it.
var htmxHeaders = []string{"HX-Request", "true"}

// varies reports whether the response's Vary header names h.
func (p page) varies(h string) bool {
	for _, v := range p.header.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), h) {
				return true
			}
		}
	}
	return false
}

// sessionValue reads key from the stored session of b's cookie.
func sessionValue(t testing.TB, env *testEnv, b *browser, key string) (any, bool) {
	t.Helper()
	c := b.sessionCookie()
	if c == nil {
		return nil, false
	}
	data, found, err := env.app.SessionStore.FindCtx(context.Background(), storedToken(c.Value))
	if err != nil || !found {
		t.Fatalf("session of the cookie: found %v, %v", found, err)
	}
	_, values, err := scs.GobCodec{}.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := values[key]
	return v, ok
}
