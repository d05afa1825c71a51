package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Changing the password in a real browser: each new-password field says
// what is wrong as it is typed, by sign-up's rules and refusing the current
// password, and the change keeps this browser signed in.
func TestBrowserPasswordChange(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw, newPW = "changer@example.org", "violet tractor humming", "quiet orange lantern"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	tab := newTab(t, chromium.newBrowser(t))
	runStep(t, tab, "sign in", 15*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
	)
	waitJS(t, tab, "signed in", 10*time.Second, `location.pathname === '/' || location.pathname === '/account'`)
	runStep(t, tab, "open the form from the account page", 10*time.Second,
		chromedp.Navigate(s.URL+"/account"),
		chromedp.Click(chromedp.ID("change-password")),
		chromedp.WaitVisible(chromedp.ID("current-password")),
	)
	waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
	errorOf := func(id string) string { return `(document.getElementById('` + id + `-error').textContent || '')` }

	// Typed key by key into the focused field: chromedp's SendKeys reads
	// the field's attributes without a lock while the in-place checks
	// change them (aria-invalid), a data race in chromedp itself.
	typeInto := func(id, text string) {
		t.Helper()
		runStep(t, tab, "focus #"+id, 5*time.Second, chromedp.Focus(chromedp.ID(id)))
		typeKeys(t, tab, text)
	}
	typeInto("current-password", pw)
	typeInto("password", "password1")
	waitJS(t, tab, "the common-password message", 10*time.Second, errorOf("password")+`.includes('too common')`)
	runStep(t, tab, "empty the new password", 10*time.Second, emptyInput("password"))
	typeInto("password", pw)
	waitJS(t, tab, "the same-password message", 10*time.Second, errorOf("password")+`.includes('different from your current')`)
	runStep(t, tab, "empty the new password", 10*time.Second, emptyInput("password"))
	typeInto("password", newPW)
	typeInto("password-confirm", newPW+"x")
	waitJS(t, tab, "the new password accepted", 10*time.Second, errorOf("password")+` === ''`)
	waitJS(t, tab, "the mismatch message", 10*time.Second, errorOf("password-confirm")+`.includes('do not match')`)
	runStep(t, tab, "empty the repeat", 10*time.Second, emptyInput("password-confirm"))
	typeInto("password-confirm", newPW)
	waitJS(t, tab, "the repeat accepted", 10*time.Second, errorOf("password-confirm")+` === ''`)
	// Changing the new password once the repeat matched checks the repeat
	// again: it no longer matches, until it is changed the same way.
	typeInto("password", "x")
	waitJS(t, tab, "the repeat checked again", 10*time.Second, errorOf("password-confirm")+`.includes('do not match')`)
	typeInto("password-confirm", "x")
	waitJS(t, tab, "the repeat accepted again", 10*time.Second, errorOf("password-confirm")+` === ''`)
	runStep(t, tab, "submit", 10*time.Second, chromedp.Click(chromedp.CSS(`#password-change-form button[type=submit]`)))
	waitJS(t, tab, "back on the account page, signed in", 10*time.Second,
		`location.pathname === '/account' && document.body.textContent.includes('Your password has been changed')`)
}

// emptyInput empties an input's value as selecting all and deleting would
// (chromedp.Clear empties only its value attribute, not what was typed).
func emptyInput(id string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[string](`document.getElementById('`+id+`').value = ''`)(ctx, t)
		return chromedp.Void{}, err
	}
}
