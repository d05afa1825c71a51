package handlers

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/store/storetest"
)

// Tests for issue #7: bodies, anonymous CSRF, caching, HSTS, logs, token
// masking and database faults.

// bigBody is size bytes of 'a' made on the fly, so the client allocates
// nothing for it.
type bigBody struct{ left int64 }

func (b *bigBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), b.left)
	for i := range p[:n] {
		p[i] = 'a'
	}
	b.left -= n
	return int(n), nil
}

// multipartRequest is a multipart POST carrying one file of size bytes.
func multipartRequest(t testing.TB, target string, size int64, chunked bool) *http.Request {
	t.Helper()
	const boundary = "shelfboundary"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\nx\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"big.bin\"\r\n" +
		"Content-Type: application/octet-stream\r\n\r\n"
	tail := "\r\n--" + boundary + "--\r\n"
	body := io.MultiReader(strings.NewReader(head), &bigBody{left: size}, strings.NewReader(tail))
	req, err := http.NewRequest(http.MethodPost, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if !chunked {
		req.ContentLength = int64(len(head)) + size + int64(len(tail))
	}
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	return req
}

// send does req with b's cookies and returns the status, or 0 when the
// server closed the connection before answering (allowed for big bodies).
func (b *browser) send(req *http.Request) (int, string) {
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func countFiles(t testing.TB, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// Item 1: big multipart uploads, anonymous or not, to a form or to no
// route at all, leave nothing in the temporary directory, and are refused
// with the friendly page.
func TestMultipartUploadsLeaveNoTempFiles(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	env := newTestEnv(t)
	anon := env.browser()
	withCookie := env.browser()
	withCookie.get("/login").wantStatus(t, http.StatusOK)
	signedIn := env.register("uploader@example.org")

	before := countFiles(t, tmp)
	const size = 40 << 20 // over the 32 MiB net/http keeps in memory
	for _, c := range []struct {
		b    *browser
		path string
	}{{anon, "/login"}, {withCookie, "/login"}, {anon, "/no-such-page"}, {signedIn, "/check-email/resend"}} {
		status, body := c.b.send(multipartRequest(t, env.srv.URL+c.path, size, false))
		if status != 0 && status != http.StatusUnsupportedMediaType && status != http.StatusRequestEntityTooLarge {
			t.Errorf("multipart POST %s: status %d", c.path, status)
		}
		if status == http.StatusUnsupportedMediaType && !strings.Contains(body, "Unsupported") {
			t.Errorf("415 without the friendly page:\n%s", body)
		}
	}
	if after := countFiles(t, tmp); after != before {
		t.Fatalf("%d files left in TMPDIR after multipart uploads (before %d)", after-before, before)
	}
	// A small one gets a clear answer too.
	if status, _ := withCookie.send(multipartRequest(t, env.srv.URL+"/login", 10, false)); status != http.StatusUnsupportedMediaType {
		t.Fatalf("small multipart POST: %d, want 415", status)
	}
}

// Item 2: concurrent big bodies are refused before they are read, so they
// cost the server no memory. The bound is far below one 32 MiB multipart
// buffer, which every such request used to cost.
func TestBigBodiesCostNoMemory(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	env := newTestEnv(t)
	b := env.browser()
	b.get("/login").wantStatus(t, http.StatusOK) // has a CSRF cookie: the body would be read

	const size, clients = 40 << 20, 4
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(2)
		go func() { // multipart, with and without Content-Length
			defer wg.Done()
			b.send(multipartRequest(t, env.srv.URL+"/login", size, i%2 == 0))
		}()
		go func() { // a form body that never ends, sent chunked
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/login",
				io.MultiReader(strings.NewReader("_csrf="+url.QueryEscape(b.csrf)+"&email="), &bigBody{left: size}))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if status, _ := b.send(req); status != 0 && status != http.StatusRequestEntityTooLarge {
				t.Errorf("endless form: status %d, want 413", status)
			}
		}()
	}
	wg.Wait()
	runtime.ReadMemStats(&m1)
	if grew := m1.TotalAlloc - m0.TotalAlloc; grew > 16<<20 {
		t.Fatalf("%d concurrent 40 MiB bodies allocated %d MiB", 2*clients, grew>>20)
	}
}

func sessionRows(t testing.TB, env *testEnv) int {
	t.Helper()
	var n int
	if err := env.db.Read.QueryRow(`SELECT count(*) FROM sessions WHERE token NOT LIKE 'filler-%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Item 6: anonymous forms store nothing on the server, and still work.
func TestAnonymousFormsStoreNoSessions(t *testing.T) {
	env := newTestEnv(t)
	for i := 0; i < 30; i++ {
		for _, path := range []string{"/login", "/register", "/password/forgot"} {
			p := env.browser().get(path).wantStatus(t, http.StatusOK).wantContains(t, `name="_csrf"`, `name="csrf-token"`)
			if ck := p.header.Values("Set-Cookie"); len(ck) != 1 || !strings.HasPrefix(ck[0], "shelf_csrf=") ||
				!strings.Contains(ck[0], "HttpOnly") || !strings.Contains(ck[0], "SameSite=Lax") {
				t.Fatalf("%s cookies: %q", path, ck)
			}
		}
	}
	if n := sessionRows(t, env); n != 0 {
		t.Fatalf("anonymous form pages stored %d sessions", n)
	}

	// The forms work: in-place validation (htmx, token in the header), a
	// reset request, a failed sign-in, all without a session.
	b := env.browser()
	b.get("/register").wantStatus(t, http.StatusOK)
	b.htmx("/register/validate/email", url.Values{"email": {"bad@"}}).wantStatus(t, http.StatusOK)
	b.get("/password/forgot")
	b.post("/password/forgot", url.Values{"email": {"nobody@example.org"}}).wantStatus(t, http.StatusOK)
	b.get("/login")
	b.post("/login", url.Values{"email": {"nobody@example.org"}, "password": {"wrong password!"}}).wantStatus(t, http.StatusUnprocessableEntity)
	if n := sessionRows(t, env); n != 0 {
		t.Fatalf("anonymous form posts stored %d sessions", n)
	}
	// A token is bound to its browser's cookie.
	other := env.browser()
	other.get("/login")
	other.csrf = b.csrf
	other.post("/login", url.Values{"email": {"nobody@example.org"}, "password": {"x"}}).wantStatus(t, http.StatusForbidden)

	// Signing up signs in: that, and only that, starts a session.
	env.register("anon-forms@example.org")
	if n := sessionRows(t, env); n != 1 {
		t.Fatalf("%d sessions after one sign-up, want 1", n)
	}
}

// newServer serves the App built from d and s on a test server and returns
// its URL.
func newServer(t testing.TB, d Deps, s Settings) string {
	t.Helper()
	app, err := New(d, s)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAnonymousCSRFCookieOverHTTPS(t *testing.T) {
	env := newTestEnv(t)
	base, _ := url.Parse("https://shelf.test")
	ts := newServer(t, Deps{DB: env.db, Catalog: env.app.Catalog, Search: env.app.Search, Logger: slog.New(slog.DiscardHandler)}, Settings{BaseURL: base, SecretKey: testSecretKey})
	resp, err := http.Get(ts + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ck := resp.Header.Get("Set-Cookie")
	if !strings.HasPrefix(ck, "__Host-shelf_csrf=") || !strings.Contains(ck, "Secure") || !strings.Contains(ck, "Path=/") {
		t.Fatalf("cookie over https: %q", ck)
	}
}

// Item 12: pages for a signed-in reader, and pages carrying a CSRF token,
// are not stored by browsers or proxies.
func TestPrivatePagesAreNotCached(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("cache@example.org")
	for _, path := range []string{"/", "/about", "/search?q=x", "/check-email"} {
		if p := b.get(path); p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("signed-in %s: Cache-Control %q", path, p.header.Get("Cache-Control"))
		}
	}
	for _, path := range []string{"/login", "/register", "/password/forgot"} {
		if p := env.browser().get(path); p.header.Get("Cache-Control") != "no-store" {
			t.Errorf("anonymous %s: Cache-Control %q", path, p.header.Get("Cache-Control"))
		}
	}
}

// Item 13: HSTS when the base URL is https, never over http.
func TestStrictTransportSecurity(t *testing.T) {
	env := newTestEnv(t)
	if h := env.browser().get("/about").header.Get("Strict-Transport-Security"); h != "" {
		t.Fatalf("HSTS over http: %q", h)
	}
	base, _ := url.Parse("https://shelf.test")
	ts := newServer(t, Deps{DB: env.db, Catalog: env.app.Catalog, Search: env.app.Search, Logger: slog.New(slog.DiscardHandler)}, Settings{BaseURL: base, SecretKey: testSecretKey})
	resp, err := http.Get(ts + "/about")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("Strict-Transport-Security"); h != "max-age=31536000" {
		t.Fatalf("HSTS over https: %q", h)
	}
}

// syncBuf is a log destination safe for the server's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Item 14: the logs name routes, never the paths that carry live tokens.
func TestLogsCarryRoutesNotTokens(t *testing.T) {
	env := newTestEnv(t)
	var logs syncBuf
	env.app.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	env.register("logs@example.org")
	confirm := env.lastLink("logs@example.org")
	b := env.browser()
	b.get(confirm).wantStatus(t, http.StatusOK)
	b.get("/password/forgot")
	b.post("/password/forgot", url.Values{"email": {"logs@example.org"}})
	env.waitMails("logs@example.org", 2) // the reset mail is enqueued in the background
	reset := env.lastLink("logs@example.org")
	b.get(reset).wantStatus(t, http.StatusOK)
	b.get("/no-such-page-secret-path")
	// An error page logs too.
	env.db.Close()
	b.get(reset)

	out := logs.String()
	for _, secret := range []string{confirm, reset, strings.TrimPrefix(confirm, "/confirm/"),
		strings.TrimPrefix(reset, "/password/reset/"), "secret-path"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
	for _, want := range []string{"route=/confirm/:token", "route=/password/reset/:token", `msg="request failed"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}

// Item 17: the token differs on every page, and every one of them works.
func TestCSRFTokenMaskedPerResponse(t *testing.T) {
	env := newTestEnv(t)
	anon := env.browser()
	anon.get("/login")
	t1 := anon.csrf
	anon.get("/login")
	t2 := anon.csrf
	if t1 == t2 {
		t.Fatalf("the same anonymous token twice: %q", t1)
	}
	for _, tok := range []string{t1, t2} {
		anon.post("/login", url.Values{"_csrf": {tok}, "email": {"a@example.org"}, "password": {"wrong password!"}}).
			wantStatus(t, http.StatusUnprocessableEntity)
	}

	b := env.register("mask@example.org")
	b.get("/account")
	s1 := b.csrf
	b.get("/account")
	s2 := b.csrf
	if s1 == s2 {
		t.Fatalf("the same session token twice: %q", s1)
	}
	for _, tok := range []string{s1, s2} {
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/register/validate/password", strings.NewReader("password=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", tok)
		b.do(req).wantStatus(t, http.StatusOK)
	}
}

// Item 18: the token counts only in the header or the POST body.
func TestCSRFTokenNotReadFromQuery(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("query@example.org")
	b.get("/account")
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/register/validate/password?_csrf="+url.QueryEscape(b.csrf),
		strings.NewReader("password=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b.do(req).wantStatus(t, http.StatusForbidden)

	anon := env.browser()
	anon.get("/login")
	req, _ = http.NewRequest(http.MethodPost, env.srv.URL+"/login?_csrf="+url.QueryEscape(anon.csrf),
		strings.NewReader("email=a%40example.org&password=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	anon.do(req).wantStatus(t, http.StatusForbidden)
}

func wantUnavailable(t testing.TB, p page) {
	t.Helper()
	p.wantStatus(t, http.StatusServiceUnavailable).wantContains(t, "save right now")
	if p.header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	if strings.Contains(p.body, "csrf-token") {
		t.Errorf("503 page carries a CSRF token")
	}
}

// Item 23: a full disk answers 503 with Retry-After, never a page whose
// session (and token) was not stored.
func TestDiskFullAnswers503(t *testing.T) {
	env := newTestEnv(t)
	env.register("full@example.org")
	b := env.browser()
	b.get("/login").wantStatus(t, http.StatusOK)
	storetest.FillDisk(t, env.db)

	// The sign-in form still works: its token is stored nowhere.
	b.get("/login").wantStatus(t, http.StatusOK)
	b.post("/login", url.Values{"email": {"full@example.org"}, "password": {"wrong password!"}}).
		wantStatus(t, http.StatusUnprocessableEntity)
	// Signing in needs a session that cannot be saved: 503, no cookie.
	p := b.post("/login", url.Values{"email": {"full@example.org"}, "password": {goodPassword}})
	wantUnavailable(t, p)
	if b.sessionCookie() != nil {
		t.Fatal("a session cookie for a session that was never stored")
	}
	if n := sessionRows(t, env); n != 1 { // the sign-up's
		t.Fatalf("%d sessions", n)
	}
	// Sign-up's own writes fail the same way.
	r := env.browser()
	r.get("/register")
	wantUnavailable(t, r.post("/register", url.Values{"email": {"new@example.org"}, "password": {goodPassword}, "password_confirm": {goodPassword}}))
}

// A 503 keeps the header of the reader signed in: their address, their
// pages and "Sign out", never "Sign in". That holds whether the handler
// failed or only the session's own change could not be saved.
func TestUnavailablePageShowsWhoIsSignedIn(t *testing.T) {
	env, b := shelfEnv(t)
	// A notice waits in the session; showing it changes the session.
	b.get("/account/sessions").wantStatus(t, http.StatusOK)
	b.post("/account/sessions/sign-out-others", nil).wantStatus(t, http.StatusSeeOther)
	storetest.FillDisk(t, env.db)

	signedIn := func(what string, p page) {
		t.Helper()
		p.wantStatus(t, http.StatusServiceUnavailable).wantContains(t, `data-signed-in-as="ann@example.org"`, `id="nav-my-books"`, ">Sign out</button>")
		if strings.Contains(p.body, `href="/login"`) || strings.Contains(p.body, `href="/register"`) {
			t.Errorf("%s: the 503 page offers to sign in to a reader signed in:\n%s", what, p.body)
		}
	}
	b.post("/shelves/1/shelf", url.Values{"shelf": {"read"}}).wantStatus(t, http.StatusSeeOther) // room is left in its page
	signedIn("a note that needs pages", b.post("/shelves/1/note", url.Values{"note": {strings.Repeat("A long note. ", 150)}}))

	// Another process holds the write lock: showing the notice cannot be
	// saved, and the page the handler wrote becomes the 503 page.
	other, err := sql.Open("sqlite", "file:"+env.db.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := env.db.Write.Exec(`PRAGMA busy_timeout = 100`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, `ROLLBACK`)
	signedIn("a notice not taken", b.get("/account/sessions"))
}

// Item 23: a database locked by another process answers 503 too.
func TestLockedDatabaseAnswers503(t *testing.T) {
	env := newTestEnv(t)
	reader := env.register("locked@example.org")
	env.clock.Advance(2 * time.Minute) // the reader's idle expiry is due to slide
	other, err := sql.Open("sqlite", "file:"+env.db.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := env.db.Write.Exec(`PRAGMA busy_timeout = 100`); err != nil { // 5 s in production
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, `ROLLBACK`)

	// Reading still works for a signed-in reader: only the slide is lost.
	reader.get("/about").wantStatus(t, http.StatusOK).wantContains(t, `data-signed-in-as="locked@example.org"`)

	b := env.browser()
	b.get("/register").wantStatus(t, http.StatusOK)
	wantUnavailable(t, b.post("/register", url.Values{"email": {"new@example.org"}, "password": {goodPassword}, "password_confirm": {goodPassword}}))
	b.get("/login")
	wantUnavailable(t, b.post("/login", url.Values{"email": {"locked@example.org"}, "password": {goodPassword}}))
	if b.sessionCookie() != nil {
		t.Fatal("a session cookie for a session that was never stored")
	}
}

// Item 23: a request that waits on the database past its deadline is
// answered 503 (well before the server's write timeout would cut it off),
// and what it was doing is never committed afterwards.
func TestDeadlineAnswers503AndCommitsNothing(t *testing.T) {
	env := newTestEnv(t)
	env.register("deadline@example.org")
	env.app.RequestTimeout = 300 * time.Millisecond
	b := env.browser()
	b.http.Timeout = 5 * time.Second // the old code waited for as long as the writer was busy
	b.get("/register").wantStatus(t, http.StatusOK)

	ctx := context.Background()
	writer, err := env.db.Write.Conn(ctx) // the only write connection, held as a long write would
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		status int
		body   string
	}
	done := make(chan result, 1)
	go func() {
		form := url.Values{"email": {"late@example.org"}, "password": {goodPassword}, "password_confirm": {goodPassword}, "_csrf": {b.csrf}}
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/register", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		status, body := b.send(req)
		done <- result{status, body}
	}()
	r := <-done
	writer.Close() // the writer is free again
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "save right now") {
		t.Fatalf("sign-up while the writer is busy: status %d (0: no answer)\n%s", r.status, r.body)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := env.app.Accounts.UserByEmail(ctx, "late@example.org"); err == nil {
		t.Fatal("the account was created after the client was told it failed")
	}
}

// A notice for an anonymous visitor rides in a signed cookie: it starts no
// session, shows once, and a forged one shows nothing.
func TestAnonymousFlashStoresNoSession(t *testing.T) {
	env := newTestEnv(t)
	e := echo.New()
	e.Use(env.app.loadSession)
	e.GET("/set", func(c echo.Context) error {
		env.app.flash(c, "Your account was deleted.")
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/pop", func(c echo.Context) error { return c.String(http.StatusOK, env.app.popFlash(c)) })
	srv := httptest.NewServer(e)
	defer srv.Close()
	b := env.browser()
	get := func(path string) string {
		resp, err := b.http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	get("/set")
	if n := sessionRows(t, env); n != 0 {
		t.Fatalf("an anonymous notice stored %d sessions", n)
	}
	if got := get("/pop"); got != "Your account was deleted." {
		t.Fatalf("notice %q", got)
	}
	if got := get("/pop"); got != "" {
		t.Fatalf("notice shown twice: %q", got)
	}
	u, _ := url.Parse(srv.URL)
	b.http.Jar.SetCookies(u, []*http.Cookie{{Name: "shelf_flash", Value: "U2hlbGYgaXMgY2xvc2Vk.forged"}})
	if got := get("/pop"); got != "" {
		t.Fatalf("forged notice shown: %q", got)
	}
}
