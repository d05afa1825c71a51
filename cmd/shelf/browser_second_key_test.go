package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"shelf/store/twofactor"
)

// TestBrowserSecurityKeyAtTheSecondStep: an account with an authenticator
// app and a passkey signs in with its password, then, at the second step,
// with the key instead of a code ("Use a security key"), in a real browser
// with Chromium's virtual authenticator.
func TestBrowserSecurityKeyAtTheSecondStep(t *testing.T) {
	chromium := needChromium(t)
	const email, password = "keyholder@example.com", "violet tractor humming"
	dbPath := filepath.Join(t.TempDir(), "shelf.db")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", dbPath, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(password+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %d %s", code, errb.String())
	}
	webAddr := freeLocalAddr(t)
	_, port, _ := net.SplitHostPort(webAddr)
	launchShelf(t, dbPath, &syncBuffer{}, []string{"SHELF_ADDR=" + webAddr, "SHELF_BASE_URL=http://localhost:" + port})
	base := "http://localhost:" + port

	tab := newTab(t, chromium.newBrowser(t))
	if _, err := chromedp.Call(tab, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("enable WebAuthn: %v", err)
	}
	if _, err := chromedp.Call(tab, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		}}); err != nil {
		t.Fatalf("add a virtual authenticator: %v", err)
	}
	// The sign-in page's autofill would sign in with the passkey as it
	// loads; this test signs in with the password.
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `if (window.PublicKeyCredential) { PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false); }`}); err != nil {
		t.Fatal(err)
	}
	passwordSignIn := func() {
		t.Helper()
		runStep(t, tab, "sign in with the password", 15*time.Second,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		)
	}

	passwordSignIn()
	waitJS(t, tab, "signed in", 10*time.Second, `document.querySelector('[data-signed-in-as]') !== null`)
	// The password was just typed to sign in: adding asks for it no more.
	runStep(t, tab, "add a passkey", 10*time.Second, chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.ID("passkey-add")),
		chromedp.Click(chromedp.ID("passkey-add")))
	waitJS(t, tab, "the passkey listed", 15*time.Second, `document.querySelectorAll('.passkey-name').length === 1`)

	runStep(t, tab, "open the setup page", 10*time.Second, chromedp.Navigate(base+"/account/two-factor/setup"))
	waitJS(t, tab, "the QR code", 10*time.Second, `location.pathname === '/account/two-factor/setup'`)
	link := evalJS[string](t, tab, `document.getElementById('totp-link').getAttribute('href')`)
	i := strings.Index(link, "secret=")
	if i < 0 {
		t.Fatalf("otpauth link %q", link)
	}
	code, err := twofactor.Code(strings.SplitN(link[i+len("secret="):], "&", 2)[0], twofactor.Step(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	runStep(t, tab, "enter the app's code", 10*time.Second,
		chromedp.SetValue(chromedp.ID("code"), code), chromedp.Click(chromedp.CSS(`#totp-setup-form button[type=submit]`)))
	waitJS(t, tab, "the recovery codes", 10*time.Second, `location.pathname === '/account/two-factor/recovery-codes'`)
	runStep(t, tab, "sign out", 10*time.Second, chromedp.Click(chromedp.CSS(`#account-menu summary`)),
		chromedp.Click(chromedp.CSS(`#account-menu form[action="/logout"] button`)))
	waitJS(t, tab, "signed out", 10*time.Second, `document.querySelector('[data-signed-in-as]') === null`)

	passwordSignIn()
	waitJS(t, tab, "the second step, offering the key", 10*time.Second,
		`location.pathname === '/login/two-factor' && document.getElementById('passkey-button') !== null && !document.getElementById('passkey-button').hidden`)
	runStep(t, tab, "press Use a security key", 10*time.Second, chromedp.Click(chromedp.ID("passkey-button")))
	waitJS(t, tab, "signed in with the key", 10*time.Second,
		`location.pathname === '/' && document.querySelector('[data-signed-in-as]') !== null`)
}
