package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"shelf/components/paths"
	"shelf/store/twofactor"
)

var (
	otpauthSecretRe = regexp.MustCompile(`otpauth://totp/[^"]*secret=([A-Z2-7]+)`)
	recoveryCodeRe  = regexp.MustCompile(`\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b`)
)

// totpCode is the app's code at the env's clock, d steps away.
func (env *testEnv) totpCode(secret string, d int64) string {
	env.t.Helper()
	c, err := twofactor.Code(secret, twofactor.Step(env.clock.Now())+d)
	if err != nil {
		env.t.Fatal(err)
	}
	return c
}

// reauth enters the password again in the signed-in browser b.
func (b *browser) reauth(next string) {
	b.env.t.Helper()
	b.get(paths.ReauthNext(next)).wantStatus(b.env.t, http.StatusOK)
	p := b.post(paths.Reauth, url.Values{"password": {goodPassword}, "next": {next}})
	if p.status != http.StatusSeeOther || p.location() != next {
		b.env.t.Fatalf("reauth: %d %q\n%s", p.status, p.location(), p.body)
	}
}

// enrolTOTP turns the app on for b's account and returns its secret and
// recovery codes. The enrolment code is the current step's.
func (b *browser) enrolTOTP() (secret string, codes []string) {
	env, t := b.env, b.env.t
	t.Helper()
	b.reauth(paths.TwoFactorSetup)
	p := b.get(paths.TwoFactorSetup).wantStatus(t, http.StatusOK).wantContains(t, "<svg", `id="totp-key"`)
	m := otpauthSecretRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no otpauth:// link:\n%s", p.body)
	}
	secret = m[1]
	p = b.post(paths.TwoFactorSetup, url.Values{"code": {env.totpCode(secret, 0)}})
	if p.status != http.StatusSeeOther || p.location() != paths.RecoveryCodes {
		t.Fatalf("enrol: %d %q\n%s", p.status, p.location(), p.body)
	}
	p = b.get(paths.RecoveryCodes).wantStatus(t, http.StatusOK)
	codes = recoveryCodeRe.FindAllString(p.body, -1)
	if len(codes) != twofactor.RecoveryCodes {
		t.Fatalf("%d recovery codes shown:\n%s", len(codes), p.body)
	}
	return secret, codes
}

// startSignIn signs in with the password in a new browser and returns it,
// holding a pending sign-in at the second step.
func (env *testEnv) startSignIn(email string) *browser {
	env.t.Helper()
	b := env.browser()
	b.get("/login")
	p := b.post("/login", url.Values{"email": {email}, "password": {goodPassword}})
	if p.status != http.StatusSeeOther || p.location() != paths.TwoFactorLogin {
		env.t.Fatalf("password step: %d %q\n%s", p.status, p.location(), p.body)
	}
	b.get(paths.TwoFactorLogin).wantStatus(env.t, http.StatusOK).wantContains(env.t, `id="second-step-form"`)
	return b
}

func (b *browser) signedInAs(email string) bool {
	p := b.get("/account")
	return p.status == http.StatusOK && strings.Contains(p.body, `id="account-email">`+email+`<`)
}

func TestTOTPEnrolmentAndSignIn(t *testing.T) {
	env := newTestEnv(t)
	const email = "two@example.org"
	b := env.register(email)
	b.get("/account").wantContains(t, `id="two-factor-setup"`)
	// Enrolment needs the password again.
	if p := b.get(paths.TwoFactorSetup); p.status != http.StatusSeeOther || p.location() != paths.ReauthNext(paths.TwoFactorSetup) {
		t.Fatalf("setup without re-authentication: %d %q", p.status, p.location())
	}
	b.get(paths.ReauthNext(paths.TwoFactorSetup))
	b.post(paths.Reauth, url.Values{"password": {"not my password"}, "next": {paths.TwoFactorSetup}}).wantStatus(t, http.StatusUnprocessableEntity)
	b.reauth(paths.TwoFactorSetup)
	page := b.get(paths.TwoFactorSetup).wantStatus(t, http.StatusOK)
	secret := otpauthSecretRe.FindStringSubmatch(page.body)[1]
	if len(secret) != 32 { // 160 bits in base32
		t.Fatalf("secret %q is not 160 bits", secret)
	}
	if !strings.Contains(page.body, secret[:4]+" "+secret[4:8]) {
		t.Fatal("the key is not shown in groups of four")
	}
	// The pending secret lives in the session, sealed: not in the database.
	if v, ok := sessionValue(t, env, b, sessEnrolSecret); !ok || strings.Contains(string(v.([]byte)), secret) {
		t.Fatal("the pending secret is not sealed in the session")
	}
	if on, _ := env.app.TwoFactor.Enabled(context.Background(), env.user(email).ID); on {
		t.Fatal("enabled before a code confirmed it")
	}
	// The same secret on reload; enrolment accepts ±2 steps, not 3.
	if again := otpauthSecretRe.FindStringSubmatch(b.get(paths.TwoFactorSetup).body)[1]; again != secret {
		t.Fatal("the pending secret changed on reload")
	}
	b.post(paths.TwoFactorSetup, url.Values{"code": {env.totpCode(secret, 3)}}).wantStatus(t, http.StatusUnprocessableEntity)
	enrolCode := env.totpCode(secret, 2)
	if p := b.post(paths.TwoFactorSetup, url.Values{"code": {enrolCode}}); p.status != http.StatusSeeOther {
		t.Fatalf("enrol with +2: %d\n%s", p.status, p.body)
	}
	ms := env.securityMails(email)
	if last := ms[len(ms)-1]; !strings.Contains(last.Text, "turned on") {
		t.Fatalf("no mail saying 2FA was turned on: %+v", last)
	}
	var stored []byte
	if err := env.db.Read.QueryRow(`SELECT secret FROM totp_factors`).Scan(&stored); err != nil || strings.Contains(string(stored), secret) {
		t.Fatalf("secret stored in clear (%v)", err)
	}

	// Recovery codes: shown until "I've saved them", downloadable.
	p := b.get(paths.RecoveryCodes).wantStatus(t, http.StatusOK).wantContains(t, "I've saved them", paths.RecoveryCodesDownload)
	codes := recoveryCodeRe.FindAllString(p.body, -1)
	dl := b.get(paths.RecoveryCodesDownload).wantStatus(t, http.StatusOK)
	if !strings.Contains(dl.header.Get("Content-Disposition"), "attachment") || !strings.Contains(dl.body, codes[9]) {
		t.Fatalf("download: %v\n%s", dl.header, dl.body)
	}
	b.post(paths.RecoveryCodesSaved, nil).wantStatus(t, http.StatusSeeOther)
	if p := b.get(paths.RecoveryCodes); len(recoveryCodeRe.FindAllString(p.body, -1)) != 0 {
		t.Fatal("codes shown again after they were saved")
	}
	b.get("/account").wantContains(t, "10 recovery codes left")
	// The secret is never shown again.
	if p := b.get(paths.TwoFactorSetup); p.status != http.StatusSeeOther || p.location() != paths.Account {
		t.Fatalf("setup page once enabled: %d %q", p.status, p.location())
	}

	// Sign-in: the password alone does not sign in; the enrolment code
	// does not work again (it was 2 steps ahead: still within ±1 of a
	// clock one step later).
	env.clock.Advance(twofactor.Period)
	s := env.startSignIn(email)
	if s.signedInAs(email) {
		t.Fatal("signed in by the password alone")
	}
	s.post(paths.TwoFactorLogin, url.Values{"code": {enrolCode}}).wantStatus(t, http.StatusUnprocessableEntity)
	// ±1 step at sign-in (the current and the enrolment's steps are used up
	// or earlier, so a step 2 ahead would be needed: refused).
	env.clock.Advance(2 * twofactor.Period)
	s.post(paths.TwoFactorLogin, url.Values{"code": {env.totpCode(secret, 2)}}).wantStatus(t, http.StatusUnprocessableEntity)
	p = s.post(paths.TwoFactorLogin, url.Values{"code": {env.totpCode(secret, 1)}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("second step with +1: %d\n%s", p.status, p.body)
	}
	if !s.signedInAs(email) {
		t.Fatal("not signed in after the second step")
	}
}

// Every route, with a session holding a pending sign-in, either is the
// second step's own or sends it there.
func TestPendingSignInRouteSweep(t *testing.T) {
	env := newTestEnv(t)
	const email = "sweep@example.org"
	env.register(email).enrolTOTP()
	b := env.startSignIn(email)
	before := b.sessionCookie().Value
	params := regexp.MustCompile(`:[a-z]+|\*`)
	fill := func(p string) string { return params.ReplaceAllString(strings.ReplaceAll(p, ":field", "code"), "1") }
	swept := 0
	for _, r := range env.app.Handler().Routes() {
		path := fill(r.Path)
		if strings.HasPrefix(r.Path, "/static/") || r.Path == paths.Health || r.Path == paths.Logout || isAPIPath(r.Path) || strings.HasPrefix(r.Path, paths.ShortLinks) {
			continue // no session is loaded for these (the API and short links never load one); signing out ends the pending sign-in (below)
		}
		var p page
		switch r.Method {
		case http.MethodGet:
			p = b.get(path)
		case http.MethodHead:
			req, _ := http.NewRequest(http.MethodHead, env.srv.URL+path, nil)
			p = b.do(req)
		case http.MethodPost:
			p = b.post(path, url.Values{"code": {"000000"}, "password": {goodPassword}})
		default:
			t.Fatalf("route %s %s: method not swept", r.Method, r.Path)
		}
		swept++
		if r.Path == paths.TwoFactorPasskeyOptions || r.Path == paths.TwoFactorPasskey {
			// Served, not sent on: the account has no passkey (409), and a
			// form is no assertion (401).
			if p.status != http.StatusConflict && p.status != http.StatusUnauthorized {
				t.Errorf("%s %s: %d", r.Method, path, p.status)
			}
			continue
		}
		if secondStepRoutes[r.Path] {
			if p.status != http.StatusOK && p.status != http.StatusUnprocessableEntity {
				t.Errorf("%s %s: %d", r.Method, path, p.status)
			}
			continue
		}
		if p.status != http.StatusSeeOther || p.location() != paths.TwoFactorLogin {
			t.Errorf("%s %s with a pending sign-in: %d %q, want 303 to the second step", r.Method, path, p.status, p.location())
		}
	}
	if swept < 30 {
		t.Fatalf("only %d routes swept", swept)
	}
	if v, _ := sessionValue(t, env, b, sessUserID); v != nil {
		t.Fatalf("the pending session holds a user: %v", v)
	}
	if b.sessionCookie().Value != before {
		t.Fatal("the sweep changed the pending session's token")
	}
	// Signing out ends the pending sign-in.
	b.post(paths.Logout, nil).wantStatus(t, http.StatusSeeOther)
	if p := b.get("/account"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Fatalf("after signing out: %d %q", p.status, p.location())
	}
}

func TestPendingSignInRenewsTokenAndExpires(t *testing.T) {
	env := newTestEnv(t)
	const email = "expire@example.org"
	env.register(email).enrolTOTP()
	b := env.browser()
	b.get("/login")
	anon := b.sessionCookie()
	b.post("/login", url.Values{"email": {email}, "password": {goodPassword}}).wantStatus(t, http.StatusSeeOther)
	if c := b.sessionCookie(); c == nil || (anon != nil && c.Value == anon.Value) {
		t.Fatal("the pending sign-in did not get a new session token")
	}
	env.clock.Advance(10*time.Minute + time.Second)
	p := b.get(paths.TwoFactorLogin)
	if p.status != http.StatusSeeOther || p.location() != paths.Login {
		t.Fatalf("after 10 minutes: %d %q", p.status, p.location())
	}
	b.get(paths.Login).wantStatus(t, http.StatusOK).wantContains(t, "longer than 10 minutes")
	// Anonymous again: public pages are public pages.
	b.get("/about").wantStatus(t, http.StatusOK)
}

func TestFiveWrongCodesEndThePendingSignIn(t *testing.T) {
	env := newTestEnv(t)
	const email = "five@example.org"
	secret, _ := env.register(email).enrolTOTP()
	env.clock.Advance(twofactor.Period)
	b := env.startSignIn(email)
	wrong := "000000"
	if wrong == env.totpCode(secret, 0) {
		wrong = "111111"
	}
	for i := 1; i <= 4; i++ {
		b.post(paths.TwoFactorLogin, url.Values{"code": {wrong}}).wantStatus(t, http.StatusUnprocessableEntity)
	}
	p := b.post(paths.TwoFactorLogin, url.Values{"code": {wrong}})
	if p.status != http.StatusSeeOther || p.location() != paths.Login {
		t.Fatalf("fifth wrong code: %d %q", p.status, p.location())
	}
	// The right code no longer helps: the pending sign-in is gone.
	if p := b.post(paths.TwoFactorLogin, url.Values{"code": {env.totpCode(secret, 0)}}); p.status != http.StatusSeeOther || p.location() != paths.Login {
		t.Fatalf("after the pending sign-in ended: %d %q", p.status, p.location())
	}
	if b.signedInAs(email) {
		t.Fatal("signed in")
	}
}

// Ten wrong codes within an hour, from different browsers (addresses),
// freeze the account's second step for 15 minutes and mail its owner.
func TestTenWrongCodesFreezeTheAccount(t *testing.T) {
	env := newTestEnv(t)
	const email = "frozen@example.org"
	secret, _ := env.register(email).enrolTOTP()
	env.clock.Advance(twofactor.Period)
	mailsBefore := len(env.securityMails(email))
	wrong := "000000"
	if wrong == env.totpCode(secret, 0) || wrong == env.totpCode(secret, -1) || wrong == env.totpCode(secret, 1) {
		wrong = "111111"
	}
	for i := range 10 {
		b := env.startSignIn(email)
		b.post(paths.TwoFactorLogin, url.Values{"code": {wrong}}).wantStatus(t, http.StatusUnprocessableEntity)
		_ = i
	}
	ms := env.securityMails(email)
	if len(ms) != mailsBefore+1 || !strings.Contains(ms[len(ms)-1].Text, "locked for 15 minutes") {
		t.Fatalf("%d new mails, want 1 about the lock", len(ms)-mailsBefore)
	}
	b := env.startSignIn(email)
	b.post(paths.TwoFactorLogin, url.Values{"code": {env.totpCode(secret, 0)}}).wantStatus(t, http.StatusTooManyRequests).
		wantContains(t, "Too many wrong codes")
	env.clock.Advance(15*time.Minute + time.Second)
	b = env.startSignIn(email)
	if p := b.post(paths.TwoFactorLogin, url.Values{"code": {env.totpCode(secret, 0)}}); p.status != http.StatusSeeOther {
		t.Fatalf("after the freeze: %d\n%s", p.status, p.body)
	}
	if !b.signedInAs(email) {
		t.Fatal("not signed in after the freeze ended")
	}
}

// signedInSessions counts the stored sessions signed in to uid.
func signedInSessions(t *testing.T, env *testEnv, uid int64) int {
	t.Helper()
	rows, err := env.db.Read.Query(`SELECT data FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		_, values, err := scs.GobCodec{}.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := values[sessUserID].(int64); id == uid {
			n++
		}
	}
	return n
}

func TestSameCodeTwiceConcurrentlySignsInOnce(t *testing.T) {
	env := newTestEnv(t)
	sameCodeConcurrently(t, env, env)
}

// On PostgreSQL, with the two browsers on two instances of Shelf.
func TestSameCodeTwiceConcurrentlySignsInOncePostgres(t *testing.T) {
	envs := newInstances(t, 2)
	sameCodeConcurrently(t, envs[0], envs[1])
}

func sameCodeConcurrently(t *testing.T, env, other *testEnv) {
	const email = "race@example.org"
	secret, _ := env.register(email).enrolTOTP()
	uid := env.user(email).ID
	env.clock.Advance(twofactor.Period)
	code := env.totpCode(secret, 0)
	signedBefore := signedInSessions(t, env, uid) // the enrolling browser's

	// Two browsers at the second step, each submitting twice at once.
	// A submit that finds its session already upgraded by the other is
	// refused by the CSRF check (its token was renewed), or as a wrong code.
	a, b := env.startSignIn(email), other.startSignIn(email)
	statuses := make([]int, 4)
	var wg sync.WaitGroup
	for i, br := range []*browser{a, b, a, b} {
		br = br.at(br.env) // the same cookies; a CSRF token of its own to update
		wg.Go(func() { statuses[i] = br.post(paths.TwoFactorLogin, url.Values{"code": {code}}).status })
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusSeeOther {
			ok++
		} else if s != http.StatusUnprocessableEntity && s != http.StatusForbidden {
			t.Fatalf("statuses %v", statuses)
		}
	}
	if ok != 1 || signedInSessions(t, env, uid) != signedBefore+1 {
		t.Fatalf("statuses %v, %d new signed-in sessions; want exactly one sign-in", statuses, signedInSessions(t, env, uid)-signedBefore)
	}
	// And later, the same code once more.
	c := env.startSignIn(email)
	c.post(paths.TwoFactorLogin, url.Values{"code": {code}}).wantStatus(t, http.StatusUnprocessableEntity)
}

func TestRecoveryCodeAtSecondStepWorksOnce(t *testing.T) {
	env := newTestEnv(t)
	const email = "recover@example.org"
	_, codes := env.register(email).enrolTOTP()
	b := env.startSignIn(email)
	typed := strings.ToLower(strings.ReplaceAll(codes[0], "-", " "))
	if p := b.post(paths.TwoFactorLogin, url.Values{"code": {typed}}); p.status != http.StatusSeeOther {
		t.Fatalf("recovery code: %d\n%s", p.status, p.body)
	}
	if !b.signedInAs(email) {
		t.Fatal("not signed in with a recovery code")
	}
	ms := env.securityMails(email)
	if !strings.Contains(ms[len(ms)-1].Text, "recovery code was used") {
		t.Fatal("no mail about the recovery code")
	}
	b.get("/account").wantContains(t, "9 recovery codes left")
	again := env.startSignIn(email)
	again.post(paths.TwoFactorLogin, url.Values{"code": {codes[0]}}).wantStatus(t, http.StatusUnprocessableEntity)
}

func TestRecoveryCodesWarningAndRegeneration(t *testing.T) {
	env := newTestEnv(t)
	const email = "regen@example.org"
	b := env.register(email)
	_, codes := b.enrolTOTP()
	b.post(paths.RecoveryCodesSaved, nil)
	for _, c := range codes[:7] {
		s := env.startSignIn(email)
		s.post(paths.TwoFactorLogin, url.Values{"code": {c}}).wantStatus(t, http.StatusSeeOther)
	}
	b.get("/account").wantContains(t, "3 recovery codes left", `id="recovery-warning"`)
	// Regenerating needs the password again, and mails the owner.
	env.clock.Advance(6 * time.Minute)
	b.get(paths.RecoveryCodes)
	if p := b.post(paths.RecoveryCodes, nil); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), paths.Reauth) {
		t.Fatalf("regenerate without re-authentication: %d %q", p.status, p.location())
	}
	b.reauth(paths.RecoveryCodes)
	before := len(env.securityMails(email))
	b.post(paths.RecoveryCodes, nil).wantStatus(t, http.StatusSeeOther)
	fresh := recoveryCodeRe.FindAllString(b.get(paths.RecoveryCodes).body, -1)
	if len(fresh) != 10 || len(env.securityMails(email)) != before+1 {
		t.Fatalf("%d new codes, %d mails", len(fresh), len(env.securityMails(email))-before)
	}
	s := env.startSignIn(email)
	s.post(paths.TwoFactorLogin, url.Values{"code": {codes[8]}}).wantStatus(t, http.StatusUnprocessableEntity)
	s.post(paths.TwoFactorLogin, url.Values{"code": {fresh[0]}}).wantStatus(t, http.StatusSeeOther)
}

func TestPasswordResetKeepsTheSecondFactor(t *testing.T) {
	env := newTestEnv(t)
	const email = "resetter@example.org"
	secret, _ := env.register(email).enrolTOTP()
	r := env.browser()
	before := len(env.mails(email))
	r.get("/password/forgot")
	r.post("/password/forgot", url.Values{"email": {email}}).wantStatus(t, http.StatusOK)
	env.waitMails(email, before+1)
	link := env.lastLink(email)
	r.get(link).wantStatus(t, http.StatusOK)
	newPW := "quiet orange lantern"
	if p := r.post(link, url.Values{"password": {newPW}, "password_confirm": {newPW}}); p.status != http.StatusSeeOther ||
		p.location() != paths.LoginNext(paths.Account) {
		t.Fatalf("reset: %d %q, want the sign-in page", p.status, p.location())
	}
	if r.signedInAs(email) {
		t.Fatal("the reset signed in past the second factor")
	}
	// Nor is half a sign-in left waiting for the code.
	if p := r.get(paths.TwoFactorLogin); p.status != http.StatusSeeOther || p.location() != paths.Login {
		t.Fatalf("second step after a reset: %d %q, want none pending", p.status, p.location())
	}
	if on, _ := env.app.TwoFactor.Enabled(context.Background(), env.user(email).ID); !on {
		t.Fatal("the reset removed the second factor")
	}
	// Signing in with the new password still asks for a code.
	b := env.browser()
	b.get("/login")
	p := b.post("/login", url.Values{"email": {email}, "password": {newPW}})
	if p.status != http.StatusSeeOther || p.location() != paths.TwoFactorLogin {
		t.Fatalf("sign-in after reset: %d %q", p.status, p.location())
	}
	env.clock.Advance(twofactor.Period)
	b.get(paths.TwoFactorLogin).wantStatus(t, http.StatusOK)
	b.post(paths.TwoFactorLogin, url.Values{"code": {env.totpCode(secret, 0)}}).wantStatus(t, http.StatusSeeOther)
	if !b.signedInAs(email) {
		t.Fatal("not signed in after the code")
	}
}

func TestTurningOffNeedsPasswordAndCode(t *testing.T) {
	env := newTestEnv(t)
	const email = "off@example.org"
	b := env.register(email)
	secret, _ := b.enrolTOTP()
	env.clock.Advance(twofactor.Period)
	b.get(paths.TwoFactorDisable).wantStatus(t, http.StatusOK)
	b.post(paths.TwoFactorDisable, url.Values{"password": {"wrong password"}, "code": {env.totpCode(secret, 0)}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "not your password")
	b.post(paths.TwoFactorDisable, url.Values{"password": {goodPassword}, "code": {"12345"}}).wantStatus(t, http.StatusUnprocessableEntity)
	wrong := "000000"
	if wrong == env.totpCode(secret, 0) || wrong == env.totpCode(secret, -1) || wrong == env.totpCode(secret, 1) {
		wrong = "111111"
	}
	b.post(paths.TwoFactorDisable, url.Values{"password": {goodPassword}, "code": {wrong}}).wantStatus(t, http.StatusUnprocessableEntity)
	var fails int
	if err := env.db.Read.QueryRow(`SELECT fails FROM totp_factors`).Scan(&fails); err != nil || fails != 1 {
		t.Fatalf("a wrong code when turning off counted %d failures (%v), want 1", fails, err)
	}
	before := len(env.securityMails(email))
	if p := b.post(paths.TwoFactorDisable, url.Values{"password": {goodPassword}, "code": {env.totpCode(secret, 0)}}); p.status != http.StatusSeeOther {
		t.Fatalf("turn off: %d\n%s", p.status, p.body)
	}
	ms := env.securityMails(email)
	if len(ms) != before+1 || !strings.Contains(ms[len(ms)-1].Text, "turned off") {
		t.Fatal("no mail about turning it off")
	}
	s := env.browser()
	s.get("/login")
	if p := s.post("/login", url.Values{"email": {email}, "password": {goodPassword}}); p.location() != "/" {
		t.Fatalf("sign-in after turning off: %d %q", p.status, p.location())
	}
}

func TestEnrolmentNeedsAConfirmedAddress(t *testing.T) {
	env := newTestEnv(t)
	const email = "unconfirmed@example.org"
	b := env.signUp(email).signInUnconfirmed(email)
	if p := b.get(paths.TwoFactorSetup); p.status != http.StatusSeeOther || p.location() != paths.CheckEmail {
		t.Fatalf("setup with an unconfirmed address: %d %q", p.status, p.location())
	}
}

func TestSecondFactorFormsValidateInPlace(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("valid@example.org")
	b.htmx(paths.TwoFactorValidateLink("code"), url.Values{"code": {"12ab"}}).wantStatus(t, http.StatusOK).wantContains(t, "Enter the 6 digits")
	p := b.htmx(paths.TwoFactorValidateLink("code"), url.Values{"code": {"123 456"}}).wantStatus(t, http.StatusOK)
	if strings.Contains(p.body, "Enter the") {
		t.Fatalf("a well-formed code was refused:\n%s", p.body)
	}
	b.htmx(paths.TwoFactorValidateLink("code_or_recovery"), url.Values{"code": {"abcd-efgh-jkmn-pqrs"}}).wantStatus(t, http.StatusOK)
	b.htmx(paths.TwoFactorValidateLink("password"), url.Values{"password": {""}}).wantContains(t, "Enter your password")
}

// Wrong codes sent all at once, each from its own pending sign-in, are
// checked no more often than sequential ones: the account freezes after
// twofactor.FreezeAfter, and every code after that is refused unchecked.
func TestWrongCodesAtOnceFreezeAfterTen(t *testing.T) {
	env := newTestEnv(t)
	wrongCodesAtOnce(t, env, env)
}

// On PostgreSQL, half the browsers on each of two instances.
func TestWrongCodesAtOnceFreezeAfterTenPostgres(t *testing.T) {
	envs := newInstances(t, 2)
	wrongCodesAtOnce(t, envs[0], envs[1])
}

func wrongCodesAtOnce(t *testing.T, env, other *testEnv) {
	const email = "burst@example.org"
	secret, _ := env.register(email).enrolTOTP()
	env.clock.Advance(twofactor.Period)
	mailsBefore := len(env.securityMails(email))
	wrong := "000000"
	for d := int64(-2); d <= 2; d++ {
		if wrong == env.totpCode(secret, d) {
			wrong = "111111"
		}
	}
	const n = 3 * twofactor.FreezeAfter
	browsers := make([]*browser, n)
	for i := range browsers {
		at := env
		if i%2 == 1 {
			at = other
		}
		browsers[i] = at.startSignIn(email)
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i, b := range browsers {
		wg.Go(func() { statuses[i] = b.post(paths.TwoFactorLogin, url.Values{"code": {wrong}}).status })
	}
	wg.Wait()
	checked := 0
	for _, s := range statuses {
		switch s {
		case http.StatusUnprocessableEntity:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("statuses %v", statuses)
		}
	}
	if checked != twofactor.FreezeAfter {
		t.Fatalf("%d of %d wrong codes sent at once were checked, want %d", checked, n, twofactor.FreezeAfter)
	}
	if ms := env.securityMails(email); len(ms) != mailsBefore+1 || !strings.Contains(ms[len(ms)-1].Text, "locked for 15 minutes") {
		t.Fatalf("%d new mails, want 1 about the lock", len(ms)-mailsBefore)
	}
}

// New recovery codes are shown while they are being saved, not for as long
// as the session lasts: a browser left signed in without "I've saved them"
// must not hand them, all ten, to whoever uses it next.
func TestFreshRecoveryCodesAreNotKeptInTheSession(t *testing.T) {
	env := newTestEnv(t)
	const email = "unsaved@example.org"
	b := env.register(email)
	_, codes := b.enrolTOTP()
	b.get(paths.RecoveryCodes).wantStatus(t, http.StatusOK).wantContains(t, codes[0])
	env.clock.Advance(freshCodesTTL + time.Second)
	if p := b.get(paths.RecoveryCodes).wantStatus(t, http.StatusOK); len(recoveryCodeRe.FindAllString(p.body, -1)) != 0 {
		t.Fatalf("recovery codes still shown %v later:\n%s", freshCodesTTL, p.body)
	}
	if p := b.get(paths.RecoveryCodesDownload); p.status != http.StatusSeeOther || strings.Contains(p.body, codes[0]) {
		t.Fatalf("recovery codes still downloadable: %d", p.status)
	}
	if _, ok := sessionValue(t, env, b, sessFreshCodes); ok {
		t.Fatal("the session still holds the recovery codes")
	}
}

// A pending sign-in outlives the second factor it waits for: the owner
// turns it off meanwhile, in another browser. A code then gets a clear
// "sign in again", not a 500, and signs nobody in.
func TestPendingSignInAfterTheFactorWasTurnedOff(t *testing.T) {
	env := newTestEnv(t)
	email := "off@example.org"
	owner := env.register(email)
	secret, _ := owner.enrolTOTP()
	pending := env.startSignIn(email)

	env.clock.Advance(time.Minute)
	owner.reauth(paths.TwoFactorDisable)
	p := owner.post(paths.TwoFactorDisable, url.Values{"password": {goodPassword}, "code": {env.totpCode(secret, 0)}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("turning off: %d\n%s", p.status, p.body)
	}

	env.clock.Advance(time.Minute)
	p = pending.post(paths.TwoFactorLogin, url.Values{"code": {env.totpCode(secret, 0)}})
	if p.status != http.StatusSeeOther || p.location() != paths.Login {
		t.Fatalf("a code after the factor was turned off: %d %q, want 303 to %s\n%s", p.status, p.location(), paths.Login, p.body)
	}
	pending.get("/account").wantStatus(t, http.StatusSeeOther)
}
