package handlers

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"shelf/components/paths"
	"shelf/store/twofactor"
)

const newDeviceSubject = "New sign-in to your Shelf account"

// newDeviceMails counts the new-device mails to email.
func newDeviceMails(env *testEnv, email string) int {
	n := 0
	for _, m := range env.securityMails(email) {
		if m.Subject == newDeviceSubject {
			n++
		}
	}
	return n
}

// Every complete sign-in from a browser new to the account mails the owner
// once, when it completes: for an account with a second factor after the
// second step, not after the password; for a mailed link and a passkey
// too.
func TestNewDeviceMailWhenTheSignInCompletes(t *testing.T) {
	env := newMagicEnv(t)
	const email = "wired@example.org"
	owner := env.register(email)
	secret, _ := owner.enrolTOTP()
	env.clock.Advance(twofactor.Period)

	b := env.startSignIn(email)
	if n := newDeviceMails(env, email); n != 0 {
		t.Fatalf("%d new-device mails after the password alone", n)
	}
	b.post(paths.TwoFactorLogin, url.Values{"code": {env.totpCode(secret, 0)}}).wantStatus(t, http.StatusSeeOther)
	if !b.signedInAs(email) {
		t.Fatal("not signed in after the second step")
	}
	m := wantSecurityMail(t, env, email, len(env.securityMails(email)), newDeviceSubject, "a script (Go)")
	notMeLink(t, m)
	if n := newDeviceMails(env, email); n != 1 {
		t.Fatalf("%d new-device mails after the second step, want 1", n)
	}

	// The same browser again: a device of the account, no mail.
	b.post("/logout", nil).wantStatus(t, http.StatusSeeOther)
	env.clock.Advance(twofactor.Period)
	b.get("/login")
	b.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	b.get(paths.TwoFactorLogin)
	b.post(paths.TwoFactorLogin, url.Values{"code": {env.totpCode(secret, 0)}}).wantStatus(t, http.StatusSeeOther)
	if n := newDeviceMails(env, email); n != 1 {
		t.Fatalf("%d new-device mails after a known device signed in, want 1", n)
	}

	// A mailed link is one factor: the mail comes after the second step.
	env.clock.Advance(twofactor.Period)
	m2 := env.browser()
	env.askMagic(m2, email)
	link, _ := env.magicMail(email)
	m2.get(link)
	if p := m2.post(link, nil); p.status != http.StatusSeeOther {
		t.Fatalf("link: %d", p.status)
	}
	if n := newDeviceMails(env, email); n != 1 {
		t.Fatalf("%d new-device mails after a link to an account with a second factor, want 1", n)
	}
	m2.get(paths.TwoFactorLogin).wantStatus(t, http.StatusOK)
	m2.post(paths.TwoFactorLogin, url.Values{"code": {env.totpCode(secret, 0)}}).wantStatus(t, http.StatusSeeOther)
	if n := newDeviceMails(env, email); n != 2 {
		t.Fatalf("%d new-device mails after the link and the code, want 2", n)
	}

	// A passkey is a whole sign-in.
	k := newSoftKey(t, false)
	owner.confirmPassword(t)
	owner.addPasskey(t, k, "Phone").wantStatus(t, http.StatusOK)
	env.browser().passkeySignIn(t, k).wantStatus(t, http.StatusOK)
	if n := newDeviceMails(env, email); n != 3 {
		t.Fatalf("%d new-device mails after a passkey sign-in, want 3", n)
	}
}

// A verified passkey is both factors: an account with an authenticator app
// is signed in by it fully, with no second step pending.
func TestPasskeySignInSkipsTheSecondStep(t *testing.T) {
	env := newTestEnv(t)
	const email = "both@example.org"
	owner := env.register(email)
	owner.enrolTOTP()
	k := newSoftKey(t, true)
	owner.confirmPassword(t)
	owner.addPasskey(t, k, "Laptop").wantStatus(t, http.StatusOK)

	b := env.browser()
	p := b.passkeySignIn(t, k).wantStatus(t, http.StatusOK)
	if !strings.Contains(p.body, `"redirect":"/account"`) {
		t.Fatalf("passkey sign-in: %s", p.body)
	}
	if pending, _ := sessionValue(t, env, b, sessSecondUser); pending != nil {
		t.Fatalf("a passkey sign-in left a pending second step: %v", pending)
	}
	if !b.signedInAs(email) {
		t.Fatal("not signed in by a passkey")
	}
}

// At the second step, an account with a passkey or security key may use it
// instead of a code; one without is not offered it.
func TestSecurityKeyAtTheSecondStep(t *testing.T) {
	env := newTestEnv(t)
	const email = "key@example.org"
	owner := env.register(email)
	owner.enrolTOTP()
	env.clock.Advance(twofactor.Period)

	// Without a passkey, no offer, and the routes refuse.
	b := env.startSignIn(email)
	if p := b.get(paths.TwoFactorLogin); strings.Contains(p.body, "Use a security key") {
		t.Fatal("a security key offered to an account without one")
	}
	b.postJSON(paths.TwoFactorPasskeyOptions, nil).wantStatus(t, http.StatusConflict)

	key := newSoftKey(t, true)
	owner.confirmPassword(t)
	owner.addPasskey(t, key, "Security key").wantStatus(t, http.StatusOK)
	key.noUV = true // a key without a PIN: the password was the other factor

	b = env.startSignIn(email)
	b.get(paths.TwoFactorLogin).wantStatus(t, http.StatusOK).wantContains(t, "Use a security key", paths.TwoFactorPasskeyOptions)
	before := newDeviceMails(env, email)
	opts := b.postJSON(paths.TwoFactorPasskeyOptions, nil).wantStatus(t, http.StatusOK)
	answer := key.get(t, []byte(opts.body))
	p := b.postJSON(paths.TwoFactorPasskey, answer).wantStatus(t, http.StatusOK)
	if !strings.Contains(p.body, `"redirect":"/"`) {
		t.Fatalf("second step with a key: %s", p.body)
	}
	if !b.signedInAs(email) {
		t.Fatal("not signed in after the security key")
	}
	if n := newDeviceMails(env, email); n != before+1 {
		t.Fatalf("%d new-device mails, want %d", n, before+1)
	}

	// A used answer, or a wrong key, signs in nowhere; nor does a browser
	// with no pending sign-in get options.
	again := env.startSignIn(email)
	again.postJSON(paths.TwoFactorPasskeyOptions, nil).wantStatus(t, http.StatusOK)
	again.postJSON(paths.TwoFactorPasskey, answer).wantStatus(t, http.StatusUnauthorized)
	opts = again.postJSON(paths.TwoFactorPasskeyOptions, nil).wantStatus(t, http.StatusOK)
	again.postJSON(paths.TwoFactorPasskey, newSoftKey(t, true).get(t, []byte(opts.body))).wantStatus(t, http.StatusUnauthorized)
	if again.signedInAs(email) {
		t.Fatal("a refused key signed in")
	}
	anon := env.browser()
	anon.get("/login")
	anon.postJSON(paths.TwoFactorPasskeyOptions, nil).wantStatus(t, http.StatusUnauthorized)
}

// notMe uses the "This wasn't me" link of the newest security mail with
// subject, from a browser with no cookies, and returns the confirmation.
func notMe(t *testing.T, env *testEnv, email, subject string) sentMail {
	t.Helper()
	ms := env.securityMails(email)
	var link string
	for i := len(ms) - 1; i >= 0 && link == ""; i-- {
		if ms[i].Subject == subject {
			link = notMeLink(t, ms[i])
		}
	}
	if link == "" {
		t.Fatalf("no mail %q among %+v", subject, ms)
	}
	b := env.browser()
	b.get(link).wantStatus(t, http.StatusOK)
	b.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, `data-outcome="secured"`)
	done := env.securityMails(email)
	if last := done[len(done)-1]; last.Subject != "We secured your Shelf account" {
		t.Fatalf("no confirmation: %+v", last)
	}
	return done[len(done)-1]
}

func TestNotMeRemovesTheAddedPasskey(t *testing.T) {
	env := newTestEnv(t)
	const email = "added@example.org"
	owner := env.register(email)
	kept, added := newSoftKey(t, true), newSoftKey(t, true)
	owner.addPasskey(t, kept, "Mine").wantStatus(t, http.StatusOK)
	owner.addPasskey(t, added, "Not mine").wantStatus(t, http.StatusOK)

	done := notMe(t, env, email, "A passkey was added to your Shelf account")
	if !strings.Contains(done.Text, "Not mine") || !strings.Contains(done.Text, "was removed") {
		t.Fatalf("confirmation does not say the passkey was removed:\n%s", done.Text)
	}
	list, err := env.app.passkeyStore().List(context.Background(), env.user(email).ID)
	if err != nil || len(list) != 1 || list[0].Name != "Mine" {
		t.Fatalf("passkeys after undo: %+v (%v)", list, err)
	}
	if p := env.browser().passkeySignIn(t, added); p.status != http.StatusUnauthorized {
		t.Fatalf("the removed passkey: %d, want 401", p.status)
	}
	env.browser().passkeySignIn(t, kept).wantStatus(t, http.StatusOK)
}

func TestNotMeRestoresTwoFactorTurnedOff(t *testing.T) {
	env := newTestEnv(t)
	const email = "restored@example.org"
	b := env.register(email)
	secret, codes := b.enrolTOTP()
	env.clock.Advance(twofactor.Period)
	b.get(paths.TwoFactorDisable)
	if p := b.post(paths.TwoFactorDisable, url.Values{"password": {goodPassword}, "code": {env.totpCode(secret, 0)}}); p.status != http.StatusSeeOther {
		t.Fatalf("turn off: %d\n%s", p.status, p.body)
	}
	uid := env.user(email).ID
	if on, _ := env.app.TwoFactor.Enabled(context.Background(), uid); on {
		t.Fatal("still on after turning it off")
	}
	// While off, neither the app nor a recovery code is asked for or works.
	s := env.browser()
	if p := s.login(email, goodPassword); p.location() != "/" {
		t.Fatalf("sign-in while off: %d %q", p.status, p.location())
	}

	done := notMe(t, env, email, "Two-factor sign-in turned off")
	if !strings.Contains(done.Text, "turned back on") {
		t.Fatalf("confirmation does not say 2FA is back:\n%s", done.Text)
	}
	if on, _ := env.app.TwoFactor.Enabled(context.Background(), uid); !on {
		t.Fatal("two-factor sign-in not restored")
	}
	// The same app and recovery codes work again (after a reset, which
	// "This wasn't me" asks for).
	if left, _ := env.app.TwoFactor.RecoveryCodesLeft(context.Background(), uid); left != len(codes) {
		t.Fatalf("%d recovery codes after restoring, want %d", left, len(codes))
	}
	var n int
	if err := env.db.Read.QueryRow(`SELECT count(*) FROM totp_factors WHERE user_id = $1`, uid).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d factors (%v)", n, err)
	}
	env.clock.Advance(twofactor.Period)
	ok := false
	err := env.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		ok, err = env.app.TwoFactor.UseCode(context.Background(), tx, uid, env.totpCode(secret, 0), env.clock.Now())
		return err
	})
	if err != nil || !ok {
		t.Fatalf("the restored app's code: %v %v", ok, err)
	}
}

func TestNotMeTurnsOffTwoFactorSetUpByOthers(t *testing.T) {
	env := newTestEnv(t)
	const email = "hijacked@example.org"
	b := env.register(email)
	b.enrolTOTP()
	uid := env.user(email).ID

	done := notMe(t, env, email, "Two-factor sign-in turned on")
	if !strings.Contains(done.Text, "Two-factor sign-in was turned off") {
		t.Fatalf("confirmation does not say 2FA is off:\n%s", done.Text)
	}
	if on, _ := env.app.TwoFactor.Enabled(context.Background(), uid); on {
		t.Fatal("two-factor sign-in set up by someone else is still on")
	}
	var n int
	if err := env.db.Read.QueryRow(`SELECT count(*) FROM recovery_codes WHERE user_id = $1`, uid).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d recovery codes of the undone factor left (%v)", n, err)
	}
}
