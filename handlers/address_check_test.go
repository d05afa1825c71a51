package handlers

import (
	"context"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"shelf/components/paths"
	"shelf/store/addresscheck"
)

// The address check in place: a refusal, a suggestion to accept in one
// click, and a typo domain's "Yes, use this address", bound to the exact
// address.
func TestAddressCheckInPlace(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	b.get("/register").wantStatus(t, http.StatusOK).wantContains(t,
		`id="email-verdict"`, `hx-target="#email-verdict"`, `hx-trigger="input changed delay:400ms, blur"`, `id="email-suggestion-form"`)
	check := func(form url.Values) page {
		t.Helper()
		p := b.htmx("/register/validate/email", form).wantStatus(t, http.StatusOK)
		if strings.Contains(p.body, "<html") {
			t.Fatal("a whole page")
		}
		return p
	}

	p := check(url.Values{"email": {"ann@mailinator.com"}})
	p.wantContains(t, `aria-invalid="true"`, html.EscapeString(string(addresscheck.Throwaway)))
	if strings.Contains(p.body, "Did you mean") {
		t.Fatal("a suggestion for a throwaway")
	}

	p = check(url.Values{"email": {"ann@hotmail.con"}})
	p.wantContains(t, `<p class="error" id="email-error"></p>`, "Did you mean",
		`name="email_suggestion" value="ann@hotmail.com"`, `form="email-suggestion-form"`, `data-fill-field="email"`)
	if strings.Contains(p.body, `aria-invalid`) {
		t.Fatal("a suggestion blocks")
	}

	p = check(url.Values{"email": {"ann@gmial.com"}})
	p.wantContains(t, `aria-invalid="true"`, "Is gmial.com right?", "Yes, use this address",
		`name="email_confirmed" value="ann@gmial.com"`, `value="ann@gmail.com"`)
	if strings.Contains(p.body, "checked") {
		t.Fatal("confirmed before asked")
	}
	p = check(url.Values{"email": {"Ann@GMIAL.com"}, "email_confirmed": {"Ann@gmial.com"}})
	p.wantContains(t, `<p class="error" id="email-error"></p>`, "checked", `value="Ann@gmial.com"`)
	// The confirmation of another address does not carry over.
	check(url.Values{"email": {"bob@gmial.com"}, "email_confirmed": {"ann@gmial.com"}}).wantContains(t, `aria-invalid="true"`, "Is gmial.com right?")

	p = check(url.Values{"email": {"ann@example.org"}})
	p.wantContains(t, `<p class="error" id="email-error"></p>`)
	if strings.Contains(p.body, "Did you mean") || strings.Contains(p.body, `name="email_confirmed"`) {
		t.Fatalf("verdict for a plain address:\n%s", p.body)
	}
	// Syntax keeps its own messages in place.
	check(url.Values{"email": {`"ann"@example.org`}}).wantContains(t, html.EscapeString(string(addresscheck.Quoted)))
	check(url.Values{"email": {"ann@localhost"}}).wantContains(t, html.EscapeString(string(addresscheck.NoDot)))
}

// On submit the same rules hold: a refused or unconfirmed address creates
// no account and sends no mail (through the real SMTP server of the dev
// inbox), while a confirmed typo domain and a plain address go on.
func TestAddressCheckOnSubmit(t *testing.T) {
	env := newTestEnvWith(t, func(_ *Deps, s *Settings) { s.AddressCheck.Deny = []string{"denied.example"} })
	inbox, _ := startDevInboxSender(t, env.db)
	submit := func(b *browser, form url.Values) page {
		t.Helper()
		form.Set("password", goodPassword)
		form.Set("password_confirm", goodPassword)
		return b.post("/register", form)
	}
	b := env.browser()
	b.get("/register")
	for _, tc := range []struct {
		form url.Values
		msg  string
	}{
		{url.Values{"email": {"ann@mailinator.com"}}, string(addresscheck.Throwaway)},
		{url.Values{"email": {"ann@inbox.guerrillamail.com"}}, string(addresscheck.Throwaway)},
		{url.Values{"email": {"ann@denied.example"}}, string(addresscheck.Throwaway)},
		{url.Values{"email": {"ann@gmial.com"}}, "Is gmial.com right?"},
		{url.Values{"email": {"bob@gmial.com"}, "email_confirmed": {"ann@gmial.com"}}, "Is gmial.com right?"},
		{url.Values{"email": {"ann@example..org"}}, string(addresscheck.EmptyLabel)},
	} {
		submit(b, tc.form).wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, html.EscapeString(tc.msg), `id="email-verdict"`)
	}
	// The HTMX submit gets the form alone, with the verdict.
	b.htmx("/register", url.Values{"email": {"ann@gmial.com"}, "password": {goodPassword}, "password_confirm": {goodPassword}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "Yes, use this address")
	var users int
	env.db.Read.QueryRow(`SELECT count(*) FROM users`).Scan(&users)
	if users != 0 {
		t.Fatalf("%d accounts for refused addresses", users)
	}

	// A suggestion never blocks, and a confirmed typo domain goes on.
	fresh := func() *browser { b := env.browser(); b.get("/register"); return b }
	if p := submit(fresh(), url.Values{"email": {"cat@hotmail.con"}}); p.status != http.StatusSeeOther {
		t.Fatalf("suggested address refused: %d\n%s", p.status, p.body)
	}
	if p := submit(fresh(), url.Values{"email": {"ann@gmial.com"}, "email_confirmed": {"ann@gmial.com"}}); p.status != http.StatusSeeOther {
		t.Fatalf("confirmed address refused: %d\n%s", p.status, p.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, err := inbox.Messages(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= 2 || time.Now().After(deadline) {
			var to []string
			for _, m := range msgs {
				to = append(to, strings.Join(m.Envelope.To, ","))
			}
			if strings.Join(to, " ") != "ann@gmial.com cat@hotmail.con" && strings.Join(to, " ") != "cat@hotmail.con ann@gmial.com" {
				t.Fatalf("mail went to %q; want only the two accepted addresses", to)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // anything else queued would be sent by now
	if msgs, _ := inbox.Messages(context.Background()); len(msgs) != 2 {
		t.Fatalf("%d mails, want 2", len(msgs))
	}
}

// Without JavaScript, the "Did you mean …?" button posts the suggestion,
// which comes back in the form, checked; nothing is created.
func TestAddressSuggestionWithoutJavaScript(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	b.get("/register")
	p := b.post("/register", url.Values{"email_suggestion": {"ann@gmail.com"}}).wantStatus(t, http.StatusOK)
	p.wantContains(t, "<html", `id="email" name="email" type="email" autocomplete="email" required value="ann@gmail.com"`, `<p class="error" id="email-error"></p>`)
	if strings.Contains(p.body, "Did you mean") {
		t.Fatal("the suggestion suggests again")
	}
	var users int
	env.db.Read.QueryRow(`SELECT count(*) FROM users`).Scan(&users)
	if users != 0 {
		t.Fatal("an account from a suggestion")
	}
}

// Only new addresses are judged: an account at a domain listed since
// still signs in, resets its password and asks for a sign-in link.
func TestListedDomainsStillSignIn(t *testing.T) {
	env := newTestEnv(t)
	if _, err := env.app.Accounts.CreateAdmin(context.Background(), "old@mailinator.com", goodPassword); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.get("/login")
	if p := b.post("/login", url.Values{"email": {"old@mailinator.com"}, "password": {goodPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d\n%s", p.status, p.body)
	}
	b = env.browser()
	b.get(paths.ForgotPassword)
	b.post(paths.ForgotPassword, url.Values{"email": {"old@mailinator.com"}}).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="reset-sent"`)
	page := b.get(paths.MagicRequest).wantStatus(t, http.StatusOK)
	m := regexp.MustCompile(`hx-post="([^"]+)"`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("the sign-in-by-email field is not checked in place")
	}
	// In place too, sign-in by email checks the syntax alone.
	inPlace := b.htmx(html.UnescapeString(m[1]), url.Values{"email": {"old@mailinator.com"}}).wantStatus(t, http.StatusOK)
	if strings.Contains(inPlace.body, "aria-invalid") || strings.Contains(inPlace.body, "Did you mean") {
		t.Fatalf("sign-in by email judges the address by the lists in place:\n%s", inPlace.body)
	}
	b.htmx(html.UnescapeString(m[1]), url.Values{"email": {"old@"}}).wantStatus(t, http.StatusOK).
		wantContains(t, `aria-invalid="true"`, html.EscapeString(string(addresscheck.NoDomain)))
	if p := b.post(paths.MagicRequest, url.Values{"email": {"old@gmial.com"}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-in link: %d\n%s", p.status, p.body)
	}
}

// nxResolver answers that no domain exists, or fails when err is set.
type nxResolver struct{ err error }

func (r nxResolver) LookupMX(context.Context, string) ([]*net.MX, error) {
	if r.err != nil {
		return nil, r.err
	}
	return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
}

func (r nxResolver) LookupHost(context.Context, string) ([]string, error) {
	if r.err != nil {
		return nil, r.err
	}
	return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
}

// With SHELF_CHECK_MX a domain that receives no mail is refused, in place
// and on submit; a DNS failure never refuses.
func TestAddressCheckMX(t *testing.T) {
	env := newTestEnvWith(t, func(_ *Deps, s *Settings) { s.AddressCheck.Resolver = nxResolver{} })
	b := env.browser()
	b.get("/register")
	b.htmx("/register/validate/email", url.Values{"email": {"ann@nowhere.example"}}).wantContains(t, html.EscapeString(string(addresscheck.NoMail)))
	b.post("/register", url.Values{"email": {"ann@nowhere.example"}, "password": {goodPassword}, "password_confirm": {goodPassword}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, html.EscapeString(string(addresscheck.NoMail)))

	failing := newTestEnvWith(t, func(_ *Deps, s *Settings) {
		s.AddressCheck.Resolver = nxResolver{err: &net.DNSError{Err: "i/o timeout", IsTimeout: true}}
	})
	if p := failing.signUp("ann@nowhere.example").get("/check-email"); p.status != http.StatusOK {
		t.Fatalf("sign-up with DNS failing: %d", p.status)
	}
}
