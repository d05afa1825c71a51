package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Importing a Goodreads library, with JavaScript (the page follows the
// import by itself) and without (the Refresh link), and its pages fit a
// phone.
func TestBrowserGoodreadsImport(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	const email, pw = "a-reader-with-a-long-address@a-long-domain-name.example.org", "violet tractor humming"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"create-admin", "-db", s.DB, "--email", email, "--password-stdin"}, nil,
		strings.NewReader(pw+"\n"), &out, &errb); code != 0 {
		t.Fatalf("create-admin: %s", errb.String())
	}
	sample, err := filepath.Abs("../../store/goodreads/testdata/goodreads-library-export-sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	browser := chromium.newBrowser(t)
	signIn := func(tab context.Context) {
		runStep(t, tab, "sign in", 15*time.Second,
			chromedp.Navigate(s.URL+"/login"),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), pw),
			chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		)
		waitJS(t, tab, "signed in", 10*time.Second, `location.pathname === '/' || location.pathname === '/account'`)
	}
	upload := func(tab context.Context) {
		runStep(t, tab, "upload the export", 15*time.Second,
			chromedp.Navigate(s.URL+"/my-books/import"),
			chromedp.WaitVisible(chromedp.ID("import-file")),
			chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{sample}),
			chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)),
		)
		waitJS(t, tab, "the import's page", 10*time.Second, `/^\/my-books\/import\/\d+$/.test(location.pathname)`)
	}
	jobPath := regexp.MustCompile(`^/my-books/import/\d+$`)

	tab := newTab(t, browser)
	signIn(tab)
	upload(tab)
	waitJS(t, tab, "the report, without reloading", 15*time.Second, `!!document.getElementById('import-report')`)
	report := evalJS[string](t, tab, `document.getElementById('import-status').innerText`)
	for _, want := range []string{"Import finished: 36 changed.", "38 rows in the file", "36 matched to the catalog", "2 not matched",
		"not in the catalog: no ISBN, and no book with this title and author"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	job := evalJS[string](t, tab, `location.pathname`)
	if !jobPath.MatchString(job) {
		t.Fatalf("at %q", job)
	}
	assertPagesFit(t, tab, s.URL, []string{"/my-books/import", job})

	noJS := newIncognitoTab(t, browser)
	if _, err := chromedp.Call(noJS, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disable JavaScript: %v", err)
	}
	signIn(noJS)
	upload(noJS)
	deadline := time.Now().Add(15 * time.Second)
	for !evalJS[bool](t, noJS, `!!document.getElementById('import-report')`) {
		if time.Now().After(deadline) {
			t.Fatalf("no report without JavaScript: %s", describePage(noJS))
		}
		time.Sleep(200 * time.Millisecond)
		runStep(t, noJS, "follow Refresh", 10*time.Second, chromedp.Click(chromedp.CSS(`#import-status a`)))
		waitJS(t, noJS, "reloaded", 10*time.Second, `document.readyState === "complete"`)
	}
	if got := evalJS[string](t, noJS, `document.getElementById('import-status').innerText`); !strings.Contains(got, "Import finished: 0 changed.") {
		t.Errorf("re-import without JavaScript:\n%s", got)
	}
}
