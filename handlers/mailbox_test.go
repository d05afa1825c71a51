package handlers

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"shelf/components"
	"shelf/store"
	"shelf/store/accounts"
)

func TestMailProvider(t *testing.T) {
	const from = "shelf@books.example"
	for _, tc := range []struct {
		email, name, url string
	}{
		{"ann@gmail.com", "Gmail", "https://mail.google.com/mail/u/0/#search/from:shelf@books.example%20in:anywhere"},
		{"Ann@GoogleMail.com", "Gmail", "https://mail.google.com/mail/u/0/#search/from:shelf@books.example%20in:anywhere"},
		{"ann@gmail.com.", "Gmail", "https://mail.google.com/mail/u/0/#search/from:shelf@books.example%20in:anywhere"},
		{"ann@outlook.com", "Outlook", "https://outlook.live.com/mail/0/inbox"},
		{"ann@outlook.fr", "Outlook", "https://outlook.live.com/mail/0/inbox"},
		{"ann@hotmail.com", "Outlook", "https://outlook.live.com/mail/0/inbox"},
		{"ann@hotmail.co.uk", "Outlook", "https://outlook.live.com/mail/0/inbox"},
		{"ann@hotmail.fr", "Outlook", "https://outlook.live.com/mail/0/inbox"},
		{"ann@live.com", "Outlook", "https://outlook.live.com/mail/0/inbox"},
		{"ann@live.com.au", "Outlook", "https://outlook.live.com/mail/0/inbox"},
		{"ann@msn.com", "Outlook", "https://outlook.live.com/mail/0/inbox"},
		{"ann@yahoo.com", "Yahoo Mail", "https://mail.yahoo.com/"},
		{"ann@yahoo.co.jp", "Yahoo Mail", "https://mail.yahoo.com/"},
		{"ann@yahoo.com.br", "Yahoo Mail", "https://mail.yahoo.com/"},
		{"ann@yahoo.de", "Yahoo Mail", "https://mail.yahoo.com/"},
		{"ann@ymail.com", "Yahoo Mail", "https://mail.yahoo.com/"},
		{"ann@rocketmail.com", "Yahoo Mail", "https://mail.yahoo.com/"},
		{"ann@proton.me", "Proton Mail", "https://mail.proton.me/u/0/inbox"},
		{"ann@protonmail.com", "Proton Mail", "https://mail.proton.me/u/0/inbox"},
		{"ann@protonmail.ch", "Proton Mail", "https://mail.proton.me/u/0/inbox"},
		{"ann@pm.me", "Proton Mail", "https://mail.proton.me/u/0/inbox"},
		{"ann@icloud.com", "iCloud Mail", "https://www.icloud.com/mail/"},
		{"ann@me.com", "iCloud Mail", "https://www.icloud.com/mail/"},
		{"ann@mac.com", "iCloud Mail", "https://www.icloud.com/mail/"},
		{"ann@fastmail.com", "Fastmail", "https://app.fastmail.com/mail/search:from:shelf@books.example/"},
		{"ann@fastmail.fm", "Fastmail", "https://app.fastmail.com/mail/search:from:shelf@books.example/"},
		// Unknown, look-alike and lookup-free domains get no button.
		{"ann@example.org", "", ""},
		{"ann@gmail.co", "", ""},
		{"ann@gmai.com", "", ""},
		{"ann@mygmail.com", "", ""},
		{"ann@gmail.com.evil.example", "", ""},
		{"ann@hotmail.example.com", "", ""},
		{"ann@myhotmail.com", "", ""},
		{"ann@yahoo.evil.example", "", ""},
		{"ann@live.example", "", ""},
		{"ann@mail.yahoo.com", "", ""},
		{"ann@proton.mee", "", ""},
		{"no-at-sign", "", ""},
		{"", "", ""},
	} {
		p := mailProvider(tc.email, from)
		if p.Name != tc.name || p.URL != tc.url {
			t.Errorf("%q: got %q %q, want %q %q", tc.email, p.Name, p.URL, tc.name, tc.url)
		}
	}
	// Without a From address, the inbox.
	if p := mailProvider("ann@gmail.com", ""); p.URL != "https://mail.google.com/mail/u/0/#inbox" {
		t.Errorf("Gmail without From: %q", p.URL)
	}
	if p := mailProvider("ann@fastmail.com", ""); p.URL != "https://app.fastmail.com/mail/Inbox/" {
		t.Errorf("Fastmail without From: %q", p.URL)
	}
	// A From address is escaped into the search, not spliced.
	if p := mailProvider("ann@gmail.com", "a/b?c#d@x.example"); !strings.HasPrefix(p.URL, "https://mail.google.com/mail/u/0/#search/from:a%2Fb%3Fc%23d@x.example") {
		t.Errorf("From not escaped: %q", p.URL)
	}
}

// The button opens the webmail in a new tab, without giving it this page.
func TestCheckEmailOpensTheMailbox(t *testing.T) {
	env := newTestEnvWith(t, func(_ *Deps, s *Settings) { s.MailFrom = "shelf@books.example" })
	b := env.signUp("reader@gmail.com")
	p := b.get("/check-email").wantStatus(t, http.StatusOK)
	a := regexp.MustCompile(`<a id="open-mailbox"[^>]*>[^<]*</a>`).FindString(p.body)
	for _, want := range []string{`href="https://mail.google.com/mail/u/0/#search/from:shelf@books.example%20in:anywhere"`,
		`target="_blank"`, `rel="noopener noreferrer"`, `>Open Gmail<`} {
		if !strings.Contains(a, want) {
			t.Errorf("the button %q lacks %s", a, want)
		}
	}
	env.signUp("reader@example.org").get("/check-email").wantStatus(t, http.StatusOK)
	if p := env.signUp("other@example.org").get("/check-email"); strings.Contains(p.body, "open-mailbox") {
		t.Error("a button for an unknown provider")
	}
}

// The tips name the sender and the link's lifetime.
func TestCheckEmailTips(t *testing.T) {
	env := newTestEnvWith(t, func(_ *Deps, s *Settings) { s.MailFrom = "shelf@books.example" })
	env.signUp("tips@example.org").get("/check-email").wantStatus(t, http.StatusOK).
		wantContains(t, `id="mail-tips"`, "spam or junk", "Promotions", `<strong id="mail-from">shelf@books.example</strong>`,
			"The link works for 48 hours", "Nothing after ten minutes?")
}

var (
	resendAtRe  = regexp.MustCompile(`data-resend-at="(\d+)"`)
	serverNowRe = regexp.MustCompile(`data-server-now="(\d+)"`)
)

// resendDeadline reads the moment the page says "Resend" will work.
func resendDeadline(t *testing.T, p page) (time.Time, bool) {
	t.Helper()
	m := resendAtRe.FindStringSubmatch(p.body)
	if m == nil {
		if strings.Contains(p.body, `id="resend-wait"`) || regexp.MustCompile(`<button[^>]*disabled[^>]*>Resend`).MatchString(p.body) {
			t.Fatalf("a wait without a deadline:\n%s", p.body)
		}
		return time.Time{}, false
	}
	ms, _ := strconv.ParseInt(m[1], 10, 64)
	if !regexp.MustCompile(`<button type="submit" class="secondary" disabled>Resend the email</button>`).MatchString(p.body) {
		t.Fatalf("a deadline, and the button is not disabled:\n%s", p.body)
	}
	return time.UnixMilli(ms), true
}

// The page's deadline is the moment resend stops answering 429, to the
// millisecond, for a pending sign-up (its own history) and for a signed-in
// account (its mails in the database); it survives a reload, and without
// JavaScript the page says the wait in words.
func TestResendDeadlineIsTheServers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signUp func(env *testEnv, email string) *browser
	}{
		{"pending sign-up", func(env *testEnv, email string) *browser { return env.signUp(email) }},
		{"signed in", func(env *testEnv, email string) *browser { return env.signUp(email).signInUnconfirmed(email) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Sessions outlive the day the daily limit takes.
			env := newTestEnvWith(t, func(_ *Deps, s *Settings) {
				s.Accounts.SessionIdle, s.Accounts.SessionLifetime = 72*time.Hour, 72*time.Hour
			})
			const email = "deadline@example.org"
			b := tc.signUp(env, email)
			signedUp := env.clock.Now()
			env.clock.Advance(15 * time.Second)
			p := b.get("/check-email").wantStatus(t, http.StatusOK).wantContains(t, "You can ask again in <span id=\"resend-left\">45 seconds</span>.")
			at, ok := resendDeadline(t, p)
			if !ok || !at.Equal(signedUp.Add(time.Minute)) {
				t.Fatalf("deadline %v (%v), want a minute after the sign-up mail, %v", at, ok, signedUp.Add(time.Minute))
			}
			if m := serverNowRe.FindStringSubmatch(p.body); m == nil || m[1] != strconv.FormatInt(env.clock.Now().UnixMilli(), 10) {
				t.Fatalf("server clock %v, want %d", m, env.clock.Now().UnixMilli())
			}
			env.clock.Advance(10 * time.Second)
			if again, _ := resendDeadline(t, b.get("/check-email")); !again.Equal(at) {
				t.Fatalf("after a reload the deadline is %v, want %v", again, at)
			}

			// Each resend: 429 up to a millisecond before the deadline, 200
			// at it, and the next deadline on the answer.
			for i := range 6 {
				env.clock.Advance(at.Sub(env.clock.Now()) - time.Millisecond)
				b.post("/check-email/resend", nil).wantStatus(t, http.StatusTooManyRequests)
				env.clock.Advance(time.Millisecond)
				p = b.post("/check-email/resend", nil).wantStatus(t, http.StatusOK).wantContains(t, "We sent a new link")
				var ok bool
				if at, ok = resendDeadline(t, p); !ok {
					t.Fatalf("resend %d: no deadline after it", i+1)
				}
				if i != 4 && !at.Equal(env.clock.Now().Add(time.Minute)) {
					t.Fatalf("resend %d: deadline %v, want a minute on", i+1, at)
				}
				if i == 4 {
					// The fifth resend today: the next is a day after the first.
					p.wantContains(t, "You have asked for 5 new links today.")
					if at.Sub(env.clock.Now()) < 23*time.Hour {
						t.Fatalf("after the fifth resend the deadline is %v away", at.Sub(env.clock.Now()))
					}
				}
			}
		})
	}
}

// addressForm is the change-address form.
func addressForm(email string) url.Values { return url.Values{"email": {email}} }

// Changing the address: a new link goes to the new address, the old link
// says it no longer works, the new one confirms the new address, and the
// page waits for the new address.
func TestChangeAddress(t *testing.T) {
	env := newTestEnv(t)
	const wrong, right = "reader@exmaple.org", "reader@example.org"
	b := env.signUp(wrong)
	oldLink := env.lastLink(wrong)
	b.get("/check-email").wantStatus(t, http.StatusOK).
		wantContains(t, `<strong id="pending-email">`+wrong+`</strong>`, "Wrong address? Change it", `action="/check-email/address"`)

	p := b.post("/check-email/address", addressForm(" Reader@EXAMPLE.org "))
	if p.status != http.StatusSeeOther || p.location() != "/check-email" {
		t.Fatalf("change: %d %q\n%s", p.status, p.location(), p.body)
	}
	b.get("/check-email").wantStatus(t, http.StatusOK).
		wantContains(t, `<strong id="pending-email">Reader@example.org</strong>`, "We sent a new link to Reader@example.org. The link sent to "+wrong+" no longer works.")
	if n := len(env.mails(wrong)); n != 1 {
		t.Fatalf("%d mails to the old address, want the sign-up's alone", n)
	}
	newLink := env.lastLink("Reader@example.org")

	// The old link, from any browser, and its "not me" button.
	for _, who := range []*browser{b, env.browser()} {
		who.get(oldLink).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="retired"`, "This link no longer works")
	}
	stranger := env.browser()
	stranger.get("/register")
	stranger.post(oldLink, nil).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="retired"`)
	stranger.post(oldLink+"/not-me", nil).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="retired"`)
	if _, err := env.app.Accounts.UserByEmail(t.Context(), wrong); err != store.ErrNotFound {
		t.Fatalf("the old address's account: %v, want it gone", err)
	}

	// The page waits for the new address: confirmed on another device.
	b.get("/check-email/status", htmxHeaders...).wantStatus(t, http.StatusNoContent)
	phone := env.browser()
	phone.get(newLink).wantStatus(t, http.StatusOK).wantContains(t, "Reader@example.org")
	phone.post(newLink, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`)
	b.get("/check-email/status", htmxHeaders...).wantStatus(t, http.StatusOK).wantContains(t, `data-confirmed="true"`, "Sign in")
	if h, ok := sessionValue(t, env, b, sessPendingHash); !ok || !strings.HasPrefix(h.(string), "$argon2id$") {
		t.Fatalf("the pending sign-up's hash: %v %v", h, ok)
	}
	b.login(right, goodPassword).wantStatus(t, http.StatusSeeOther)
	b.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `id="account-email">Reader@example.org<`)
	// The hash goes with the pending sign-up.
	if _, ok := sessionValue(t, env, b, sessPendingHash); ok {
		t.Fatal("the password hash outlived the pending sign-up")
	}
}

// The change form checks like sign-up's, in place and on submit, needs the
// CSRF token, and works without JavaScript.
func TestChangeAddressRefusals(t *testing.T) {
	env := newTestEnv(t)
	const email = "refusals@example.org"
	b := env.signUp(email)
	b.get("/check-email")
	for _, tc := range []struct{ value, want string }{
		{"not an address", html.EscapeString(env.inPlaceError(b, "not an address"))},
		{"", html.EscapeString(env.inPlaceError(b, ""))},
		{"REFUSALS@example.org", html.EscapeString(msgSameAddress)},
	} {
		p := b.post("/check-email/address", addressForm(tc.value)).wantStatus(t, http.StatusUnprocessableEntity)
		if tc.want == "" {
			t.Fatalf("%q: sign-up's check has no message", tc.value)
		}
		p.wantContains(t, `<details id="change-address" open>`, `aria-invalid="true"`, tc.want)
	}
	// Without the token.
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/check-email/address", strings.NewReader(addressForm("x@example.net").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p := b.do(req); p.status != http.StatusForbidden {
		t.Fatalf("without the CSRF token: %d", p.status)
	}
	if n := len(env.allMails("x@example.net")); n != 0 {
		t.Fatalf("%d mails after refusals", n)
	}
	// A browser without a pending sign-up cannot change anything.
	other := env.browser()
	other.get("/login")
	if p := other.post("/check-email/address", addressForm("y@example.net")); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Fatalf("no pending sign-up: %d %q", p.status, p.location())
	}
}

// inPlaceError is sign-up's in-place message for an address.
func (env *testEnv) inPlaceError(b *browser, value string) string {
	env.t.Helper()
	p := b.htmx("/register/validate/email", url.Values{"email": {value}})
	m := regexp.MustCompile(`<p class="error" id="email-error">([^<]*)</p>`).FindStringSubmatch(p.body)
	if m == nil {
		env.t.Fatalf("in-place check: %s", p.body)
	}
	return html.UnescapeString(m[1])
}

// Changes send mail, so they are limited: accounts.ResendPerDay a day per
// sign-up, and each counts as a sign-up of the client's network.
func TestChangeAddressLimits(t *testing.T) {
	env := newTestEnv(t)
	b := env.signUp("limited@example.org")
	b.get("/check-email")
	for i := range 5 {
		b.post("/check-email/address", addressForm("limited"+strconv.Itoa(i)+"@example.org")).wantStatus(t, http.StatusSeeOther)
		b.get("/check-email")
	}
	b.post("/check-email/address", addressForm("limited5@example.org")).wantStatus(t, http.StatusTooManyRequests).
		wantContains(t, "Too many attempts. Try again in")
	if n := len(env.allMails("limited5@example.org")); n != 0 {
		t.Fatalf("%d mails past the limit", n)
	}
	// The network's sign-ups: 1 + 5 changes so far; four more sign-ups
	// fill the hour, and a change from a fresh sign-up is refused.
	for i := range 4 {
		env.signUp("more" + strconv.Itoa(i) + "@example.org")
	}
	fresh := env.browser()
	fresh.get("/register")
	fresh.post("/register", url.Values{"email": {"late@example.org"}, "password": {goodPassword}, "password_confirm": {goodPassword}}).
		wantStatus(t, http.StatusTooManyRequests)
	env.clock.Advance(24 * time.Hour)
	b = env.signUp("tomorrow@example.org")
	b.get("/check-email")
	b.post("/check-email/address", addressForm("tomorrow2@example.org")).wantStatus(t, http.StatusSeeOther)
}

// bothAddresses blanks tokens and two addresses out of a page.
func bothAddresses(p page, from, to string) string {
	s := tokenValueRe.ReplaceAllString(p.body, "${1}TOKEN")
	s = regexp.MustCompile(`(data-resend-at|data-server-now)="\d+"`).ReplaceAllString(s, `$1="TIME"`)
	s = strings.ReplaceAll(s, from, "OLD")
	return strings.ReplaceAll(s, to, "NEW")
}

// A change answers the same whether the old and the new address have
// accounts, and sends what sign-up would: a link to an address without a
// confirmed account, a notice to one with.
func TestChangeAddressDoesNotTellTaken(t *testing.T) {
	env := newTestEnv(t)
	env.register("taken-old@example.org")
	env.register("taken-new@example.org")
	type run struct {
		from, to    string
		change, pge page
		status      page
	}
	var runs []run
	for _, tc := range []struct{ from, to string }{
		{"fresh-old1@example.org", "fresh-new1@example.org"},
		{"taken-old@example.org", "fresh-new2@example.org"},
		{"fresh-old3@example.org", "taken-new@example.org"},
		{"taken-old@example.org", "taken-new@example.org"},
	} {
		// Past the notice and resend intervals, and the day in which an
		// address can be left once (taken-old is left twice).
		env.clock.Advance(25 * time.Hour)
		b := env.signUp(tc.from)
		b.get("/check-email")
		r := run{from: tc.from, to: tc.to}
		r.change = b.post("/check-email/address", addressForm(tc.to))
		r.pge = b.get("/check-email")
		r.status = b.get("/check-email/status", htmxHeaders...)
		runs = append(runs, r)
	}
	for _, r := range runs[1:] {
		for _, pair := range [][2]page{{runs[0].change, r.change}, {runs[0].pge, r.pge}, {runs[0].status, r.status}} {
			if pair[0].status != pair[1].status || pair[0].location() != pair[1].location() ||
				bothAddresses(pair[0], runs[0].from, runs[0].to) != bothAddresses(pair[1], r.from, r.to) {
				t.Fatalf("%s → %s answers differently:\n%s\n---\n%s", r.from, r.to,
					bothAddresses(pair[0], runs[0].from, runs[0].to), bothAddresses(pair[1], r.from, r.to))
			}
		}
	}
	// The mails are sign-up's.
	subjects := func(to string) []string {
		var s []string
		for _, m := range env.mails(to) {
			s = append(s, m.Subject)
		}
		return s
	}
	for _, to := range []string{"fresh-new1@example.org", "fresh-new2@example.org"} {
		if got := subjects(to); len(got) != 1 || got[0] != "Confirm your Shelf account" {
			t.Errorf("%s got %q", to, got)
		}
	}
	notice := "Someone tried to sign up at Shelf with your address"
	if got := subjects("taken-new@example.org"); len(got) != 3 || got[1] != notice || got[2] != notice {
		t.Errorf("taken-new got %q, want its confirmation and two notices", got)
	}
	if got := subjects("taken-old@example.org"); len(got) != 3 || got[1] != notice || got[2] != notice {
		t.Errorf("taken-old got %q, want its confirmation and a notice per sign-up, nothing for the changes", got)
	}
}

// A tab that is stale (its sign-up was taken over or ended), a browser
// without the sign-up, and one waiting for another account all learn
// nothing about an account's state: their answers are the same before and
// after it is confirmed, and the same as a stranger's or "not confirmed".
func TestStaleOrForeignTabLearnsNothing(t *testing.T) {
	env := newTestEnv(t)
	const email = "target@example.org"
	replaced := env.signUp(email) // its sign-up is taken over below
	env.clock.Advance(2 * time.Minute)
	owner := env.signUp(email)
	ended := env.signUp("ended@example.org") // deletes its account below
	endedLink := env.lastLink("ended@example.org")
	stranger := env.browser()
	stranger.get("/login")
	other := env.signUp("other@example.org") // waits for its own account
	moved := env.signUp("moved@example.org") // changes its address below
	moved.get("/check-email")
	moved.post("/check-email/address", addressForm("moved-to@example.org")).wantStatus(t, http.StatusSeeOther)
	moved.get("/check-email").wantContains(t, "moved-to@example.org") // and its notice
	deleter := env.browser()
	deleter.get(endedLink)
	deleter.post(endedLink+"/not-me", nil).wantStatus(t, http.StatusOK)

	ask := func() map[string][]page {
		out := map[string][]page{}
		for name, b := range map[string]*browser{"replaced": replaced, "ended": ended, "stranger": stranger, "other": other, "moved": moved} {
			for _, req := range []func() page{
				func() page { return b.get("/check-email/status", htmxHeaders...) },
				func() page { return b.get("/check-email/status") },
				func() page { return b.get("/check-email") },
				func() page { return b.post("/check-email/resend", nil) },
			} {
				out[name] = append(out[name], req())
			}
		}
		return out
	}
	before := ask()
	link := env.lastLink(email)
	owner.get(link)
	owner.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`)
	owner.get("/check-email/status", htmxHeaders...).wantStatus(t, http.StatusOK).wantContains(t, `data-confirmed="true"`)
	after := ask()

	for name := range before {
		for i := range before[name] {
			b, a := before[name][i], after[name][i]
			if b.status != a.status || b.location() != a.location() || b.header.Get("HX-Redirect") != a.header.Get("HX-Redirect") ||
				tokenValueRe.ReplaceAllString(b.body, "T") != tokenValueRe.ReplaceAllString(a.body, "T") {
				t.Errorf("%s, request %d: the answer changed with the confirmation:\n%d %s\n---\n%d %s", name, i, b.status, b.body, a.status, a.body)
			}
			if strings.Contains(a.body, email) {
				t.Errorf("%s, request %d names the account", name, i)
			}
		}
	}
	// The stale tabs answer as a stranger does (the GETs: their posts
	// carry a token of a session that is gone); the waiting ones, "not
	// confirmed".
	for _, name := range []string{"replaced", "ended"} {
		for i := range after[name][:3] {
			s, g := after["stranger"][i], after[name][i]
			if s.status != g.status || s.location() != g.location() || s.header.Get("HX-Redirect") != g.header.Get("HX-Redirect") {
				t.Errorf("%s, request %d: %d %q, a stranger gets %d %q", name, i, g.status, g.location(), s.status, s.location())
			}
		}
	}
	for _, name := range []string{"other", "moved"} {
		if p := after[name][0]; p.status != http.StatusNoContent {
			t.Errorf("%s: status poll %d, want 204 (not confirmed)", name, p.status)
		}
	}
}

// The phone, which opens the link without the session, says the address is
// confirmed and offers to continue there.
func TestConfirmOnAnotherDeviceOffersToContinue(t *testing.T) {
	env := newTestEnv(t)
	const email = "phone@example.org"
	env.signUp(email)
	link := env.lastLink(email)
	phone := env.browser()
	phone.get(link).wantStatus(t, http.StatusOK)
	phone.post(link, nil).wantStatus(t, http.StatusOK).
		wantContains(t, `data-outcome="confirmed"`, "your email address is confirmed", "The page where you signed up carries on by itself",
			"To continue on this device, sign in.", `href="/login?next=%2Faccount"`, ">Sign in<")
	phone.get("/login?next=%2Faccount").wantContains(t, `name="next" value="/account"`)
	if p := phone.post("/login", url.Values{"email": {email}, "password": {goodPassword}, "next": {"/account"}}); p.status != http.StatusSeeOther || p.location() != "/account" {
		t.Fatalf("sign in on the phone: %d %q", p.status, p.location())
	}
}

// Three instances on one PostgreSQL database: the address changed on one,
// the new link confirmed on another, and the page, asking a third, moves
// on; the countdown and the changes' limit are the same on all of them.
func TestChangeAddressAcrossInstances(t *testing.T) {
	envs := newInstances(t, 3)
	const wrong, right = "spread@exmaple.org", "spread@example.org"
	b := envs[0].signUp(wrong)
	oldLink := envs[0].lastLink(wrong)
	envs[0].clock.Advance(10 * time.Second)
	var deadlines []time.Time
	for _, env := range envs {
		at, ok := resendDeadline(t, b.at(env).get("/check-email").wantStatus(t, http.StatusOK))
		if !ok {
			t.Fatal("no countdown")
		}
		deadlines = append(deadlines, at)
	}
	if !deadlines[0].Equal(deadlines[1]) || !deadlines[1].Equal(deadlines[2]) {
		t.Fatalf("the instances count down to %v", deadlines)
	}

	b.at(envs[1]).post("/check-email/address", addressForm(right)).wantStatus(t, http.StatusSeeOther)
	b.at(envs[2]).get("/check-email").wantStatus(t, http.StatusOK).wantContains(t, `<strong id="pending-email">`+right+`</strong>`)
	b.at(envs[2]).get("/check-email/status", htmxHeaders...).wantStatus(t, http.StatusNoContent)
	phone := envs[0].browser()
	phone.get(oldLink).wantStatus(t, http.StatusGone).wantContains(t, `data-outcome="retired"`)
	newLink := envs[0].lastLink(right)
	phone = phone.at(envs[1])
	phone.get(newLink).wantStatus(t, http.StatusOK)
	phone.post(newLink, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="confirmed"`)
	b.at(envs[2]).get("/check-email/status", htmxHeaders...).wantStatus(t, http.StatusOK).wantContains(t, `data-confirmed="true"`)

	// The daily limit on changes, counted on every instance.
	c := envs[0].signUp("limit@example.org")
	for i := range 5 {
		on := c.at(envs[i%3])
		on.get("/check-email")
		on.post("/check-email/address", addressForm(fmt.Sprintf("limit%d@example.org", i))).wantStatus(t, http.StatusSeeOther)
	}
	c.at(envs[2]).get("/check-email")
	c.at(envs[2]).post("/check-email/address", addressForm("limit-over@example.org")).wantStatus(t, http.StatusTooManyRequests)
}

// The change form judges the new address as sign-up does: a throwaway is
// refused and sends nothing, a known typo domain waits for "Yes, use this
// address" (for exactly that address), and "Did you mean …?" without
// JavaScript shows the form again with the suggestion, changing nothing.
func TestChangeAddressJudgesTheNewAddress(t *testing.T) {
	env := newTestEnv(t)
	const email = "judged@example.org"
	b := env.signUp(email)
	b.get("/check-email")

	b.post("/check-email/address", addressForm("judged@mailinator.com")).wantStatus(t, http.StatusUnprocessableEntity).
		wantContains(t, `<details id="change-address" open>`, `aria-invalid="true"`)
	if n := len(env.allMails("judged@mailinator.com")); n != 0 {
		t.Fatalf("%d mails to a throwaway address", n)
	}

	b.post("/check-email/address", addressForm("judged@gmial.com")).wantStatus(t, http.StatusUnprocessableEntity).
		wantContains(t, `name="`+components.EmailConfirmedName+`"`, "Yes, use this address")
	wrongTick := url.Values{"email": {"judged@gmial.com"}, components.EmailConfirmedName: {"other@gmial.com"}}
	b.post("/check-email/address", wrongTick).wantStatus(t, http.StatusUnprocessableEntity)
	if n := len(env.allMails("judged@gmial.com")); n != 0 {
		t.Fatalf("%d mails to an unconfirmed typo domain", n)
	}

	b.post("/check-email/address", url.Values{components.EmailSuggestionName: {"judged@gmail.com"}}).wantStatus(t, http.StatusOK).
		wantContains(t, `<details id="change-address" open>`, `value="judged@gmail.com"`)
	b.get("/check-email").wantContains(t, `<strong id="pending-email">`+email+`</strong>`)

	ticked := url.Values{"email": {"judged@gmial.com"}, components.EmailConfirmedName: {"judged@gmial.com"}}
	if p := b.post("/check-email/address", ticked); p.status != http.StatusSeeOther {
		t.Fatalf("confirmed typo domain: %d\n%s", p.status, p.body)
	}
	b.get("/check-email").wantContains(t, `<strong id="pending-email">judged@gmial.com</strong>`)
	if n := len(env.allMails("judged@gmial.com")); n != 1 {
		t.Fatalf("%d mails to the confirmed address, want 1", n)
	}
}

// An address's confirmation mails are limited by its account's history
// (one a minute, accounts.ResendPerDay resends a day). A change away from
// an address deletes that account, and its history with it, so the next
// sign-up of the address starts afresh: changes away from one address are
// limited across sign-ups, or sign-up, resends and a change, over and
// over, would mail someone else's address without end.
func TestChangeAddressCannotResetTheMailLimit(t *testing.T) {
	env := newTestEnvWith(t, func(_ *Deps, s *Settings) {
		s.Accounts.SessionIdle, s.Accounts.SessionLifetime = 72*time.Hour, 72*time.Hour
	})
	const victim = "victim@example.org"
	cycle := func(i int) page {
		b := env.signUp(victim)
		for range accounts.ResendPerDay {
			env.clock.Advance(time.Minute)
			b.post("/check-email/resend", nil).wantStatus(t, http.StatusOK)
		}
		b.get("/check-email")
		env.clock.Advance(time.Hour) // past the network's sign-up limit
		return b.post("/check-email/address", addressForm("spare"+strconv.Itoa(i)+"@example.org"))
	}
	perAccount := 1 + accounts.ResendPerDay
	// One change away from a mistyped address is what a reader needs.
	cycle(0).wantStatus(t, http.StatusSeeOther)
	if n := len(env.mails(victim)); n != perAccount {
		t.Fatalf("%d mails to the address after one sign-up, want %d", n, perAccount)
	}
	cycle(1).wantStatus(t, http.StatusTooManyRequests).wantContains(t, "Too many attempts. Try again in")
	for i := 2; i < 4; i++ {
		cycle(i)
	}
	if n := len(env.mails(victim)); n > 2*perAccount {
		t.Fatalf("%d mails to one address within a day, want at most %d", n, 2*perAccount)
	}
	// A day on, the address can be left again.
	env.clock.Advance(24 * time.Hour)
	cycle(4).wantStatus(t, http.StatusSeeOther)
}

// The limit on changes away from an address answers the same whether it
// had a confirmed account (the pending sign-up holds none) or not.
func TestChangeAwayLimitDoesNotTellTaken(t *testing.T) {
	env := newTestEnv(t)
	env.register("owner@example.org")
	for _, email := range []string{"owner@example.org", "nobody@example.org"} {
		for i, want := range []int{http.StatusSeeOther, http.StatusTooManyRequests} {
			b := env.signUp(email)
			b.get("/check-email")
			if p := b.post("/check-email/address", addressForm("moved"+strconv.Itoa(i)+"."+email)); p.status != want {
				t.Fatalf("%s, change %d: %d, want %d\n%s", email, i+1, p.status, want, p.body)
			}
		}
	}
}
