package handlers

import (
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var sessionRowRe = regexp.MustCompile(`<li class="session" data-session="([^"]+)"( data-current)?>`)

// listedSessions returns the ids on b's "Where you're signed in" page, and
// which one is marked as this device.
func listedSessions(t *testing.T, b *browser) (ids []string, current string, body string) {
	t.Helper()
	p := b.get("/account/sessions").wantStatus(t, http.StatusOK)
	for _, m := range sessionRowRe.FindAllStringSubmatch(p.body, -1) {
		ids = append(ids, m[1])
		if m[2] != "" {
			current = m[1]
		}
	}
	return ids, current, p.body
}

func TestSessionsPage(t *testing.T) {
	env := newTestEnv(t)
	email := "lister@example.org"
	laptop := env.register(email)
	phone := env.browser()
	phone.ua = safariIPhone
	phone.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	phone.get("/account").wantStatus(t, http.StatusOK)
	// Someone else's session, which nothing here may end.
	other := env.register("other@example.org")

	if p := env.browser().get("/account/sessions"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Fatalf("anonymous: %d %s", p.status, p.location())
	}
	laptop.get("/account").wantContains(t, `href="/account/sessions"`)
	ids, current, body := listedSessions(t, laptop)
	if len(ids) != 2 || current != ids[0] {
		t.Fatalf("listed %v, current %q\n%s", ids, current, body)
	}
	if !strings.Contains(body, "Safari on iPhone") || !strings.Contains(body, "127.0.0.1") || !strings.Contains(body, "(this device)") ||
		!strings.Contains(body, env.clock.Now().UTC().Format(displayTime)) {
		t.Fatalf("page lacks the phone's browser, address, last seen or this device:\n%s", body)
	}
	phoneID := ids[1]
	otherIDs, _, _ := listedSessions(t, other)

	// Neither this device nor another account's session can be ended here.
	for _, id := range []string{current, otherIDs[0], "bogus"} {
		laptop.post("/account/sessions/"+id+"/sign-out", nil).wantStatus(t, http.StatusSeeOther)
	}
	laptop.get("/account").wantStatus(t, http.StatusOK)
	other.get("/account").wantStatus(t, http.StatusOK)
	phone.get("/account").wantStatus(t, http.StatusOK)

	laptop.post("/account/sessions/"+phoneID+"/sign-out", nil).wantStatus(t, http.StatusSeeOther)
	if p := phone.get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("phone still signed in: %d", p.status)
	}
	if ids, _, body := listedSessions(t, laptop); len(ids) != 1 || !strings.Contains(body, "That session is signed out.") {
		t.Fatalf("after sign-out: %v\n%s", ids, body)
	}

	// Sign out everywhere else.
	for range 2 {
		b := env.browser()
		b.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	}
	if ids, _, _ := listedSessions(t, laptop); len(ids) != 3 {
		t.Fatalf("%d sessions listed, want 3", len(ids))
	}
	laptop.post("/account/sessions/sign-out-others", nil).wantStatus(t, http.StatusSeeOther)
	if ids, cur, body := listedSessions(t, laptop); len(ids) != 1 || cur != ids[0] || !strings.Contains(body, "signed out everywhere else") {
		t.Fatalf("after signing out everywhere else: %v\n%s", ids, body)
	}
	other.get("/account").wantStatus(t, http.StatusOK)
}

// "Last seen" is written at most once a minute per session, not per request.
func TestLastSeenCoarse(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("seen@example.org")
	seen := func() (ms int64) {
		t.Helper()
		if err := env.db.Read.QueryRow(`SELECT seen_at FROM sessions WHERE user_id = $1`, env.user("seen@example.org").ID).Scan(&ms); err != nil {
			t.Fatal(err)
		}
		return ms
	}
	start := seen()
	if start != env.clock.Now().UnixMilli() {
		t.Fatalf("seen_at %d after sign-in, want %d", start, env.clock.Now().UnixMilli())
	}
	for range 5 {
		env.clock.Advance(10 * time.Second)
		b.get("/account").wantStatus(t, http.StatusOK)
	}
	if got := seen(); got != start {
		t.Fatalf("seen_at moved within a minute: %d → %d", start, got)
	}
	env.clock.Advance(11 * time.Second)
	b.get("/account").wantStatus(t, http.StatusOK)
	if got := seen(); got != env.clock.Now().UnixMilli() {
		t.Fatalf("seen_at %d after a minute, want %d", got, env.clock.Now().UnixMilli())
	}
}

// Instances behind a load balancer share the list: a session ended on one
// is ended on every one.
func TestSessionsPageAcrossInstances(t *testing.T) {
	envs := newInstances(t, 2)
	email := "cluster@example.org"
	laptop := envs[0].register(email)
	phone := envs[1].browser()
	phone.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	phone.get("/account").wantStatus(t, http.StatusOK)

	ids, current, _ := listedSessions(t, laptop.at(envs[1]))
	if len(ids) != 2 || current != ids[0] {
		t.Fatalf("listed %v on the other instance", ids)
	}
	laptop.at(envs[1]).post("/account/sessions/"+ids[1]+"/sign-out", nil).wantStatus(t, http.StatusSeeOther)
	if p := phone.at(envs[0]).get("/account"); p.status != http.StatusSeeOther {
		t.Fatalf("phone still signed in on the other instance: %d", p.status)
	}
	laptop.at(envs[0]).get("/account").wantStatus(t, http.StatusOK)
}

// Behind a trusted proxy, security mails and the session list show the
// address the proxy names; from anyone else, X-Forwarded-For is ignored.
func TestSecurityAddressBehindProxy(t *testing.T) {
	env := newTestEnvWith(t, func(_ *Deps, s *Settings) {
		s.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	email := "proxied@example.org"
	laptop := env.register(email)
	phone := env.browser()
	phone.get("/login")
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/login",
		strings.NewReader(url.Values{"email": {email}, "password": {goodPassword}, "_csrf": {phone.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	phone.do(req).wantStatus(t, http.StatusSeeOther)
	if ms := env.securityMails(email); len(ms) != 1 || !strings.Contains(ms[0].Text, "IP address: 203.0.113.9") {
		t.Fatalf("security mail: %+v", ms)
	}
	if _, _, body := listedSessions(t, laptop); !strings.Contains(body, "203.0.113.9") {
		t.Fatalf("the list lacks the proxied address:\n%s", body)
	}

	direct := newTestEnv(t)
	direct.register(email)
	b := direct.browser()
	b.get("/login")
	req, _ = http.NewRequest(http.MethodPost, direct.srv.URL+"/login",
		strings.NewReader(url.Values{"email": {email}, "password": {goodPassword}, "_csrf": {b.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	b.do(req).wantStatus(t, http.StatusSeeOther)
	if ms := direct.securityMails(email); len(ms) != 1 || !strings.Contains(ms[0].Text, "IP address: 127.0.0.1") {
		t.Fatalf("an untrusted X-Forwarded-For was believed: %+v", ms)
	}
}
