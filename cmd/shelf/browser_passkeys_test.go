package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"shelf/store"
)

// TestBrowserPasskeys adds a passkey in a real browser, with Chromium's
// virtual authenticator (user verification built in), and signs in with it:
// twice, the signature counter rising; then a bogus signature, an assertion
// without user verification, a copied passkey whose counter went back, and
// a removed passkey are each refused. Every mail goes through a real SMTP
// server. The page is opened as localhost, the relying party's ID.
func TestBrowserPasskeys(t *testing.T) {
	chromium := needChromium(t)
	ctx := context.Background()
	const email, password = "reader@example.com", "violet tractor humming"
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "shelf.db")
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"create-admin", "-db", dbPath, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(password+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %d %s", code, errb.String())
	}
	smtpAddr, webAddr := freeLocalAddr(t), freeLocalAddr(t)
	_, port, _ := net.SplitHostPort(webAddr)
	mail := startCatchingSMTP(t, smtpAddr)
	s := launchShelf(t, dbPath, &syncBuffer{}, []string{
		"SHELF_SMTP_URL=smtp://" + smtpAddr + "?tls=none",
		"SHELF_ADDR=" + webAddr,
		"SHELF_BASE_URL=http://localhost:" + port,
	})
	base := "http://localhost:" + port
	_ = s

	tab := newTab(t, chromium.newBrowser(t))
	if _, err := chromedp.Call(tab, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("enable WebAuthn: %v", err)
	}
	auth, err := chromedp.Call(tab, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		}})
	if err != nil {
		t.Fatalf("add a virtual authenticator: %v", err)
	}
	id := auth.AuthenticatorID
	// The virtual authenticator answers the email field's autofill request
	// (conditional mediation) at once, so the sign-in page signs in as it
	// loads. To press the button instead, a test switch turns autofill off.
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `try { if (localStorage.getItem('no-autofill') && window.PublicKeyCredential) {
			PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false); } } catch (e) {}`}); err != nil {
		t.Fatal(err)
	}
	override := func(bogusSignature, badUV bool) {
		t.Helper()
		if _, err := chromedp.Call(tab, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{
			AuthenticatorID: id, IsBogusSignature: &bogusSignature, IsBadUV: &badUV}); err != nil {
			t.Fatalf("override the authenticator's answers: %v", err)
		}
	}
	credential := func() *webauthn.Credential {
		t.Helper()
		res, err := chromedp.Call(tab, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
		if err != nil || len(res.Credentials) != 1 {
			t.Fatalf("the authenticator's credentials: %v, %v; want one", res, err)
		}
		return res.Credentials[0]
	}
	storedCount := func() int64 {
		t.Helper()
		db, err := store.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int64
		if err := db.Read.QueryRowContext(ctx, `SELECT sign_count FROM passkeys`).Scan(&n); err != nil {
			t.Fatalf("stored counter: %v", err)
		}
		return n
	}
	wantMail := func(subject string) {
		t.Helper()
		m := mail.next(t, 15*time.Second)
		for m.Subject == "New sign-in to your Shelf account" { // each new browser's first sign-in
			m = mail.next(t, 15*time.Second)
		}
		if !strings.Contains(m.Subject, subject) || len(m.To) != 1 || !strings.Contains(m.To[0], email) || m.Text == "" || m.HTML == "" {
			t.Fatalf("mail %q to %v (text %d, html %d bytes); want %q to %s with both parts", m.Subject, m.To, len(m.Text), len(m.HTML), subject, email)
		}
	}
	signedIn := `document.querySelector('[data-signed-in-as]') !== null`
	passwordSignIn := func() {
		t.Helper()
		runStep(t, tab, "sign in with the password", 15*time.Second,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		)
		waitJS(t, tab, "the signed-in home page", 10*time.Second, signedIn)
	}
	signOut := func() {
		t.Helper()
		runStep(t, tab, "sign out", 10*time.Second, chromedp.Click(chromedp.CSS(`#account-menu summary`)),
			chromedp.Click(chromedp.CSS(`#account-menu form[action="/logout"] button`)))
		waitJS(t, tab, "signed out, and told so", 10*time.Second, `document.querySelector('[data-signed-in-as]') === null && location.pathname === '/' &&
			(document.querySelector('#page-notice[role=status]') || {}).textContent === 'You are signed out.'`)
	}
	passkeySignIn := func() {
		t.Helper()
		runStep(t, tab, "open the sign-in page", 10*time.Second, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("passkey-button")))
		if got := evalJS[string](t, tab, `document.getElementById('email').getAttribute('autocomplete')`); got != "username webauthn" {
			t.Errorf("the email field's autocomplete is %q, want passkey autofill", got)
		}
		runStep(t, tab, "press Sign in with a passkey", 10*time.Second, chromedp.Click(chromedp.ID("passkey-button")))
	}
	refused := func(what string) {
		t.Helper()
		passkeySignIn()
		waitJS(t, tab, what+" refused", 10*time.Second,
			`location.pathname === '/login' && !document.getElementById('passkey-error').hidden && document.getElementById('passkey-error').textContent.includes('did not sign you in')`)
		if evalJS[bool](t, tab, signedIn) {
			t.Fatalf("%s signed in", what)
		}
	}

	// Add a passkey: the password was just typed to sign in, so it is not
	// asked for again.
	passwordSignIn()
	runStep(t, tab, "open the account page", 10*time.Second, chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.ID("passkey-add")))
	runStep(t, tab, "name the passkey and add it", 10*time.Second,
		chromedp.WaitVisible(chromedp.ID("passkey-add")),
		chromedp.SendKeys(chromedp.ID("passkey-new-name"), "Laptop"),
		chromedp.Click(chromedp.ID("passkey-add")))
	waitJS(t, tab, "the new passkey listed", 15*time.Second, `[...document.querySelectorAll('.passkey-name')].some(e => e.textContent === 'Laptop')`)
	wantMail("A passkey was added")
	if c := credential(); !c.IsResidentCredential || len(c.UserHandle) != 32 {
		t.Fatalf("the credential is resident %v with a %d-byte user handle; want a resident one with 32 random bytes", c.IsResidentCredential, len(c.UserHandle))
	}
	signOut()

	// Two sign-ins, the counter rising each time: by autofill, then with the button.
	var last int64 = -1
	for i := range 2 {
		if i == 0 {
			runStep(t, tab, "open the sign-in page", 10*time.Second, chromedp.Navigate(base+"/login"))
		} else {
			evalJS[bool](t, tab, `localStorage.setItem('no-autofill', '1') || true`)
			passkeySignIn()
		}
		waitJS(t, tab, "signed in with the passkey", 10*time.Second, signedIn+` && location.pathname === '/'`)
		got, stored := int64(credential().SignCount), storedCount()
		if got != stored || stored <= last {
			t.Fatalf("sign-in %d: authenticator counter %d, stored %d, previous %d; want them equal and rising", i+1, got, stored, last)
		}
		last = stored
		signOut()
	}

	override(true, false)
	refused("a bogus signature")
	override(false, true)
	refused("an assertion without user verification")
	override(false, false)

	// A copy of the passkey whose counter is behind: refused, and the owner told.
	orig := credential()
	c := copiedCredential{CredentialID: orig.CredentialID, IsResidentCredential: true, RpID: orig.RpID, PrivateKey: orig.PrivateKey,
		UserHandle: orig.UserHandle, SignCount: 0}
	replaceCredential := func() {
		t.Helper()
		if _, err := chromedp.Call(tab, webauthn.ClearCredentials, webauthn.ClearCredentialsParams{AuthenticatorID: id}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(tab, addCopiedCredential, addCopiedCredentialParams{AuthenticatorID: id, Credential: c}); err != nil {
			t.Fatalf("add the copied credential: %v", err)
		}
	}
	replaceCredential()
	refused("a counter that went back")
	wantMail("may have been copied")

	// Remove the passkey (just after typing the password), then it signs
	// in no more.
	passwordSignIn()
	runStep(t, tab, "open the account page", 10*time.Second, chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS(`.passkey-remove`)))
	runStep(t, tab, "press Remove", 10*time.Second, chromedp.Click(chromedp.CSS(`.passkey-remove`)))
	waitJS(t, tab, "the passkey gone", 10*time.Second, `location.pathname === '/account' && document.getElementById('passkeys-none') !== null`)
	wantMail("A passkey was removed")
	signOut()
	c.SignCount = float64(last + 10) // the counter is not what refuses it
	replaceCredential()
	refused("a removed passkey")
}

// copiedCredential is a credential as WebAuthn.addCredential takes it,
// without the fields of extensions that webauthn.Credential always sends
// and the virtual authenticator then refuses.
type copiedCredential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle"`
	SignCount            float64 `json:"signCount"`
}

type addCopiedCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      copiedCredential         `json:"credential"`
}

var addCopiedCredential = cdp.Command[addCopiedCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}
