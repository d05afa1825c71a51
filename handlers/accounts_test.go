package handlers

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/storetest"
)

// Sign-up leaves the browser with a pending sign-up, not signed in (so a
// session started with someone else's address never holds their account);
// after confirming elsewhere, it is asked to sign in.
func TestRegisterConfirmFromAnotherBrowser(t *testing.T) {
	env := newTestEnv(t)
	a := env.signUp("Reader@Example.ORG ")
	if env.mailer.n.Load() != 1 {
		t.Fatalf("notifier called %d times", env.mailer.n.Load())
	}
	u := env.user("Reader@example.org") // domain lower-cased, space trimmed
	if u.Confirmed() {
		t.Fatal("confirmed before the link was used")
	}
	if p := a.get("/check-email").wantStatus(t, http.StatusOK).wantContains(t, "Check your mailbox", "Reader@example.org"); strings.Contains(p.body, "data-signed-in-as") {
		t.Fatal("sign-up signed the browser in")
	}
	if p := a.get("/account"); p.status != http.StatusSeeOther || p.location() != "/login?next=%2Faccount" {
		t.Fatalf("unconfirmed /account: %d %s", p.status, p.location())
	}

	ms := env.mails("Reader@example.org")
	if len(ms) != 1 || ms[0].Subject != "Confirm your Shelf account" || !strings.Contains(ms[0].HTML, "<a href=\"http://shelf.test/confirm/") {
		t.Fatalf("mail = %+v", ms)
	}
	link := env.lastLink("Reader@example.org")

	// A mail scanner GETs the link: nothing is used up, and nothing on the
	// page submits by itself.
	scanner := env.browser()
	p := scanner.get(link).wantStatus(t, http.StatusOK).wantContains(t, `id="confirm-form"`, "Confirm my address")
	if strings.Contains(p.body, "data-autosubmit") {
		t.Fatal("the confirmation page submits itself")
	}
	scanner.get(link).wantStatus(t, http.StatusOK)

	// Another browser, never signed in, confirms.
	other := env.browser()
	other.get(link).wantStatus(t, http.StatusOK)
	other.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`, "Sign in")
	if !env.user("Reader@example.org").Confirmed() {
		t.Fatal("not confirmed")
	}
	if other.sessionCookie() != nil {
		t.Fatal("confirming from another browser started a session there")
	}
	other.get("/account").wantStatus(t, http.StatusSeeOther) // confirming does not sign the other browser in

	// The first browser is asked to sign in, and then sees its account.
	if p := a.get("/check-email"); p.location() != "/login?next=%2Faccount" {
		t.Fatalf("confirmed /check-email -> %q", p.location())
	}
	a.get("/login?next=%2Faccount").wantStatus(t, http.StatusOK).wantContains(t, "Your address is confirmed. Sign in")
	a.post("/login", url.Values{"email": {"Reader@example.org"}, "password": {goodPassword}, "next": {"/account"}}).wantStatus(t, http.StatusSeeOther)
	a.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `id="account-email">Reader@example.org<`, `id="account-confirmed">`)
	if p := a.get("/check-email"); p.location() != "/account" {
		t.Fatalf("confirmed /check-email -> %q", p.location())
	}

	// Reusing the link says the account is already confirmed.
	other.get(link).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="already-confirmed"`)
	other.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="already-confirmed"`)
}

func TestConfirmBadTokens(t *testing.T) {
	env := newTestEnv(t)
	a := env.signUp("bad@example.org").signInUnconfirmed("bad@example.org")
	link := env.lastLink("bad@example.org")
	token := strings.TrimPrefix(link, "/confirm/")
	swap := "A"
	if token[10] == 'A' {
		swap = "B"
	}
	tampered := token[:10] + swap + token[11:]
	b := env.browser()
	cases := []struct {
		path   string
		status int
		kind   string
	}{
		{"/confirm/" + tampered, http.StatusBadRequest, "tampered"},
		{"/confirm/" + token[:30], http.StatusBadRequest, "tampered"},
		{"/confirm/" + strings.Repeat("A", 48), http.StatusBadRequest, "tampered"},
		{"/confirm/" + unknownToken(t, env), http.StatusNotFound, "unknown"},
	}
	for _, c := range cases {
		p := b.get(c.path).wantStatus(t, c.status).wantContains(t, `data-outcome="`+c.kind+`"`, "new link")
		_ = p
		// The POST gives the same answer (b has a session from earlier pages).
		b.get("/login")
		b.post(c.path, nil).wantStatus(t, c.status).wantContains(t, `data-outcome="`+c.kind+`"`)
	}

	// Expired: 48 hours later, for anyone; the signed-in owner gets a resend button.
	env.clock.Advance(48*time.Hour + time.Second)
	a.signInUnconfirmed("bad@example.org") // the idle timeout has ended a's session: sign in again
	b.get(link).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="expired"`, "48 hours", `href="/password/forgot"`)
	a.get(link).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="expired"`, `action="/check-email/resend"`)
	a.post(link, nil).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="expired"`)
	if env.user("bad@example.org").Confirmed() {
		t.Fatal("expired link confirmed")
	}

	// A resend supersedes the old link; the new one works.
	a.get("/check-email")
	a.post("/check-email/resend", nil).wantStatus(t, http.StatusOK).wantContains(t, "We sent a new link")
	newLink := env.lastLink("bad@example.org")
	env.clock.Advance(time.Minute)
	a.post(newLink, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`, "Go to your account")
}

// unknownToken returns a well-formed token that was never issued.
func unknownToken(t testing.TB, env *testEnv) string {
	var tok string
	u, err := env.app.Accounts.UserByEmail(context.Background(), "bad@example.org")
	if err != nil {
		t.Fatal(err)
	}
	// Issue one in a transaction that is rolled back.
	tx, err := env.db.Write.Begin()
	if err != nil {
		t.Fatal(err)
	}
	tok, err = accounts.IssueToken(context.Background(), tx, u.ID, accounts.PurposeConfirm, time.Now(), time.Hour, false)
	tx.Rollback()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestResendLimits(t *testing.T) {
	env := newTestEnv(t)
	a := env.signUp("limits@example.org").signInUnconfirmed("limits@example.org")
	a.get("/check-email")
	// The sign-up mail counts for the once-a-minute rule.
	env.clock.Advance(20 * time.Second)
	a.post("/check-email/resend", nil).wantStatus(t, http.StatusTooManyRequests).wantContains(t, "in 40 seconds")
	for i := 0; i < 5; i++ {
		env.clock.Advance(time.Minute)
		a.post("/check-email/resend", nil).wantStatus(t, http.StatusOK).wantContains(t, "We sent a new link")
	}
	env.clock.Advance(time.Minute)
	a.post("/check-email/resend", nil).wantStatus(t, http.StatusTooManyRequests).wantContains(t, "5 new links today", "in 24 hours")
	if n := len(env.mails("limits@example.org")); n != 6 {
		t.Fatalf("%d mails, want 6", n)
	}
	env.clock.Advance(24 * time.Hour)
	a.signInUnconfirmed("limits@example.org") // idle sessions end after 12 hours: sign in again
	a.get("/check-email")
	a.post("/check-email/resend", nil).wantStatus(t, http.StatusOK)
	// Anonymous people cannot resend.
	anon := env.browser()
	anon.get("/login")
	if p := anon.post("/check-email/resend", nil); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login?next=") {
		t.Fatalf("anonymous resend: %d %s", p.status, p.location())
	}
}

func TestLoginLogoutAndSessionRotation(t *testing.T) {
	env := newTestEnv(t)
	env.register("login@example.org")

	b := env.browser()
	b.get("/login").wantStatus(t, http.StatusOK).wantContains(t, `id="login-form"`, `name="_csrf"`)
	if b.sessionCookie() != nil {
		t.Fatal("the login page started a session") // its token rests on a cookie only
	}
	// A session token planted before sign-in (fixation) is not kept.
	u, _ := url.Parse(env.srv.URL)
	before := &http.Cookie{Name: env.app.Sessions.Cookie.Name, Value: "planted-by-an-attacker"}
	b.http.Jar.SetCookies(u, []*http.Cookie{before})
	// Wrong password and unknown address get the same message.
	b.post("/login", url.Values{"email": {"login@example.org"}, "password": {"wrong password!"}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "Invalid email or password.", `value="login@example.org"`)
	b.post("/login", url.Values{"email": {"nobody@example.org"}, "password": {"wrong password!"}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "Invalid email or password.")

	p := b.post("/login", url.Values{"email": {"LOGIN@example.org"}, "password": {goodPassword}, "next": {"/account?tab=1"}})
	if p.status != http.StatusSeeOther || p.location() != "/account?tab=1" {
		t.Fatalf("login: %d %q", p.status, p.location())
	}
	after := b.sessionCookie()
	if after == nil || after.Value == before.Value {
		t.Fatal("session token not renewed at login")
	}
	// The planted token does not sign anyone in.
	old := env.browser()
	old.http.Jar.SetCookies(u, []*http.Cookie{{Name: before.Name, Value: before.Value}})
	if p := old.get("/check-email"); p.status != http.StatusSeeOther {
		t.Fatalf("planted session token signed in: %d", p.status)
	}
	// Signing in again renews the token, and the previous one stops working.
	previous := after
	b.get("/account")
	b.post("/logout", nil).wantStatus(t, http.StatusSeeOther)
	b.http.Jar.SetCookies(u, []*http.Cookie{{Name: previous.Name, Value: previous.Value}})
	b.get("/login")
	b.post("/login", url.Values{"email": {"login@example.org"}, "password": {goodPassword}}).wantStatus(t, http.StatusSeeOther)
	if c := b.sessionCookie(); c == nil || c.Value == previous.Value {
		t.Fatal("session token not renewed at the second sign-in")
	}

	b.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `data-signed-in-as="login@example.org"`)
	// Signed-in people visiting login or register go home.
	for _, path := range []string{"/login", "/register"} {
		if p := b.get(path); p.status != http.StatusSeeOther || p.location() != "/" {
			t.Fatalf("signed-in %s: %d %q", path, p.status, p.location())
		}
	}

	b.post("/logout", nil).wantStatus(t, http.StatusSeeOther)
	if c := b.sessionCookie(); c != nil {
		t.Fatalf("session cookie kept after logout: %v", c)
	}
	if p := b.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("after logout /check-email: %d", p.status)
	}
	var n int
	env.db.Read.QueryRow(`SELECT count(*) FROM sessions WHERE user_id = $1`, env.user("login@example.org").ID).Scan(&n)
	if n != 1 { // the registering browser's session only
		t.Fatalf("%d sessions for the user, want 1", n)
	}
}

func TestLoginRateLimit(t *testing.T) {
	env := newTestEnv(t)
	env.register("slow@example.org")
	b := env.browser()
	b.get("/login")
	for i := 0; i < 5; i++ {
		b.post("/login", url.Values{"email": {"slow@example.org"}, "password": {"nope nope nope"}}).wantStatus(t, http.StatusUnprocessableEntity)
	}
	// Even the right password waits now, though not for long: the delay
	// grows with further failures (see TestUntrustedClientsAreSlowedDown).
	b.post("/login", url.Values{"email": {"slow@example.org"}, "password": {goodPassword}}).
		wantStatus(t, http.StatusTooManyRequests).wantContains(t, "Too many attempts. Try again in 1 second.")
	env.clock.Advance(time.Second)
	if p := b.post("/login", url.Values{"email": {"slow@example.org"}, "password": {goodPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("after the wait: %d", p.status)
	}
}

func TestRememberMe(t *testing.T) {
	env := newTestEnv(t)
	env.register("remember@example.org")
	cookieFor := func(remember bool) *http.Cookie {
		b := env.browser()
		b.get("/login")
		form := url.Values{"email": {"remember@example.org"}, "password": {goodPassword}}
		if remember {
			form.Set("remember", "1")
		}
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/login", strings.NewReader(withCSRF(form, b.csrf).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == env.app.Sessions.Cookie.Name {
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
					t.Errorf("cookie flags: %+v", c)
				}
				return c
			}
		}
		t.Fatal("no session cookie set at login")
		return nil
	}
	c := cookieFor(true)
	if c.MaxAge < 29*24*3600 || c.Expires.Before(time.Now().Add(29*24*time.Hour)) {
		t.Fatalf("remember me: MaxAge=%d Expires=%v, want ~30 days", c.MaxAge, c.Expires)
	}
	c = cookieFor(false)
	if c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Fatalf("without remember me: MaxAge=%d Expires=%v, want a session cookie", c.MaxAge, c.Expires)
	}
}

func withCSRF(v url.Values, tok string) url.Values { v.Set("_csrf", tok); return v }

func TestSessionIdleTimeout(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("idle@example.org")
	b.get("/account").wantStatus(t, http.StatusOK)
	env.clock.Advance(11 * time.Hour)
	b.get("/account").wantStatus(t, http.StatusOK) // slides the idle expiry
	env.clock.Advance(11 * time.Hour)
	b.get("/account").wantStatus(t, http.StatusOK)
	env.clock.Advance(12*time.Hour + time.Minute)
	if p := b.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("idle session still valid: %d", p.status)
	}
}

func TestSearchDoesNotStartSessions(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	p := b.get("/about")
	if strings.Contains(p.body, "csrf-token") || b.sessionCookie() != nil || p.header.Get("Set-Cookie") != "" {
		t.Fatal("a page without forms started a session")
	}
	var n int
	env.db.Read.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d sessions stored", n)
	}
	// A signed-in browser reading pages does not write its session each time.
	s := env.register("reader2@example.org")
	var before, after string
	env.db.Read.QueryRow(`SELECT data || expiry FROM sessions WHERE user_id IS NOT NULL`).Scan(&before)
	for i := 0; i < 3; i++ {
		s.get("/about").wantStatus(t, http.StatusOK).wantContains(t, `data-signed-in-as="reader2@example.org"`)
	}
	env.db.Read.QueryRow(`SELECT data || expiry FROM sessions WHERE user_id IS NOT NULL`).Scan(&after)
	if before != after {
		t.Fatal("reading pages rewrote the session")
	}
}

func TestCSRF(t *testing.T) {
	env := newTestEnv(t)
	// Signed in to an unconfirmed account, whose resend button is the
	// POST tried here.
	b := env.signUp("csrf@example.org").signInUnconfirmed("csrf@example.org")
	b.get("/check-email")
	good := b.csrf
	wrong := "x" + good[1:]
	if good[0] == 'x' {
		wrong = "y" + good[1:]
	}
	post := func(headers map[string]string, form url.Values) int {
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/check-email/resend", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := b.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusForbidden && !strings.Contains(string(body), "Request refused") {
			t.Errorf("403 without the friendly page:\n%s", body)
		}
		return resp.StatusCode
	}
	env.clock.Advance(time.Minute)
	cases := []struct {
		name    string
		headers map[string]string
		form    url.Values
		want    int
	}{
		{"no token", nil, url.Values{}, http.StatusForbidden},
		{"wrong field", nil, url.Values{"_csrf": {wrong}}, http.StatusForbidden},
		{"wrong header", map[string]string{"X-CSRF-Token": wrong, "HX-Request": "true"}, url.Values{}, http.StatusForbidden},
		{"cross-site browser", map[string]string{"Sec-Fetch-Site": "cross-site"}, url.Values{"_csrf": {good}}, http.StatusForbidden},
		{"htmx header", map[string]string{"X-CSRF-Token": good, "HX-Request": "true"}, url.Values{}, http.StatusOK},
		{"form field", nil, url.Values{"_csrf": {good}}, http.StatusTooManyRequests}, // accepted; the resend limit answers
	}
	for _, c := range cases {
		if got := post(c.headers, c.form); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	// Another session's token does not work here.
	other := env.browser()
	other.get("/login")
	if got := post(nil, url.Values{"_csrf": {other.csrf}}); got != http.StatusForbidden {
		t.Errorf("other session's token: %d", got)
	}
	// Without any session, a POST is refused.
	anon := env.browser()
	anon.csrf = good
	anon.post("/login", url.Values{"email": {"csrf@example.org"}, "password": {goodPassword}}).wantStatus(t, http.StatusForbidden)
	// Logout needs the token too.
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/logout", nil)
	if p := b.do(req); p.status != http.StatusForbidden {
		t.Fatalf("logout without token: %d", p.status)
	}
}

func TestOpenRedirect(t *testing.T) {
	cases := map[string]string{
		"/account":                      "/account",
		"/books/1?x=2#y":                "/books/1?x=2#y",
		"":                              "/",
		"//evil.example":                "/",
		"/\\evil.example":               "/",
		"\\\\evil.example":              "/",
		"/\\/evil.example":              "/",
		"http://evil.example/":          "/",
		"https:evil.example":            "/",
		"javascript:alert(1)":           "/",
		"evil.example":                  "/",
		"/\t/evil.example":              "/",
		"/\n/evil.example":              "/",
		"/%0a/x":                        "/%0a/x", // encoded: stays a local path
		"///evil.example":               "/",
		"/ok\x7f":                       "/",
		"mailto:x@example.org":          "/",
		"/" + strings.Repeat("a", 3000): "/",
		// Short links, which skip their interstitial after a redirect
		// from Shelf (see TestRedirectParametersNeverLeadToShortLinks).
		"/s/abc":                     "/",
		"/s":                         "/",
		"/S/abc":                     "/",
		"/%73/abc":                   "/",
		"/%2e/s/abc":                 "/",
		"/x/../s/abc":                "/",
		"/s%2Fabc":                   "/",
		"/search?q=/s/x":             "/search?q=/s/x",
		"/shelves/sign-in?back=/s/x": "/shelves/sign-in?back=/s/x", // back is checked where it is used
		"/sx/abc":                    "/sx/abc",
	}
	for in, want := range cases {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
	// Through HTTP: login honours only local paths.
	env := newTestEnv(t)
	env.register("next@example.org")
	for _, next := range []string{"//evil.example", "/\\evil.example", "http://evil.example", "/account"} {
		b := env.browser()
		b.get("/login?next=" + url.QueryEscape(next))
		p := b.post("/login", url.Values{"email": {"next@example.org"}, "password": {goodPassword}, "next": {next}})
		want := safeNext(next)
		if p.location() != want {
			t.Errorf("next=%q redirected to %q, want %q", next, p.location(), want)
		}
	}
	// Anonymous /account goes to login and back.
	b := env.browser()
	if p := b.get("/account"); p.location() != "/login?next=%2Faccount" {
		t.Fatalf("anonymous /account -> %q", p.location())
	}
}

func TestConcurrentSignUps(t *testing.T) {
	env := newTestEnv(t)
	env.app.Limits.RegisterIP.Limit = 100
	const n = 12
	var wg sync.WaitGroup
	statuses := make([]int, n)
	browsers := make([]*browser, n)
	for i := range browsers {
		browsers[i] = env.browser()
		browsers[i].get("/register")
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := browsers[i]
			form := url.Values{"email": {"same@example.org"}, "password": {goodPassword}, "password_confirm": {goodPassword}, "_csrf": {b.csrf}}
			req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/register", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := b.http.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
			if strings.Contains(string(body), "already") {
				t.Errorf("the answer tells the address is taken:\n%s", body)
			}
		}()
	}
	wg.Wait()
	// Every sign-up gets the same answer (see TestSignUpDoesNotTellTaken);
	// one account exists: the later sign-ups take the unconfirmed account
	// over (TestSignUpRetakesUnconfirmed), each with a new link, and the
	// day's cap on resends keeps them from sending more than 1+ResendPerDay.
	for _, s := range statuses {
		if s != http.StatusSeeOther {
			t.Errorf("status %d", s)
		}
	}
	var users int
	env.db.Read.QueryRow(`SELECT count(*) FROM users`).Scan(&users)
	if users != 1 {
		t.Fatalf("users=%d", users)
	}
	subjects := map[string]int{}
	for _, m := range env.mails("same@example.org") {
		subjects[m.Subject]++
	}
	if len(subjects) != 1 || subjects["Confirm your Shelf account"] != 1+accounts.ResendPerDay {
		t.Fatalf("mails: %v, want %d confirmations", subjects, 1+accounts.ResendPerDay)
	}
}

func TestFieldValidation(t *testing.T) {
	env := newTestEnv(t)
	env.register("taken@example.org")
	b := env.browser()
	b.get("/register").wantStatus(t, http.StatusOK).wantContains(t,
		`id="register-form"`, `id="email"`, `id="password"`, `id="password-confirm"`,
		`id="email-error"`, `id="password-error"`, `id="password-confirm-error"`,
		`hx-post="/register/validate/email"`, `hx-trigger="input changed delay:400ms, blur"`, `hx-include="#password"`)

	check := func(field string, form url.Values, wantMsg string) page {
		t.Helper()
		p := b.htmx("/register/validate/"+field, form).wantStatus(t, http.StatusOK)
		if strings.Contains(p.body, "<html") {
			t.Fatalf("field endpoint returned a whole page")
		}
		id := strings.ReplaceAll(field, "_", "-")
		if wantMsg == "" {
			if strings.Contains(p.body, "aria-invalid") {
				t.Fatalf("%s: still invalid:\n%s", field, p.body)
			}
			p.wantContains(t, `<p class="error" id="`+id+`-error"></p>`)
		} else {
			p.wantContains(t, `aria-invalid="true"`, `aria-describedby="`, id+`-error"`, html.EscapeString(wantMsg))
		}
		return p
	}
	check("email", url.Values{"email": {"not-an-address"}}, string(accounts.EmailInvalid)).wantContains(t, `value="not-an-address"`)
	check("email", url.Values{"email": {"Ann <ann@example.org>"}}, string(accounts.EmailInvalid))
	check("email", url.Values{"email": {""}}, string(accounts.EmailEmpty))
	check("email", url.Values{"email": {strings.Repeat("a", 250) + "@example.org"}}, string(accounts.EmailTooLong))
	check("email", url.Values{"email": {"TAKEN@Example.org"}}, "").wantContains(t, `value="TAKEN@Example.org"`) // does not tell it is taken
	check("email", url.Values{"email": {"fresh@example.org"}}, "").wantContains(t, `value="fresh@example.org"`)
	check("password", url.Values{"password": {"short"}}, string(accounts.PasswordShort))
	check("password", url.Values{"password": {"Password123"}}, string(accounts.PasswordCommon))
	check("password", url.Values{"password": {strings.Repeat("é", 129)}}, string(accounts.PasswordLong))
	check("password", url.Values{"password": {strings.Repeat("é", 128)}}, "")
	p := check("password", url.Values{"password": {"short"}}, string(accounts.PasswordShort))
	if strings.Contains(p.body, "short\"") || strings.Contains(p.body, "value=") {
		t.Fatal("password echoed back")
	}
	check("password_confirm", url.Values{"password": {goodPassword}, "password_confirm": {"other"}}, msgConfirmMismatch)
	check("password_confirm", url.Values{"password": {goodPassword}, "password_confirm": {goodPassword}}, "")
	b.htmx("/register/validate/nope", url.Values{}).wantStatus(t, http.StatusNotFound)
}

func TestRegisterNoJSShowsAllErrors(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	b.get("/register")
	p := b.post("/register", url.Values{"email": {"someone@"}, "password": {"sunshine"}, "password_confirm": {"sunshine!"}}).
		wantStatus(t, http.StatusUnprocessableEntity).
		wantContains(t, "<html", `value="someone@"`, html.EscapeString(accounts.EmailInvalid.Error()), html.EscapeString(accounts.PasswordCommon.Error()), html.EscapeString(msgConfirmMismatch))
	if strings.Contains(p.body, "sunshine") {
		t.Fatal("a password was echoed back")
	}
	// The HTMX submit gets the form alone, also as 422.
	p = b.htmx("/register", url.Values{"email": {"x@example.org"}, "password": {"abc"}, "password_confirm": {""}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, `id="register-form"`, html.EscapeString(accounts.PasswordShort.Error()), html.EscapeString(msgConfirmEmpty))
	if strings.Contains(p.body, "<html") || !strings.Contains(strings.Join(p.header.Values("Vary"), ","), "HX-Request") {
		t.Fatal("HTMX submit got a whole page or no Vary")
	}
	// A good HTMX submit redirects with HX-Redirect.
	p = b.htmx("/register", url.Values{"email": {"x@example.org"}, "password": {goodPassword}, "password_confirm": {goodPassword}})
	if p.header.Get("HX-Redirect") != "/check-email" {
		t.Fatalf("HTMX success: %d %v", p.status, p.header)
	}
}

func TestPasswordResetEndsOtherSessions(t *testing.T) {
	env := newTestEnv(t)
	first := env.register("reset@example.org")
	// A second signed-in browser.
	second := env.browser()
	second.get("/login")
	second.post("/login", url.Values{"email": {"reset@example.org"}, "password": {goodPassword}}).wantStatus(t, http.StatusSeeOther)
	second.get("/account").wantStatus(t, http.StatusOK)

	// Forgot: same answer for known and unknown addresses; mail only for known.
	third := env.browser()
	third.get("/password/forgot").wantStatus(t, http.StatusOK)
	known := third.post("/password/forgot", url.Values{"email": {"reset@example.org"}}).wantStatus(t, http.StatusOK)
	unknown := third.post("/password/forgot", url.Values{"email": {"ghost@example.org"}}).wantStatus(t, http.StatusOK)
	// Tokens are masked afresh on every page: compare the pages without them.
	same := func(p page, email string) string {
		return csrfRe.ReplaceAllString(strings.ReplaceAll(p.body, email, "X"), "TOKEN")
	}
	if same(known, "reset@example.org") != same(unknown, "ghost@example.org") {
		t.Fatal("forgot answers differ for known and unknown addresses")
	}
	ms := env.waitMails("reset@example.org", 2)
	if len(env.mails("ghost@example.org")) != 0 {
		t.Fatal("mail enqueued for an unknown address")
	}
	if ms[len(ms)-1].Subject != "Reset your Shelf password" {
		t.Fatalf("subject %q", ms[len(ms)-1].Subject)
	}
	link := env.lastLink("reset@example.org")

	// GET shows the form without using the token; bad passwords keep it usable.
	third.get(link).wantStatus(t, http.StatusOK).wantContains(t, `id="reset-form"`, `hx-post="/register/validate/password"`)
	third.get(link).wantStatus(t, http.StatusOK)
	third.post(link, url.Values{"password": {"password1"}, "password_confirm": {"password1"}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, html.EscapeString(accounts.PasswordCommon.Error()))
	newPW := "quiet orange lantern"
	p := third.post(link, url.Values{"password": {newPW}, "password_confirm": {newPW}})
	if p.status != http.StatusSeeOther || p.location() != "/login?next=%2Faccount" {
		t.Fatalf("reset: %d %q\n%s", p.status, p.location(), p.body)
	}
	// A reset never signs in: the reader is sent to sign in, with a notice.
	third.get(p.location()).wantStatus(t, http.StatusOK).wantContains(t, "everyone was signed out", `id="login-form"`)
	if p := third.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("signed in by the reset: %d", p.status)
	}
	if third.sessionCookie() != nil || third.cookie(deviceCookieName) != nil {
		t.Fatal("a session or device cookie from a reset, which signs in nowhere")
	}
	// Signing in with the new password makes it one of the account's
	// devices, which others' failed sign-ins do not lock out.
	third.get("/login")
	third.login("reset@example.org", newPW).wantStatus(t, http.StatusSeeOther)
	third.get("/account").wantStatus(t, http.StatusOK).wantContains(t, "reset@example.org")
	if third.cookie(deviceCookieName) == nil {
		t.Fatal("no device cookie after signing in with the new password")
	}

	// Both earlier sessions are gone.
	for i, b := range []*browser{first, second} {
		if p := b.get("/account"); p.status != http.StatusSeeOther {
			t.Fatalf("browser %d still signed in: %d", i+1, p.status)
		}
	}
	// The link is used up; the old password fails and the new one works.
	third.get(link).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="used"`, "/password/forgot")
	b := env.browser()
	b.get("/login")
	b.post("/login", url.Values{"email": {"reset@example.org"}, "password": {goodPassword}}).wantStatus(t, http.StatusUnprocessableEntity)
	b.post("/login", url.Values{"email": {"reset@example.org"}, "password": {newPW}}).wantStatus(t, http.StatusSeeOther)

	// Reset links expire after an hour.
	third.post("/logout", nil)
	third.get("/password/forgot")
	env.clock.Advance(time.Minute)
	third.post("/password/forgot", url.Values{"email": {"reset@example.org"}}).wantStatus(t, http.StatusOK)
	env.waitMails("reset@example.org", 3)
	link = env.lastLink("reset@example.org")
	env.clock.Advance(time.Hour + time.Second)
	third.get(link).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="expired"`, "1 hour")
}

func TestRequireAdmin(t *testing.T) {
	env := newTestEnv(t)
	e := env.app.Handler()
	e.GET("/admin/test", func(c echo.Context) error { return c.String(http.StatusOK, "admin ok") }, env.app.requireAdmin)
	srv := httptest.NewServer(e)
	defer srv.Close()
	env.srv = srv

	b := env.signUp("plain@example.org").signInUnconfirmed("plain@example.org")
	if p := b.get("/admin/test"); p.status != http.StatusSeeOther || p.location() != "/check-email" {
		t.Fatalf("unconfirmed: %d %q", p.status, p.location())
	}
	env.db.Write.Exec(`UPDATE users SET confirmed_at = '2030-01-01 00:00:00.000'`)
	b.get("/admin/test").wantStatus(t, http.StatusForbidden)
	env.db.Write.Exec(`UPDATE users SET is_admin = 1`)
	b.get("/admin/test").wantStatus(t, http.StatusOK).wantContains(t, "admin ok")
	if p := env.browser().get("/admin/test"); p.status != http.StatusSeeOther {
		t.Fatalf("anonymous: %d", p.status)
	}
}

func TestValidateHelpers(t *testing.T) {
	if humanWait(40*time.Second) != "40 seconds" || humanWait(14*time.Minute+time.Second) != "15 minutes" || humanWait(23*time.Hour) != "23 hours" {
		t.Error("humanWait")
	}
	if humanTTL(48*time.Hour) != "48 hours" || humanTTL(time.Hour) != "1 hour" || humanTTL(30*time.Minute) != "30 minutes" {
		t.Error("humanTTL")
	}
}

// onBothBackends runs bench on a fresh SQLite file and a fresh PostgreSQL
// database, with production's password hashing (a real ~40 ms check).
func onBothBackends(b *testing.B, bench func(b *testing.B, env *testEnv)) {
	for _, backend := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.Open}, {"postgres", storetest.OpenPostgres}} {
		b.Run(backend.name, func(b *testing.B) {
			env := newTestEnvOn(b, backend.open(b), &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, productionHash)
			bench(b, env)
		})
	}
}

func BenchmarkRegister(b *testing.B) { onBothBackends(b, benchmarkRegister) }
func BenchmarkLogin(b *testing.B)    { onBothBackends(b, benchmarkLogin) }

func benchmarkRegister(b *testing.B, env *testEnv) {
	env.app.Limits.RegisterIP.Limit = 1 << 30
	br := env.browser()
	br.get("/register")
	i := 0
	for b.Loop() {
		i++
		form := url.Values{"email": {fmt.Sprintf("bench%d@example.org", i)}, "password": {goodPassword}, "password_confirm": {goodPassword}}
		br.http.Jar, _ = cookiejar.New(nil)
		br.get("/register")
		if p := br.post("/register", form); p.status != http.StatusSeeOther {
			b.Fatalf("status %d", p.status)
		}
	}
}

func benchmarkLogin(b *testing.B, env *testEnv) {
	env.app.Limits.LoginIP.Limit = 1 << 30
	env.register("bench@example.org")
	br := env.browser()
	for b.Loop() {
		br.http.Jar, _ = cookiejar.New(nil) // a fresh browser: GET the form, then sign in
		br.get("/login")
		if p := br.post("/login", url.Values{"email": {"bench@example.org"}, "password": {goodPassword}}); p.status != http.StatusSeeOther {
			b.Fatalf("status %d", p.status)
		}
	}
}

// BenchmarkConcurrentSignUps: 100 people sign up at the same moment, each
// from their own browser, with the production hash cost. Every one must
// succeed; one op is the whole burst.
func BenchmarkConcurrentSignUps(b *testing.B) {
	env := newTestEnvWith(b, productionHash) // a real ~40 ms check, as in production
	env.app.Limits.RegisterIP.Limit = 1 << 30
	const people = 100
	round := 0
	for b.Loop() {
		round++
		browsers := make([]*browser, people)
		for i := range browsers {
			browsers[i] = env.browser()
			browsers[i].get("/register")
		}
		statuses := make([]int, people)
		var wg sync.WaitGroup
		for i, br := range browsers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				form := url.Values{"email": {fmt.Sprintf("burst%d-%d@example.org", round, i)}, "password": {goodPassword}, "password_confirm": {goodPassword}}
				statuses[i] = br.post("/register", form).status
			}()
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusSeeOther {
				b.Fatalf("sign-up %d of %d: status %d, want 303", i+1, people, s)
			}
		}
	}
}

// Signing out says so on the page it lands on, the search page (not the
// sign-in page, whose passkey autofill starts on load), once, without
// starting a session.
func TestSignOutSaysSo(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("leaving@example.org")
	b.get("/account").wantStatus(t, http.StatusOK)
	p := b.post("/logout", nil).wantStatus(t, http.StatusSeeOther)
	if p.location() != "/" {
		t.Fatalf("sign-out went to %q, want /", p.location())
	}
	home := b.get("/").wantStatus(t, http.StatusOK).wantContains(t, `<p class="flash ok" role="status" id="page-notice">You are signed out.</p>`)
	if strings.Contains(home.body, "data-signed-in-as") {
		t.Error("the page after signing out shows someone signed in")
	}
	if c := b.sessionCookie(); c != nil {
		t.Errorf("the notice started a session: %v", c)
	}
	if again := b.get("/"); strings.Contains(again.body, "You are signed out.") {
		t.Error("the notice shows again on the next page")
	}
}

// A search between a redirect and its page leaves the page its notice.
func TestSearchLeavesANoticeForItsPage(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("searching@example.org")
	b.get("/account/sessions").wantStatus(t, http.StatusOK)
	b.post("/account/sessions/sign-out-others", nil).wantStatus(t, http.StatusSeeOther)
	b.get("/search?q=hobbit").wantStatus(t, http.StatusOK)
	b.get("/account/sessions").wantStatus(t, http.StatusOK).wantContains(t, "You are signed out everywhere else.")
}
