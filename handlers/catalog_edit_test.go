package handlers

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/storetest"
)

// admin registers email and makes the account an admin.
func (env *testEnv) admin(email string) *browser {
	env.t.Helper()
	b := env.register(email)
	if _, err := env.db.Write.Exec(`UPDATE users SET is_admin = true WHERE email = $1`, email); err != nil {
		env.t.Fatal(err)
	}
	b.get("/admin/books/new").wantStatus(env.t, http.StatusOK) // a CSRF token
	return b
}

// bookForm is the book form's fields.
func bookForm(title, authors, isbn, year, language string) url.Values {
	return url.Values{"title": {title}, "authors": {authors}, "isbn": {isbn}, "year": {year}, "language": {language}}
}

// searchFinds reports whether the search page for q lists the book id.
func searchFinds(t *testing.T, b *browser, q string, id int) bool {
	t.Helper()
	p := b.get("/search?q="+url.QueryEscape(q)).wantStatus(t, http.StatusOK)
	return strings.Contains(p.body, fmt.Sprintf(`data-book-id="%d"`, id))
}

func TestAdminAddsAndEditsABook(t *testing.T) {
	env := newTestEnv(t)
	env.addBooks(catalog.Book{Title: "Zebra Crossings", Authors: "Paula Grey", RatingsCount: 10})
	a := env.admin("admin@example.com")

	// In-place checks: the field's message, by the save's rule.
	p := a.htmx("/admin/books/validate/isbn", url.Values{"isbn": {"978-0-306-40615-8"}, "id": {"0"}}).wantStatus(t, http.StatusOK)
	p.wantContains(t, `id="book-isbn-error"`, "check digit")
	p = a.htmx("/admin/books/validate/isbn", url.Values{"isbn": {"0-306-40615-2"}, "id": {"0"}}).wantStatus(t, http.StatusOK)
	if !strings.Contains(p.body, `<p class="error" id="book-isbn-error"></p>`) {
		t.Errorf("a valid ISBN-10 gets a message:\n%s", p.body)
	}
	a.htmx("/admin/books/validate/year", url.Values{"year": {"3000"}}).wantStatus(t, http.StatusOK).wantContains(t, "Enter a year from -3000")
	a.htmx("/admin/books/validate/title", url.Values{"title": {""}, "authors": {""}, "id": {"0"}}).wantStatus(t, http.StatusOK).wantContains(t, "Enter a title.")
	// The duplicate warning comes with the title's and authors' checks,
	// linking to the book already there.
	a.htmx("/admin/books/validate/authors", url.Values{"title": {"zebra crossings"}, "authors": {"PAULA GREY"}, "id": {"0"}}).
		wantStatus(t, http.StatusOK).wantContains(t, `id="book-duplicates"`, `hx-swap-oob="true"`, `href="/books/1"`, "You can still save")

	// A save with errors shows every message, and saves nothing.
	p = a.post("/admin/books", bookForm("", "Ada Penrose", "9780306406158", "1965.5", "English")).wantStatus(t, http.StatusUnprocessableEntity)
	p.wantContains(t, "Please correct the errors below", "Enter a title.", "check digit", "whole number", "short language code")
	p = a.htmx("/admin/books", bookForm("Quokka Atlas", "", "", "", "")).wantStatus(t, http.StatusUnprocessableEntity)
	p.wantContains(t, `id="book-form"`, "Enter an author.")
	if strings.Contains(p.body, "<html") {
		t.Error("the htmx answer is a whole page")
	}

	// Saved: found by search at once.
	p = a.post("/admin/books", bookForm(" Quokka Atlas ", "Ada Penrose", "0-306-40615-2", "1999", "en")).wantStatus(t, http.StatusSeeOther)
	if p.location() != "/admin/books/2" {
		t.Fatalf("saved to %q", p.location())
	}
	if !searchFinds(t, a, "quokka", 2) || !searchFinds(t, env.browser(), "penrose", 2) {
		t.Fatal("the new book is not found by search right after saving")
	}
	p = a.get("/admin/books/2").wantStatus(t, http.StatusOK)
	p.wantContains(t, "Book added.", `id="book-history"`, "Added", "admin@example.com", "9780306406157", `value="Quokka Atlas"`)

	// The same ISBN again is the ISBN field's message, not a failure.
	a.post("/admin/books", bookForm("Other", "Someone", "9780306406157", "", "")).
		wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "Another book has this ISBN (book 2).")
	a.htmx("/admin/books/validate/isbn", url.Values{"isbn": {"9780306406157"}, "id": {"0"}}).wantContains(t, "Another book has this ISBN (book 2).")
	a.htmx("/admin/books/validate/isbn", url.Values{"isbn": {"9780306406157"}, "id": {"2"}}).wantContains(t, `<p class="error" id="book-isbn-error"></p>`)

	// An edit, searchable at once, recorded before → after.
	a.post("/admin/books/2", bookForm("Wombat Almanac", "Ada Penrose", "9780306406157", "2001", "en")).wantStatus(t, http.StatusSeeOther)
	if searchFinds(t, a, "quokka", 2) || !searchFinds(t, a, "wombat", 2) {
		t.Error("search does not reflect the edit at once")
	}
	p = a.get("/admin/books/2").wantStatus(t, http.StatusOK)
	p.wantContains(t, "Changes saved.", "Edited", "<del>Quokka Atlas</del> →", "<ins>Wombat Almanac</ins>", "<del>1999</del>", "<ins>2001</ins>")
	if strings.Index(p.body, "Edited") > strings.Index(p.body, "Added") {
		t.Error("history is not newest first")
	}
	h, err := env.app.Catalog.History(context.Background(), 2)
	if err != nil || len(h) != 2 || h[0].Email != "admin@example.com" || len(h[0].Fields) != 2 {
		t.Errorf("history %+v, %v", h, err)
	}

	// The account page and the book page show admins their links, and
	// no one else.
	a.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `id="add-book" href="/admin/books/new"`)
	a.get("/books/2").wantStatus(t, http.StatusOK).wantContains(t, `id="edit-book"`, `href="/admin/books/2"`)
	reader := env.register("reader@example.com")
	for _, b := range []*browser{reader, env.browser()} {
		if p := b.get("/books/2").wantStatus(t, http.StatusOK); strings.Contains(p.body, "/admin/books") {
			t.Error("a reader's book page links to the admin view")
		}
	}
	if p := reader.get("/account").wantStatus(t, http.StatusOK); strings.Contains(p.body, "/admin/books") {
		t.Error("a reader's account page links to the admin pages")
	}

	// A deliberate duplicate is saved, after the warning.
	a.post("/admin/books", bookForm("Zebra Crossings", "Paula Grey", "", "2020", "")).wantStatus(t, http.StatusSeeOther)
	if n := countBooks(t, env.db); n != 3 {
		t.Errorf("%d books, want 3", n)
	}
}

func countBooks(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow(`SELECT count(*) FROM books`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// adminRoutes are every catalog-editing route, as method and path.
var adminRoutes = [][2]string{
	{http.MethodGet, "/admin/books/new"},
	{http.MethodGet, "/admin/books/1"},
	{http.MethodPost, "/admin/books"},
	{http.MethodPost, "/admin/books/1"},
	{http.MethodPost, "/admin/books/validate/title"},
	{http.MethodPost, "/admin/books/validate/isbn"},
}

func TestReadersCannotEditTheCatalog(t *testing.T) {
	env := newTestEnv(t)
	env.addBooks(catalog.Book{Title: "Zebra Crossings", Authors: "Paula Grey"})
	form := bookForm("Hacked", "Mallory", "", "", "")

	reader := env.register("reader@example.com")
	unconfirmed := env.register("late@example.com")
	unconfirmed.signInUnconfirmed("late@example.com")
	anon := env.browser()
	anon.get("/register") // an anonymous CSRF token
	for _, r := range adminRoutes {
		var p page
		if r[0] == http.MethodGet {
			p = reader.get(r[1])
		} else {
			p = reader.post(r[1], form)
		}
		if p.status != http.StatusForbidden {
			t.Errorf("reader %s %s = %d, want 403", r[0], r[1], p.status)
		}
		if r[0] == http.MethodPost {
			if p := reader.htmx(r[1], form); p.status != http.StatusForbidden {
				t.Errorf("reader htmx %s = %d, want 403", r[1], p.status)
			}
			if p := anon.post(r[1], form); p.status != http.StatusForbidden {
				t.Errorf("anonymous POST %s = %d, want 403", r[1], p.status)
			}
			if p := unconfirmed.post(r[1], form); p.status != http.StatusForbidden {
				t.Errorf("unconfirmed POST %s = %d, want 403", r[1], p.status)
			}
		} else if p := anon.get(r[1]); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login?next=") {
			t.Errorf("anonymous GET %s = %d %s, want a redirect to sign in", r[1], p.status, p.location())
		}
	}

	// An admin's request without the CSRF token is refused too.
	a := env.admin("admin@example.com")
	for _, path := range []string{"/admin/books", "/admin/books/1"} {
		if p := a.post(path, url.Values{"_csrf": {"forged"}, "title": {"Hacked"}, "authors": {"Mallory"}}); p.status != http.StatusForbidden {
			t.Errorf("admin POST %s with a wrong CSRF token = %d, want 403", path, p.status)
		}
	}
	if b, err := env.app.Catalog.Get(context.Background(), 1); err != nil || b.Title != "Zebra Crossings" || countBooks(t, env.db) != 1 {
		t.Errorf("the catalog changed: %+v, %v", b, err)
	}
}

// No input makes an admin route fail: every answer is a page or a
// message, never a 500.
func TestBookFormTakesAnyInput(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testBookFormTakesAnyInput(t, newTestEnv(t)) })
	t.Run("postgres", func(t *testing.T) {
		testBookFormTakesAnyInput(t, newTestEnvOn(t, storetest.OpenPostgres(t), &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, nil))
	})
}

func testBookFormTakesAnyInput(t *testing.T, env *testEnv) {
	env.addBooks(catalog.Book{Title: "Zebra Crossings", Authors: "Paula Grey"})
	a := env.admin("admin@example.com")
	values := []string{"", " ", "\x00", "a\x00b", "\x01\x1f\x7f", "\xff\xfe", "a\u202eb", strings.Repeat("x", 100_000), "-", "+1", "１９６５", "0x7E7",
		"9999999999999999999999", "<script>alert(1)</script>", "' OR 1=1 --", "%", "_", "\\"}
	paths := []string{"/admin/books", "/admin/books/1", "/admin/books/validate/title", "/admin/books/validate/authors",
		"/admin/books/validate/isbn", "/admin/books/validate/year", "/admin/books/validate/language", "/admin/books/validate/nope",
		"/admin/books/0", "/admin/books/99999999", "/admin/books/01", "/admin/books/abc"}
	for _, path := range paths {
		for _, v := range values {
			for _, send := range []func(string, url.Values) page{a.post, a.htmx} {
				form := url.Values{"title": {v}, "authors": {v}, "isbn": {v}, "year": {v}, "language": {v}, "id": {v}}
				if strings.HasPrefix(path, "/admin/books/1") {
					for _, f := range catalog.BookFields {
						form.Set("was_"+f, v)
					}
				}
				p := send(path, form)
				if p.status >= 500 {
					t.Fatalf("POST %s with %.40q = %d:\n%.500s", path, v, p.status, p.body)
				}
				if strings.Contains(p.body, "<script>alert") {
					t.Fatalf("POST %s echoes markup unescaped", path)
				}
				if strings.ContainsAny(p.body, "\x00\x01\x1f\x7f") || !utf8.ValidString(p.body) {
					t.Fatalf("POST %s with %.40q echoes a control character or invalid UTF-8", path, v)
				}
			}
		}
	}
	for _, path := range []string{"/admin/books/0", "/admin/books/99999999", "/admin/books/01", "/admin/books/abc"} {
		if p := a.get(path); p.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, p.status)
		}
	}
}

// Another process on the same database file (a second App following the
// catalog's version) finds an added or edited book within 2 s.
func TestEditReachesAnotherProcess(t *testing.T) {
	env := newTestEnv(t)
	env.addBooks(catalog.Book{Title: "Zebra Crossings", Authors: "Paula Grey"})
	db2, err := store.Open(context.Background(), env.db.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	other := newTestEnvOn(t, db2, env.clock, func(d *Deps, _ *Settings) { d.Catalog = catalog.New(db2) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		other.app.Search.Follow(ctx, slog.New(slog.DiscardHandler), nil)
	}()
	t.Cleanup(func() { cancel(); <-done })
	reader := other.browser()
	if searchFinds(t, reader, "quokka", 2) {
		t.Fatal("found before it exists")
	}

	a := env.admin("admin@example.com")
	a.post("/admin/books", bookForm("Quokka Atlas", "Ada Penrose", "", "", "")).wantStatus(t, http.StatusSeeOther)
	waitSearch(t, reader, "quokka", 2, true)
	a.post("/admin/books/2", bookForm("Wombat Almanac", "Ada Penrose", "", "", "")).wantStatus(t, http.StatusSeeOther)
	waitSearch(t, reader, "wombat", 2, true)
	waitSearch(t, reader, "quokka", 2, false)
}

func waitSearch(t *testing.T, b *browser, q string, id int, want bool) {
	t.Helper()
	start := time.Now()
	for searchFinds(t, b, q, id) != want {
		if time.Since(start) > 2*time.Second {
			t.Fatalf("search %q: book %d found = %v after 2 s", q, id, !want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("search %q settled in %v", q, time.Since(start).Round(time.Millisecond))
}

// Two admins edit one book from forms opened at the same time. Each save
// writes only the fields changed in its form, so neither loses the other's
// edit of another field; the same field changed in both is not written
// over silently: the later save is shown the value now and may save again.
func TestAdminEditsKeepEachOther(t *testing.T) {
	env := newTestEnv(t)
	env.addBooks(catalog.Book{Title: "Quiet Rivers", Authors: "Ann Lee", Year: 1990, RatingsCount: 10})
	ann, bob := env.admin("ann@example.com"), env.admin("bob@example.com")
	// Both open the form: it carries the book as it was.
	formOf := func(b *browser, title, year string) url.Values {
		t.Helper()
		p := b.get("/admin/books/1").wantStatus(t, http.StatusOK)
		p.wantContains(t, `name="was_title" value="`+html.EscapeString(title)+`"`, `name="was_year" value="`+year+`"`)
		v := bookForm(title, "Ann Lee", "", year, "")
		for _, f := range catalog.BookFields {
			v.Set("was_"+f, v.Get(f))
		}
		return v
	}
	annForm, bobForm := formOf(ann, "Quiet Rivers", "1990"), formOf(bob, "Quiet Rivers", "1990")

	annForm.Set("year", "1991")
	ann.post("/admin/books/1", annForm).wantStatus(t, http.StatusSeeOther)
	bobForm.Set("title", "Quiet Rivers Run Deep")
	bob.post("/admin/books/1", bobForm).wantStatus(t, http.StatusSeeOther)
	b, err := env.app.Catalog.Get(context.Background(), 1)
	if err != nil || b.Title != "Quiet Rivers Run Deep" || b.Year != 1991 {
		t.Fatalf("after both saves: %+v %v (want Bob's title and Ann's year)", b, err)
	}

	// Both change the title now, from forms opened before either save.
	annForm, bobForm = formOf(ann, "Quiet Rivers Run Deep", "1991"), formOf(bob, "Quiet Rivers Run Deep", "1991")
	annForm.Set("title", "Ann's Title")
	ann.post("/admin/books/1", annForm).wantStatus(t, http.StatusSeeOther)
	bobForm.Set("title", "Bob's Title")
	p := bob.post("/admin/books/1", bobForm).wantStatus(t, http.StatusUnprocessableEntity)
	p.wantContains(t, "Someone else changed this since you opened the form: it is now “Ann&#39;s Title”", `name="was_title" value="Ann&#39;s Title"`)
	if b, _ := env.app.Catalog.Get(context.Background(), 1); b.Title != "Ann's Title" {
		t.Fatalf("a refused save wrote the title: %q", b.Title)
	}
	// Saving again, having seen it, keeps Bob's.
	bob.post("/admin/books/1", withWas(bobForm, "title", "Ann's Title")).wantStatus(t, http.StatusSeeOther)
	if b, _ := env.app.Catalog.Get(context.Background(), 1); b.Title != "Bob's Title" || b.Year != 1991 {
		t.Fatalf("after saving again: %+v", b)
	}
}

func withWas(v url.Values, field, was string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	out.Set("was_"+field, was)
	return out
}
