package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Sign-in by email, over HTTP with cookie jars. Requests wait in the table
// until the test hands them to the worker (manual mode), so each step can
// be checked before any mail exists.

func newMagicEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvWith(t, func(d *Deps, s *Settings) { s.manualResets = true; d.Search = nil })
}

// askMagic asks for a sign-in mail for email in b, expecting it accepted,
// and has the worker handle it.
func (env *testEnv) askMagic(b *browser, email string) {
	env.t.Helper()
	b.get("/login/email").wantStatus(env.t, http.StatusOK)
	p := b.post("/login/email", url.Values{"email": {email}})
	if p.status != http.StatusSeeOther || p.location() != "/login/email/code" {
		env.t.Fatalf("ask for a sign-in mail: %d %s\n%s", p.status, p.location(), p.body)
	}
	if err := env.app.HandleMagicRequests(context.Background()); err != nil {
		env.t.Fatal(err)
	}
}

var magicCodeRe = regexp.MustCompile(`\b[2-9A-HJKMNP-TW-Z]{4}-[2-9A-HJKMNP-TW-Z]{4}\b`)

// magicMail returns the link path and the code of the newest mail to `to`,
// checking both parts carry them.
func (env *testEnv) magicMail(to string) (link, code string) {
	env.t.Helper()
	link = env.lastLink(to)
	if !strings.HasPrefix(link, "/login/email/link/") {
		env.t.Fatalf("newest mail to %s has no sign-in link: %s", to, link)
	}
	ms := env.mails(to)
	m := ms[len(ms)-1]
	code = magicCodeRe.FindString(m.Text)
	if code == "" || !strings.Contains(m.HTML, code) {
		env.t.Fatalf("code missing from the text or HTML part:\n%s\n%s", m.Text, m.HTML)
	}
	return link, code
}

// fresh is a new browser holding a CSRF token.
func fresh(env *testEnv) *browser {
	b := env.browser()
	b.get("/login")
	return b
}

func signedInAs(t *testing.T, b *browser, email string) bool {
	t.Helper()
	p := b.get("/account")
	return p.status == http.StatusOK && strings.Contains(p.body, email)
}

func TestMagicLinkOpenedInASecondBrowser(t *testing.T) {
	env := newMagicEnv(t)
	env.register("ann@example.org")
	asker := env.browser()
	env.askMagic(asker, "ann@example.org")
	link, _ := env.magicMail("ann@example.org")

	other := env.browser()
	for range 2 { // a mail scanner, or looking twice, uses nothing up
		other.get(link).wantStatus(t, http.StatusOK).wantContains(t, "Sign in on this device?", "ann@example.org")
	}
	if signedInAs(t, other, "ann@example.org") {
		t.Fatal("GET of the link signed in")
	}
	p := other.post(link, nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("POST link: %d\n%s", p.status, p.body)
	}
	if !signedInAs(t, other, "ann@example.org") {
		t.Error("the browser that opened the link is not signed in")
	}
	if signedInAs(t, asker, "ann@example.org") {
		t.Error("the browser that asked was signed in by a link opened elsewhere")
	}
	third := env.browser()
	third.get("/login")
	third.post(link, nil).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="used"`)
}

func TestMagicCodeTriedSixTimes(t *testing.T) {
	env := newMagicEnv(t)
	env.register("ann@example.org")
	b := env.browser()
	env.askMagic(b, "ann@example.org")
	link, code := env.magicMail("ann@example.org")
	wrong := "2222-2222"
	if code == wrong {
		wrong = "3333-3333"
	}
	b.get("/login/email/code").wantStatus(t, http.StatusOK)
	for i := 1; i <= 5; i++ {
		p := b.post("/login/email/code", url.Values{"code": {wrong}}).wantStatus(t, http.StatusUnprocessableEntity)
		if i < 5 {
			p.wantContains(t, "That code is not right.", strconv.Itoa(5-i))
		} else {
			p.wantContains(t, "Too many wrong codes")
		}
	}
	b.post("/login/email/code", url.Values{"code": {code}}).wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "Too many wrong codes")
	if signedInAs(t, b, "ann@example.org") {
		t.Fatal("signed in after five wrong codes")
	}
	fresh(env).post(link, nil).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="too-many"`)
}

func TestMagicCodeWorksOnlyInTheBrowserThatAsked(t *testing.T) {
	env := newMagicEnv(t)
	env.signUp("ann@example.org") // unconfirmed: the code confirms it
	asker := env.browser()
	env.askMagic(asker, "ann@example.org")
	link, code := env.magicMail("ann@example.org")

	// Another browser, asking for itself, cannot use the code.
	thief := env.browser()
	env.askMagic(thief, "thief@example.org")
	thief.post("/login/email/code", url.Values{"code": {code}}).wantStatus(t, http.StatusUnprocessableEntity)
	// Nor can one that never asked.
	nobody := env.browser()
	nobody.get("/login")
	if p := nobody.post("/login/email/code", url.Values{"code": {code}}); p.status != http.StatusSeeOther || p.location() != "/login/email" {
		t.Fatalf("code without asking: %d %s", p.status, p.location())
	}

	asker.get("/login/email/code")
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	if p := asker.post("/login/email/code", url.Values{"code": {typed}}); p.status != http.StatusSeeOther {
		t.Fatalf("right code: %d\n%s", p.status, p.body)
	}
	if !signedInAs(t, asker, "ann@example.org") {
		t.Fatal("not signed in with the right code, or the address is still unconfirmed")
	}
	if !env.user("ann@example.org").Confirmed() {
		t.Error("signing in by email did not confirm the address")
	}
	fresh(env).post(link, nil).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="used"`)
}

func TestMagicSameAnswerWithoutAnAccount(t *testing.T) {
	env := newMagicEnv(t)
	env.register("ann@example.org")
	known, unknown := env.browser(), env.browser()
	for _, c := range []struct {
		b     *browser
		email string
	}{{known, "ann@example.org"}, {unknown, "nobody@example.org"}} {
		c.b.get("/login/email")
		p := c.b.post("/login/email", url.Values{"email": {c.email}})
		if p.status != http.StatusSeeOther || p.location() != "/login/email/code" {
			t.Fatalf("%s: %d %s", c.email, p.status, p.location())
		}
	}
	// Before the worker runs, nothing tells the two apart.
	if n := len(env.mails("ann@example.org")); n != 1 { // the confirmation mail only
		t.Fatalf("mail sent on the request path: %d", n)
	}
	pk := known.get("/login/email/code").wantStatus(t, http.StatusOK)
	pu := unknown.get("/login/email/code").wantStatus(t, http.StatusOK)
	strip := func(p page, email string) string {
		s := csrfRe.ReplaceAllString(p.body, "")
		s = regexp.MustCompile(`name="_csrf" value="[^"]*"`).ReplaceAllString(s, "")
		return strings.ReplaceAll(s, email, "ADDRESS")
	}
	if strip(pk, "ann@example.org") != strip(pu, "nobody@example.org") {
		t.Error("the code page differs between an address with an account and one without")
	}
	if err := env.app.HandleMagicRequests(context.Background()); err != nil {
		t.Fatal(err)
	}
	ms := env.mails("nobody@example.org")
	if len(ms) != 1 || !strings.Contains(ms[0].Text, "has no account") || !strings.Contains(ms[0].Text, "http://shelf.test/register") {
		t.Fatalf("address without an account: %d mails, want one offering to sign up: %+v", len(ms), ms)
	}
	// A wrong code is answered as for an account.
	unknown.post("/login/email/code", url.Values{"code": {"2222-2222"}}).wantStatus(t, http.StatusUnprocessableEntity).
		wantContains(t, "That code is not right. You can try 4 more times.")
	// At most one such mail a day.
	for range 3 {
		env.clock.Advance(2 * time.Hour)
		env.askMagic(unknown, "nobody@example.org")
	}
	if n := len(env.mails("nobody@example.org")); n != 1 {
		t.Errorf("%d no-account mails within a day, want 1", n)
	}
	env.clock.Advance(24 * time.Hour)
	env.askMagic(unknown, "nobody@example.org")
	if n := len(env.mails("nobody@example.org")); n != 2 {
		t.Errorf("%d no-account mails after a day, want 2", n)
	}
}

func TestMagicLimits(t *testing.T) {
	env := newMagicEnv(t)
	env.register("ann@example.org")
	for _, email := range []string{"ann@example.org", "nobody@example.org"} {
		b := env.browser()
		env.askMagic(b, email)
		// The code page counts down the rest of the minute.
		b.get("/login/email/code").wantContains(t, `data-countdown="60"`)
		env.clock.Advance(20 * time.Second)
		b.get("/login/email/code").wantContains(t, `data-countdown="40"`)
		p := b.post("/login/email", url.Values{"email": {email}}).wantStatus(t, http.StatusTooManyRequests)
		if ra := p.header.Get("Retry-After"); ra != "40" || !strings.Contains(p.body, `data-countdown="40"`) {
			t.Errorf("%s: Retry-After %q; the page's countdown must match it:\n%s", email, ra, p.body)
		}
		p.wantContains(t, "less than a minute ago", "40 seconds")
		// 5 an hour.
		for range 4 {
			env.clock.Advance(61 * time.Second)
			env.askMagic(b, email)
		}
		env.clock.Advance(61 * time.Second)
		p = b.post("/login/email", url.Values{"email": {email}}).wantStatus(t, http.StatusTooManyRequests)
		p.wantContains(t, "Too many attempts. Try again in")
		if ra, _ := strconv.Atoi(p.header.Get("Retry-After")); ra <= 60 || !strings.Contains(p.body, `data-countdown="`+strconv.Itoa(ra)+`"`) {
			t.Errorf("%s: hourly limit: Retry-After %d, countdown must match", email, ra)
		}
		env.clock.Advance(time.Hour)
	}
}

func TestMagicLimitPerNetwork(t *testing.T) {
	env := newMagicEnv(t)
	b := env.browser()
	b.get("/login/email")
	for i := range 20 {
		if p := b.post("/login/email", url.Values{"email": {"reader" + strconv.Itoa(i) + "@example.org"}}); p.status != http.StatusSeeOther {
			t.Fatalf("request %d: %d", i+1, p.status)
		}
	}
	b.get("/login/email")
	b.post("/login/email", url.Values{"email": {"one-more@example.org"}}).wantStatus(t, http.StatusTooManyRequests)
	env.clock.Advance(time.Minute)
	b.get("/login/email")
	if p := b.post("/login/email", url.Values{"email": {"one-more@example.org"}}); p.status != http.StatusSeeOther {
		t.Fatalf("a minute later: %d", p.status)
	}
}

// Each request to another address mails it: past the per-minute burst, a
// network gets magicPerNetworkHour an hour, not 20 a minute around the
// clock (1,200 mails an hour to addresses of its choosing).
func TestMagicLimitPerNetworkPerHour(t *testing.T) {
	env := newMagicEnv(t)
	b := env.browser()
	b.get("/login/email")
	n := 0
	ask := func() int {
		n++
		return b.post("/login/email", url.Values{"email": {"reader" + strconv.Itoa(n) + "@example.org"}}).status
	}
	for i := range magicPerNetworkHour {
		if i > 0 && i%20 == 0 {
			env.clock.Advance(time.Minute) // under 20 a minute
		}
		if status := ask(); status != http.StatusSeeOther {
			t.Fatalf("request %d within the hour: %d", i+1, status)
		}
	}
	env.clock.Advance(time.Minute)
	p := b.post("/login/email", url.Values{"email": {"one-more@example.org"}}).wantStatus(t, http.StatusTooManyRequests)
	p.wantContains(t, "Too many attempts. Try again in")
	env.clock.Advance(time.Hour)
	if status := ask(); status != http.StatusSeeOther {
		t.Fatalf("an hour later: %d", status)
	}
}

func TestMagicNewerRequestAndExpiry(t *testing.T) {
	env := newMagicEnv(t)
	env.register("ann@example.org")
	b := env.browser()
	env.askMagic(b, "ann@example.org")
	oldLink, _ := env.magicMail("ann@example.org")
	env.clock.Advance(time.Minute)
	env.askMagic(b, "ann@example.org")
	newLink, _ := env.magicMail("ann@example.org")
	env.browser().get(oldLink).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="superseded"`)
	env.clock.Advance(15 * time.Minute)
	env.browser().get(newLink).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="expired"`)
}

func TestMagicFormsValidateInPlace(t *testing.T) {
	env := newMagicEnv(t)
	b := env.browser()
	b.get("/login/email").wantContains(t, `hx-post="/register/validate/account_email"`, `autocomplete="username"`) // syntax alone: see TestListedDomainsStillSignIn
	b.post("/login/email", url.Values{"email": {"not an address"}}).wantStatus(t, http.StatusUnprocessableEntity).
		wantContains(t, `aria-invalid="true"`)
	b.htmx("/login/email/validate", url.Values{"code": {"ab"}}).wantStatus(t, http.StatusOK).wantContains(t, "like ABCD-EFGH")
	if p := b.htmx("/login/email/validate", url.Values{"code": {"abcd efgh"}}); strings.Contains(p.body, "like ABCD-EFGH.</p>") {
		t.Errorf("a well-formed code is refused:\n%s", p.body)
	}
	env.browser().get("/login").wantContains(t, `href="/login/email"`)
}

func TestMagicTwentyADay(t *testing.T) {
	env := newMagicEnv(t)
	b := env.browser()
	for i := range 20 {
		if i > 0 {
			env.clock.Advance(13 * time.Minute) // under 5 an hour
		}
		env.askMagic(b, "nobody@example.org")
	}
	env.clock.Advance(13 * time.Minute)
	p := b.post("/login/email", url.Values{"email": {"nobody@example.org"}}).wantStatus(t, http.StatusTooManyRequests)
	p.wantContains(t, "Too many attempts. Try again in 20 hours.")
	if ra, _ := strconv.Atoi(p.header.Get("Retry-After")); ra < 19*3600 || ra > 20*3600 {
		t.Errorf("Retry-After %d s, want the ~19.5 hours until the first request leaves the day", ra)
	}
}

func TestMagicRememberMe(t *testing.T) {
	env := newMagicEnv(t)
	env.register("ann@example.org")
	sessionCookieFrom := func(p page) *http.Cookie {
		for _, c := range (&http.Response{Header: p.header}).Cookies() {
			if c.Name == env.app.Sessions.Cookie.Name {
				return c
			}
		}
		t.Fatal("no session cookie set at sign-in")
		return nil
	}
	for _, remember := range []bool{true, false} {
		env.clock.Advance(time.Minute)
		b := env.browser()
		env.askMagic(b, "ann@example.org")
		link, _ := env.magicMail("ann@example.org")
		b.get(link).wantContains(t, `name="remember"`)
		form := url.Values{}
		if remember {
			form.Set("remember", "1")
		}
		c := sessionCookieFrom(b.post(link, form).wantStatus(t, http.StatusSeeOther))
		if persistent := c.MaxAge > 0; persistent != remember {
			t.Errorf("remember %v: cookie MaxAge %d", remember, c.MaxAge)
		}
	}
}

// Someone signs up with another person's address and a password of theirs,
// and leaves the account unconfirmed. When the address's owner then signs in
// by email, which confirms the account, the stranger's password must not
// open it: password sign-in waits for a reset. The browser that signed up
// chose the password itself, and keeps it.
func TestMagicSignInDoesNotConfirmAStrangersPassword(t *testing.T) {
	env := newMagicEnv(t)
	const email = "victim@example.org"
	env.signUp(email) // the stranger, who never confirms
	for _, useCode := range []bool{false, true} {
		owner := env.browser()
		env.askMagic(owner, email)
		link, code := env.magicMail(email)
		if useCode {
			owner.get("/login/email/code")
			owner.post("/login/email/code", url.Values{"code": {code}}).wantStatus(t, http.StatusSeeOther)
		} else {
			owner.get(link).wantStatus(t, http.StatusOK)
			owner.post(link, nil).wantStatus(t, http.StatusSeeOther)
		}
		if !signedInAs(t, owner, email) {
			t.Fatal("the owner is not signed in by email")
		}
		stranger := fresh(env)
		p := stranger.post("/login", url.Values{"email": {email}, "password": {goodPassword}})
		if p.status == http.StatusSeeOther || signedInAs(t, stranger, email) {
			t.Fatalf("code %v: the stranger's password signs in to the account confirmed by its owner: %d %q", useCode, p.status, p.location())
		}
		env.clock.Advance(time.Hour) // the next request's limits
	}

	// Signing up, then signing in by email in the same browser: its own
	// password stays.
	const own = "own@example.org"
	b := env.signUp(own)
	env.askMagic(b, own)
	_, code := env.magicMail(own)
	b.get("/login/email/code")
	b.post("/login/email/code", url.Values{"code": {code}}).wantStatus(t, http.StatusSeeOther)
	later := fresh(env)
	if p := later.post("/login", url.Values{"email": {own}, "password": {goodPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("the password chosen in the browser that signed in by email: %d\n%s", p.status, p.body)
	}
}

// Whatever signs everyone out of an account (a password reset, a password
// change, "This wasn't me") also voids its open sign-ins by email: their
// link and code would otherwise start a session afterwards.
func TestSigningOutEverywhereVoidsSignInsByEmail(t *testing.T) {
	const email = "ann@example.org"
	for _, tc := range []struct {
		name     string
		signOut  func(t *testing.T, env *testEnv, owner *browser)
		password string // the account's password afterwards; "" when signing in with it is paused
	}{
		{"password reset", func(t *testing.T, env *testEnv, _ *browser) {
			b := fresh(env)
			b.get("/password/forgot")
			b.post("/password/forgot", url.Values{"email": {email}}).wantStatus(t, http.StatusOK)
			if err := env.app.HandleResetRequests(context.Background()); err != nil {
				t.Fatal(err)
			}
			link := env.lastLink(email)
			if !strings.HasPrefix(link, "/password/reset/") {
				t.Fatalf("newest mail has no reset link: %s", link)
			}
			b.get(link)
			b.post(link, url.Values{"password": {changedPassword}, "password_confirm": {changedPassword}}).wantStatus(t, http.StatusSeeOther)
		}, changedPassword},
		{"password change", func(t *testing.T, env *testEnv, owner *browser) {
			owner.get("/account/password")
			owner.post("/account/password", changeForm(goodPassword, changedPassword, changedPassword)).wantStatus(t, http.StatusSeeOther)
		}, changedPassword},
		{"this wasn't me", func(t *testing.T, env *testEnv, _ *browser) {
			intruder := env.browser()
			intruder.ua = firefoxLinux
			intruder.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
			ms := env.securityMails(email)
			if len(ms) == 0 {
				t.Fatal("no security mail for the sign-in from a new device")
			}
			link := notMeLink(t, ms[len(ms)-1])
			b := env.browser()
			b.get(link)
			b.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="secured"`)
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newMagicEnv(t)
			owner := env.register(email)
			asker := env.browser()
			env.askMagic(asker, email)
			link, code := env.magicMail(email)

			tc.signOut(t, env, owner)

			fresh(env).post(link, nil).wantStatus(t, http.StatusGone).
				wantContains(t, `data-outcome="superseded"`, "everyone was signed out of the account")
			asker.get("/login/email/code").wantStatus(t, http.StatusOK)
			asker.post("/login/email/code", url.Values{"code": {code}}).wantStatus(t, http.StatusUnprocessableEntity).
				wantContains(t, "That code no longer works")
			if signedInAs(t, asker, email) {
				t.Fatal("the code of a sign-in mailed before signed in")
			}

			// A sign-in asked for afterwards works, and so does the password,
			// unless "This wasn't me" paused signing in with it.
			env.clock.Advance(time.Minute)
			env.askMagic(asker, email)
			newLink, _ := env.magicMail(email)
			b := fresh(env)
			b.post(newLink, nil).wantStatus(t, http.StatusSeeOther)
			if !signedInAs(t, b, email) {
				t.Fatal("a sign-in link mailed after the sign-out does not sign in")
			}
			if tc.password == "" {
				env.browser().login(email, goodPassword).wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "paused")
			} else {
				env.browser().login(email, tc.password).wantStatus(t, http.StatusSeeOther)
			}
		})
	}
}
