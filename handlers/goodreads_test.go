package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"shelf/store/goodreads"
	"shelf/store/storetest"
)

// upload posts a file as the import form does, with the page's CSRF
// token unless csrf is false.
func (b *browser) upload(path, name string, data []byte, csrf bool) page {
	b.env.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if csrf {
		_ = w.WriteField("_csrf", b.csrf)
	}
	fw, _ := w.CreateFormFile("file", name)
	_, _ = fw.Write(data)
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, b.env.srv.URL+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

// addCatalog adds books as the catalog's import stores them: the ISBN-13,
// when known, is the dedupe key.
func (env *testEnv) addCatalog(books ...[3]string) {
	env.t.Helper()
	for _, b := range books {
		key := b[2]
		if key == "" {
			key = b[0] + "|" + b[1]
		}
		if _, err := env.db.Write.Exec(`INSERT INTO books (title, authors, isbn13, dedupe_key) VALUES ($1, $2, NULLIF($3, ''), $4)`,
			b[0], b[1], b[2], key); err != nil {
			env.t.Fatal(err)
		}
	}
	if err := env.app.Search.RefreshTerms(context.Background()); err != nil {
		env.t.Fatal(err)
	}
}

var messyCatalog = [][3]string{
	{"Opal (Lux, #3)", "Jennifer L. Armentrout", "9781620610091"},
	{"The Green Mile", "Stephen King", "9780451933027"},
	{"Harry Potter and the Sorcerer's Stone (Harry Potter, #1)", "J.K. Rowling, Mary GrandPré", "9780439554930"},
	{"The Republic", "Plato, Desmond Lee", "9780140449143"},
}

var jobLinkRe = regexp.MustCompile(`^/my-books/import/(\d+)$`)

// waitReport polls the job's status fragment, as the page does, until the
// import has finished, and returns the fragment.
func (b *browser) waitReport(t *testing.T, job string) page {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := b.get(job+"/status", htmxHeaders...).wantStatus(t, http.StatusOK)
		if !strings.Contains(p.body, `hx-trigger="every 1s"`) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("import still running:\n%s", p.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGoodreadsImportThroughHTTP(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testImportThroughHTTP(t, newTestEnv(t)) })
	t.Run("postgres", func(t *testing.T) {
		db := storetest.OpenPostgres(t)
		testImportThroughHTTP(t, newTestEnvOn(t, db, &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, nil))
	})
}

func testImportThroughHTTP(t *testing.T, env *testEnv) {
	env.addCatalog(messyCatalog...)
	messy, err := os.ReadFile("../store/goodreads/testdata/messy.csv")
	if err != nil {
		t.Fatal(err)
	}
	ann := env.register("ann@example.org")
	ann.get("/my-books/import").wantStatus(t, http.StatusOK).
		wantContains(t, `enctype="multipart/form-data"`, `name="_csrf"`, "At most 2 MB")

	p := ann.upload("/my-books/import", "goodreads_library_export.csv", messy, true).wantStatus(t, http.StatusSeeOther)
	job := p.location()
	if !jobLinkRe.MatchString(job) {
		t.Fatalf("redirected to %q", job)
	}
	page := ann.get(job).wantStatus(t, http.StatusOK).wantContains(t, "Import of goodreads_library_export.csv")
	if !strings.Contains(page.body, `hx-trigger="every 1s"`) && !strings.Contains(page.body, `id="import-report"`) {
		t.Fatalf("job page shows neither progress nor report:\n%s", page.body)
	}
	report := ann.waitReport(t, job)
	report.wantContains(t, "Import finished: 4 changed.",
		"14 rows in the file", "4 matched to the catalog: 4 added, 0 updated, 0 unchanged", "3 not matched", "7 left out",
		`<tr data-status="added"><td>2</td>`, "by title and author",
		"ISBN 9780000000002 is not in the catalog, and no book with this title and author",
		"the same book as line 3", "unclosed quote", `My Rating &#34;9&#34; is not 0 to 5`,
		"custom exclusive shelf &#34;did-not-finish&#34;")
	if strings.Contains(report.body, "<html") {
		t.Error("the status fragment is a whole page")
	}
	// Without JavaScript the job page has the report too.
	ann.get(job).wantContains(t, `id="import-report"`, "Import finished: 4 changed.")
	ann.get("/my-books/import").wantContains(t, "its report")

	// Again: nothing changes.
	again := ann.upload("/my-books/import", "goodreads_library_export.csv", messy, true).wantStatus(t, http.StatusSeeOther)
	ann.waitReport(t, again.location()).wantContains(t, "Import finished: 0 changed.", "0 added, 0 updated, 4 unchanged")

	// Another reader sees neither the job nor its progress.
	bob := env.register("bob@example.org")
	bob.get(job).wantStatus(t, http.StatusNotFound)
	bob.get(job+"/status", htmxHeaders...).wantStatus(t, http.StatusNotFound)
	bob.get("/my-books/import/x").wantStatus(t, http.StatusNotFound)
	if strings.Contains(bob.get("/my-books/import").body, "its report") {
		t.Error("bob's import page shows ann's import")
	}

	// Export, then import into bob's account: the same shelves.
	exp := ann.get("/my-books/export.csv").wantStatus(t, http.StatusOK)
	if cd := exp.header.Get("Content-Disposition"); cd != `attachment; filename="shelf-my-books.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := exp.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	exp.wantContains(t, "Book Id,Title,Author,Additional Authors,ISBN,ISBN13,My Rating,Exclusive Shelf,Date Added,Private Notes\r\n",
		`"=""9780451933027""",0,currently-reading,2013/11/16`)
	p = bob.upload("/my-books/import", "shelf-my-books.csv", []byte(exp.body), true).wantStatus(t, http.StatusSeeOther)
	bob.waitReport(t, p.location()).wantContains(t, "Import finished: 4 changed.", "4 added", "0 not matched", "0 left out")
	if got := bob.get("/my-books/export.csv").body; got != exp.body {
		t.Errorf("bob's export differs from ann's:\n%s\n%s", got, exp.body)
	}
}

func TestGoodreadsImportProgress(t *testing.T) {
	env := newTestEnv(t)
	ann := env.register("ann@example.org")
	jobs := env.app.goodreads.jobs
	// A job no worker has taken yet, then one part done: what the page
	// shows while an import runs (the worker is not woken here).
	j, err := jobs.Create(context.Background(), env.user("ann@example.org").ID, "lib.csv", []byte("Title,Author,Exclusive Shelf\n"))
	if err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf("/my-books/import/%d", j.ID)
	ann.get(link).wantStatus(t, http.StatusOK).wantContains(t, "is starting", `hx-get="`+link+`/status"`, `hx-trigger="every 1s"`,
		`<a href="`+link+`">Refresh</a>`)
	ann.get("/my-books/import").wantContains(t, `hx-trigger="every 1s"`)
	claimed, ok, err := jobs.Claim(context.Background())
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := jobs.Progress(context.Background(), claimed, 120, 300); err != nil {
		t.Fatal(err)
	}
	p := ann.get(link+"/status", htmxHeaders...).wantStatus(t, http.StatusOK).
		wantContains(t, "120 of 300", `<progress aria-label="Import progress" max="300" value="120">`, `hx-trigger="every 1s"`)
	if !p.varies("HX-Request") || p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("status headers %v", p.header)
	}
	// Without htmx the status address is the whole page.
	ann.get(link+"/status").wantStatus(t, http.StatusOK).wantContains(t, "<html", "120 of 300")
	// One import at a time.
	ann.get("/my-books/import")
	ann.upload("/my-books/import", "b.csv", []byte("Title,Author,Exclusive Shelf\nDune,Frank Herbert,read\n"), true).
		wantStatus(t, http.StatusConflict).wantContains(t, "An import is already running")
}

func TestGoodreadsImportRefusals(t *testing.T) {
	env := newTestEnv(t)
	csv := []byte("Title,Author,Exclusive Shelf\nDune,Frank Herbert,read\n")

	// Signed out: sent to sign in, and the upload is refused.
	anon := env.browser()
	for _, path := range []string{"/my-books/import", "/my-books/import/1", "/my-books/import/1/status", "/my-books/export.csv"} {
		p := anon.get(path).wantStatus(t, http.StatusSeeOther)
		if p.location() != "/login?next="+url.QueryEscape(path) {
			t.Errorf("%s: sent to %q", path, p.location())
		}
	}
	anon.get("/login")
	anon.upload("/my-books/import", "a.csv", csv, true).wantStatus(t, http.StatusSeeOther)
	// Its body is not read: anyone with a form token could otherwise have
	// the server read 2 MB before being sent to sign in.
	var upload bytes.Buffer
	mw := multipart.NewWriter(&upload)
	_ = mw.WriteField("_csrf", anon.csrf)
	ff, _ := mw.CreateFormFile("file", "big.csv")
	_, _ = ff.Write(bytes.Repeat([]byte("Dune,Frank Herbert,read\n"), 1<<20/24))
	_ = mw.Close()
	size := upload.Len()
	counted := &countingReader{r: &upload}
	up := httptest.NewRequest(http.MethodPost, "/my-books/import", counted)
	up.Header.Set("Content-Type", mw.FormDataContentType())
	up.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, ck := range anon.http.Jar.Cookies(mustParseURL(t, env.srv.URL)) {
		up.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	env.app.ServeHTTP(rec, up)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?next="+url.QueryEscape("/my-books/import") || counted.n > 4096 {
		t.Errorf("signed-out upload of %d bytes: %d to %q, %d bytes read; want 303 to sign in, the body unread",
			size, rec.Code, rec.Header().Get("Location"), counted.n)
	}

	// Unconfirmed: sent to confirm.
	env.signUp("una@example.org")
	una := env.browser().signInUnconfirmed("una@example.org")
	for _, path := range []string{"/my-books/import", "/my-books/export.csv"} {
		if p := una.get(path); p.status != http.StatusSeeOther || p.location() != "/check-email" {
			t.Errorf("unconfirmed %s: %d %q", path, p.status, p.location())
		}
	}
	una.upload("/my-books/import", "a.csv", csv, true).wantStatus(t, http.StatusSeeOther)

	ann := env.register("ann@example.org")
	ann.get("/my-books/import")
	// A multipart body without the token, or with a wrong one, is refused.
	ann.upload("/my-books/import", "a.csv", csv, false).wantStatus(t, http.StatusForbidden)
	saved := ann.csrf
	ann.csrf = "AAAA" + saved[4:]
	ann.upload("/my-books/import", "a.csv", csv, true).wantStatus(t, http.StatusForbidden)
	ann.csrf = saved
	// Multipart stays refused everywhere else.
	ann.upload("/account", "a.csv", csv, true).wantStatus(t, http.StatusUnsupportedMediaType)
	ann.upload("/my-books/import/1", "a.csv", csv, true).wantStatus(t, http.StatusUnsupportedMediaType)

	// Too large: announced, or found while reading.
	big := bytes.Repeat([]byte("Dune,Frank Herbert,read\n"), 3<<20/24)
	ann.upload("/my-books/import", "big.csv", append([]byte("Title,Author,Exclusive Shelf\n"), big...), true).
		wantStatus(t, http.StatusRequestEntityTooLarge).wantContains(t, "This file is larger than 2 MB")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("_csrf", ann.csrf)
	fw, _ := w.CreateFormFile("file", "big.csv")
	_, _ = fw.Write(big)
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/my-books/import", struct{ *bytes.Buffer }{&body}) // no Content-Length
	req.Header.Set("Content-Type", w.FormDataContentType())
	ann.do(req).wantStatus(t, http.StatusRequestEntityTooLarge).wantContains(t, "This file is larger than 2 MB")
	// Just under the body limit but over the file limit.
	over := append([]byte("Title,Author,Exclusive Shelf\n"), bytes.Repeat([]byte("x"), goodreads.MaxFileBytes)...)
	ann.get("/my-books/import")
	ann.upload("/my-books/import", "over.csv", over, true).wantStatus(t, http.StatusRequestEntityTooLarge).
		wantContains(t, "This file is larger than 2 MB", `aria-invalid="true"`)

	// Not an export.
	ann.upload("/my-books/import", "cover.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), true).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "This file is not a Goodreads library export", "not text")
	ann.upload("/my-books/import", "books.csv", []byte("title,authors\nDune,Frank Herbert\n"), true).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "no Author or Exclusive Shelf column", "starts &#34;Book Id,Title,Author")
	ann.upload("/my-books/import", "empty.csv", nil, true).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "the file is empty")
	ann.post("/my-books/import", url.Values{"file": {"Title,Author"}}).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "Choose the CSV file")

	// Nothing was queued by any of these.
	if _, ok, _ := env.app.goodreads.jobs.Latest(context.Background(), env.user("ann@example.org").ID); ok {
		t.Error("a refused upload was queued")
	}
}

// No input makes the upload answer 500.
func TestGoodreadsUploadNever500(t *testing.T) {
	env := newTestEnv(t)
	ann := env.register("ann@example.org")
	ann.get("/my-books/import")
	for i, in := range []string{"", "\x00\x00", "\ufeff", "Title,Author,Exclusive Shelf\n\"", strings.Repeat(`"`, 5000),
		"Title,Author,Exclusive Shelf\r\n" + strings.Repeat("a,b,c,d,e,f\r\n", 1000), "Title\xff,Author,Exclusive Shelf\n"} {
		p := ann.upload("/my-books/import", fmt.Sprintf("f%d.csv", i), []byte(in), true)
		if p.status >= 500 {
			t.Errorf("input %d: %d\n%s", i, p.status, p.body)
		}
		if p.status == http.StatusSeeOther {
			ann.waitReport(t, p.location())
		}
		ann.get("/my-books/import")
	}
	// Raw bodies that are not proper multipart.
	for _, body := range []string{"", "--x\r\n", "garbage"} {
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/my-books/import", strings.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		req.Header.Set("X-CSRF-Token", ann.csrf)
		if p := ann.do(req); p.status >= 500 {
			t.Errorf("body %q: %d", body, p.status)
		}
	}
}

func TestUploadName(t *testing.T) {
	for in, want := range map[string]string{
		"goodreads_library_export.csv": "goodreads_library_export.csv",
		"a\x00b\r\n.csv":               "ab.csv",
		"\xff\xfe":                     "your file",
		strings.Repeat("é", 150):       strings.Repeat("é", 100) + "…",
	} {
		if got := uploadName(in); got != want {
			t.Errorf("uploadName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGoodreadsUploadTooManyRows(t *testing.T) {
	env := newTestEnv(t)
	ann := env.register("ann@example.org")
	ann.get("/my-books/import")
	rows := append([]byte("Title,Author,Exclusive Shelf\n"), bytes.Repeat([]byte("T,A,read\n"), goodreads.MaxRows+1)...)
	ann.upload("/my-books/import", "many.csv", rows, true).wantStatus(t, http.StatusRequestEntityTooLarge).
		wantContains(t, "This file has more than 10000 rows")
}

// A job cut short by a restart is taken up by the next start, once its
// heartbeat is stale.
func TestGoodreadsImportResumesAfterRestart(t *testing.T) {
	env := newTestEnv(t)
	env.addCatalog(messyCatalog...)
	ann := env.register("ann@example.org")
	ctx := context.Background()
	jobs := env.app.goodreads.jobs
	j, err := jobs.Create(ctx, env.user("ann@example.org").ID, "lib.csv",
		[]byte("Title,Author,Exclusive Shelf,ISBN13\nThe Green Mile,Stephen King,read,9780451933027\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := jobs.Claim(ctx); err != nil || !ok { // the worker that then died
		t.Fatal(ok, err)
	}
	env.clock.Advance(goodreads.StaleAfter + time.Second)
	restarted := newTestEnvOn(t, env.db, env.clock, nil)
	b := ann.at(restarted)
	b.waitReport(t, fmt.Sprintf("/my-books/import/%d", j.ID)).wantContains(t, "Import finished: 1 changed.")
	if j, _ := jobs.Get(ctx, env.user("ann@example.org").ID, j.ID); j.Attempts != 2 {
		t.Errorf("attempts %d, want 2", j.Attempts)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
