package handlers

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"shelf/components/paths"
	"shelf/store/catalog"
	"shelf/store/shelves"
)

// shelfEnv has three books (ids 1, 2, 3) and a confirmed reader, signed in.
func shelfEnv(t *testing.T) (*testEnv, *browser) {
	t.Helper()
	env := newTestEnv(t)
	env.addBooks(
		catalog.Book{Title: "The Hobbit", Authors: "J.R.R. Tolkien", RatingsCount: 300},
		catalog.Book{Title: "Dune", Authors: "Frank Herbert", RatingsCount: 200},
		catalog.Book{Title: "Emma", Authors: "Jane Austen", RatingsCount: 100},
	)
	return env, env.register("ann@example.org")
}

func (env *testEnv) entry(email string, book int64) (shelves.Entry, bool) {
	env.t.Helper()
	e, ok, err := env.app.Shelves.Get(context.Background(), env.user(email).ID, book)
	if err != nil {
		env.t.Fatal(err)
	}
	return e, ok
}

// pressed returns the ids of the buttons a control marks pressed.
var pressedRe = regexp.MustCompile(`id="(shelf-\d+-[a-z0-9-]+)"[^>]*aria-pressed="true"`)

func pressed(body string) []string {
	var ids []string
	for _, m := range pressedRe.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

func TestShelfActions(t *testing.T) {
	env, b := shelfEnv(t)
	b.get("/search?q=hobbit").wantStatus(t, http.StatusOK)
	back := "/search?q=hobbit"
	for _, tc := range []struct {
		name   string
		path   string
		form   url.Values
		check  func(e shelves.Entry, ok bool) bool
		fields []string // in the htmx answer
	}{
		{"put", "/shelves/1/shelf", url.Values{"shelf": {"want-to-read"}},
			func(e shelves.Entry, ok bool) bool { return ok && e.Shelf == shelves.WantToRead }, []string{"shelf-1-want-to-read"}},
		{"move", "/shelves/1/shelf", url.Values{"shelf": {"reading"}},
			func(e shelves.Entry, ok bool) bool { return ok && e.Shelf == shelves.Reading }, []string{"shelf-1-reading"}},
		{"rate", "/shelves/1/rating", url.Values{"rating": {"4"}},
			func(e shelves.Entry, ok bool) bool { return e.Rating == 4 }, []string{"shelf-1-reading", "shelf-1-rate-4"}},
		{"note", "/shelves/1/note", url.Values{"note": {"Lent to <Bob>"}},
			func(e shelves.Entry, ok bool) bool { return e.Note == "Lent to <Bob>" }, []string{"shelf-1-reading", "shelf-1-rate-4"}},
		{"clear rating", "/shelves/1/rating", url.Values{"rating": {"0"}},
			func(e shelves.Entry, ok bool) bool { return e.Rating == 0 && e.Note == "Lent to <Bob>" }, []string{"shelf-1-reading"}},
		{"remove", "/shelves/1/remove", url.Values{"remove": {"1"}},
			func(e shelves.Entry, ok bool) bool { return !ok }, nil},
	} {
		for _, viaHTMX := range []bool{true, false} {
			name := tc.name + map[bool]string{true: " (htmx)", false: " (form)"}[viaHTMX]
			form := url.Values{"back": {back}}
			for k, v := range tc.form {
				form[k] = v
			}
			if tc.name == "remove" && !viaHTMX {
				// put it back first, to remove it again
				b.htmx("/shelves/1/shelf", url.Values{"shelf": {"read"}}).wantStatus(t, http.StatusOK)
			}
			var p page
			if viaHTMX {
				p = b.htmx(tc.path, form).wantStatus(t, http.StatusOK)
				if !strings.HasPrefix(p.body, `<div class="shelf`) || strings.Contains(p.body, "<html") {
					t.Errorf("%s: htmx answer is not the control alone:\n%s", name, p.body)
				}
				if got := strings.Join(pressed(p.body), ","); got != strings.Join(tc.fields, ",") {
					t.Errorf("%s: pressed %s, want %v", name, got, tc.fields)
				}
				if !strings.Contains(p.body, `role="status"`) {
					t.Errorf("%s: no status for screen readers", name)
				}
				if tc.name == "note" && !strings.Contains(p.body, "Lent to &lt;Bob&gt;</textarea>") {
					t.Errorf("note not shown escaped:\n%s", p.body)
				}
				if tc.name == "remove" && !strings.Contains(p.body, `id="shelf-1-want-to-read" name="shelf" value="want-to-read" autofocus`) {
					t.Errorf("after remove, focus does not move to the first shelf button:\n%s", p.body)
				}
			} else {
				p = b.post(tc.path, form)
				if p.status != http.StatusSeeOther || p.location() != back+"#title-1" {
					t.Errorf("%s: %d to %q, want 303 to %s#title-1", name, p.status, p.location(), back)
				}
			}
			if e, ok := env.entry("ann@example.org", 1); !tc.check(e, ok) {
				t.Errorf("%s: stored %+v, %v", name, e, ok)
			}
		}
	}
}

// Saving a private note shows "Note saved." beside Save note, in the
// control's one status (it used to be announced to screen readers only),
// in place with htmx and, without JavaScript, once on the page the form
// returns to, with the note open.
func TestShelfNoteSavedIsShown(t *testing.T) {
	_, b := shelfEnv(t)
	b.get("/books/2").wantStatus(t, http.StatusOK)
	b.htmx("/shelves/2/shelf", url.Values{"shelf": {"reading"}}).wantStatus(t, http.StatusOK)
	shown := func(status string) string {
		return `<button type="submit" class="secondary" id="shelf-2-save-note" name="save" value="1">Save note</button>` +
			` <span class="shelf-note-status" role="status">` + status + `</span></div></form></details>`
	}
	checkShown := func(name, body, status string) {
		t.Helper()
		if !strings.Contains(body, shown(status)) || !strings.Contains(body, `<details class="shelf-note" open>`) {
			t.Errorf("%s: %q not shown beside Save note in the open note:\n%s", name, status, body)
		}
		if n := strings.Count(body, `role="status"`); n != 1 {
			t.Errorf("%s: %d statuses, want 1 (announced once)", name, n)
		}
	}

	p := b.htmx("/shelves/2/note", url.Values{"note": {"Lent to Bob"}, "back": {"/books/2"}}).wantStatus(t, http.StatusOK)
	checkShown("htmx", p.body, "Note saved.")
	p = b.htmx("/shelves/2/note", url.Values{"note": {""}, "back": {"/books/2"}}).wantStatus(t, http.StatusOK)
	checkShown("htmx, cleared", p.body, "Note cleared.")
	// Other changes still speak to screen readers only.
	p = b.htmx("/shelves/2/rating", url.Values{"rating": {"3"}, "back": {"/books/2"}}).wantStatus(t, http.StatusOK)
	if !strings.Contains(p.body, `<p class="visually-hidden" role="status">Rated 3 out of 5.</p>`) || strings.Contains(p.body, "shelf-note-status") {
		t.Errorf("rating: status changed:\n%s", p.body)
	}

	// Without JavaScript, from each page with a control.
	for _, back := range []string{"/books/2", "/search?q=dune", "/my-books"} {
		p = b.post("/shelves/2/note", url.Values{"note": {"Lent to " + back}, "back": {back}})
		if p.status != http.StatusSeeOther || p.location() != back+"#title-2" {
			t.Fatalf("%s: %d to %q", back, p.status, p.location())
		}
		p = b.get(back).wantStatus(t, http.StatusOK)
		checkShown("form to "+back, p.body, "Note saved.")
		if p = b.get(back); strings.Contains(p.body, "Note saved.") || strings.Contains(p.body, `class="shelf-note" open`) {
			t.Errorf("form to %s: the status is shown again on the next visit", back)
		}
	}
}

func TestShelfBadInput(t *testing.T) {
	env, b := shelfEnv(t)
	b.get("/books/2").wantStatus(t, http.StatusOK)
	b.htmx("/shelves/2/shelf", url.Values{"shelf": {"read"}}).wantStatus(t, http.StatusOK)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		status     int
		message    string
	}{
		{"unknown shelf", "/shelves/2/shelf", url.Values{"shelf": {"finished"}}, 422, "Choose one of Want to read, Reading or Read."},
		{"no shelf", "/shelves/2/shelf", url.Values{}, 422, "Choose one of"},
		{"rating 0 is clearing, 6 is not", "/shelves/2/rating", url.Values{"rating": {"6"}}, 422, "from 1 to 5"},
		{"rating -1", "/shelves/2/rating", url.Values{"rating": {"-1"}}, 422, "from 1 to 5"},
		{"rating x", "/shelves/2/rating", url.Values{"rating": {"x"}}, 422, "from 1 to 5"},
		{"rating 04", "/shelves/2/rating", url.Values{"rating": {"04"}}, 422, "from 1 to 5"},
		{"rating empty", "/shelves/2/rating", url.Values{}, 422, "from 1 to 5"},
		{"note too long", "/shelves/2/note", url.Values{"note": {strings.Repeat("x", shelves.MaxNoteRunes+1)}}, 422, "at most 2000 characters"},
		{"rate an unshelved book", "/shelves/3/rating", url.Values{"rating": {"3"}}, 422, "Put the book on a shelf first."},
		{"remove an unshelved book", "/shelves/3/remove", url.Values{}, 422, "Put the book on a shelf first."},
		{"unknown book", "/shelves/99/shelf", url.Values{"shelf": {"read"}}, 404, "There is no such book"},
		{"rate an unknown book", "/shelves/99/rating", url.Values{"rating": {"3"}}, 404, "There is no such book"},
		{"id not a number", "/shelves/x/shelf", url.Values{"shelf": {"read"}}, 404, "There is no such book"},
		{"id with a sign", "/shelves/+2/shelf", url.Values{"shelf": {"read"}}, 404, "There is no such book"},
		{"id too large", "/shelves/99999999999999999999/shelf", url.Values{"shelf": {"read"}}, 404, "There is no such book"},
	} {
		for _, viaHTMX := range []bool{true, false} {
			var p page
			if viaHTMX {
				p = b.htmx(tc.path, tc.form)
			} else {
				p = b.post(tc.path, tc.form)
			}
			if p.status != tc.status || !strings.Contains(p.body, html.EscapeString(tc.message)) {
				t.Errorf("%s (htmx %v): %d, want %d with %q:\n%.600s", tc.name, viaHTMX, p.status, tc.status, tc.message, p.body)
			}
			if tc.status == 422 && viaHTMX && (!strings.HasPrefix(p.body, `<div class="shelf`) || !strings.Contains(p.body, `role="alert"`)) {
				t.Errorf("%s: the htmx answer is not the control with its message:\n%s", tc.name, p.body)
			}
		}
	}
	if e, _ := env.entry("ann@example.org", 2); e.Shelf != shelves.Read || e.Rating != 0 || e.Note != "" {
		t.Errorf("refused changes changed the entry: %+v", e)
	}
	if _, ok := env.entry("ann@example.org", 3); ok {
		t.Error("book 3 got shelved")
	}
}

func TestShelfCSRF(t *testing.T) {
	env, b := shelfEnv(t)
	for _, path := range []string{"/shelves/1/shelf", "/shelves/1/rating", "/shelves/1/note", "/shelves/1/remove"} {
		form := url.Values{"shelf": {"read"}, "rating": {"3"}, "note": {"x"}, "_csrf": {"forged"}}
		if p := b.post(path, form); p.status != http.StatusForbidden {
			t.Errorf("%s with a wrong token: %d", path, p.status)
		}
		req, _ := http.NewRequest(http.MethodPost, env.srv.URL+path, strings.NewReader("shelf=read"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("HX-Request", "true")
		if p := b.do(req); p.status != http.StatusForbidden {
			t.Errorf("%s without a token: %d", path, p.status)
		}
	}
	if _, ok := env.entry("ann@example.org", 1); ok {
		t.Error("a request without a token shelved a book")
	}
}

// Another reader neither sees nor changes your entries.
func TestShelvesAreYoursAlone(t *testing.T) {
	env, ann := shelfEnv(t)
	ann.htmx("/shelves/1/shelf", url.Values{"shelf": {"read"}}).wantStatus(t, http.StatusOK)
	ann.htmx("/shelves/1/note", url.Values{"note": {"ann's secret"}}).wantStatus(t, http.StatusOK)

	bob := env.register("bob@example.org")
	for _, path := range []string{"/search?q=hobbit", "/books/1", "/my-books"} {
		p := bob.get(path).wantStatus(t, http.StatusOK)
		if strings.Contains(p.body, "ann&#39;s secret") || strings.Contains(p.body, "ann's secret") || len(pressed(p.body)) > 0 {
			t.Errorf("%s shows ann's entry to bob:\n%s", path, p.body)
		}
	}
	if p := bob.get("/search?q=hobbit", htmxHeaders...); len(pressed(p.body)) > 0 {
		t.Errorf("the fragment shows ann's entry to bob")
	}
	// Bob's changes to book 1 are his own entry; he cannot remove or
	// rate ann's.
	bob.htmx("/shelves/1/rating", url.Values{"rating": {"1"}}).wantStatus(t, http.StatusUnprocessableEntity)
	bob.htmx("/shelves/1/remove", nil).wantStatus(t, http.StatusUnprocessableEntity)
	bob.htmx("/shelves/1/shelf", url.Values{"shelf": {"want-to-read"}}).wantStatus(t, http.StatusOK)
	if e, ok := env.entry("ann@example.org", 1); !ok || e.Shelf != shelves.Read || e.Note != "ann's secret" || e.Rating != 0 {
		t.Errorf("ann's entry changed: %+v %v", e, ok)
	}
	// Nor are anonymous visitors shown anything of either.
	anon := env.browser()
	for _, hdr := range [][]string{nil, htmxHeaders} {
		if p := anon.get("/search?q=hobbit", hdr...); len(pressed(p.body)) > 0 || strings.Contains(p.body, `method="post" action="/shelves`) {
			t.Errorf("an anonymous search shows a reader's controls:\n%s", p.body)
		}
	}
}

// The shared fragment cache keeps anonymous fragments, never a reader's.
func TestSearchFragmentCacheHoldsNoReadersShelves(t *testing.T) {
	env, ann := shelfEnv(t)
	ann.htmx("/shelves/1/shelf", url.Values{"shelf": {"read"}}).wantStatus(t, http.StatusOK)
	if p := ann.get("/search?q=hobbit", htmxHeaders...); strings.Join(pressed(p.body), ",") != "shelf-1-read" {
		t.Fatalf("ann's fragment does not show her shelf: %v\n%s", pressed(p.body), p.body)
	}
	anon := env.browser()
	p := anon.get("/search?q=hobbit", htmxHeaders...)
	if len(pressed(p.body)) > 0 || !strings.Contains(p.body, `action="/shelves/sign-in"`) {
		t.Fatalf("the anonymous fragment after ann's:\n%s", p.body)
	}
	r, err := env.app.Search.Search(context.Background(), "hobbit", 1)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := env.app.fragments.Get(r)
	if !ok {
		t.Fatal("the anonymous fragment was not cached")
	}
	if env.app.fragments.Entries() == 0 || strings.Contains(string(f.body), "_csrf") {
		t.Error("a reader's fragment is in the cache")
	}
	// And ann, after the anonymous visitor, still gets hers.
	if p := ann.get("/search?q=hobbit", htmxHeaders...); strings.Join(pressed(p.body), ",") != "shelf-1-read" {
		t.Fatalf("ann's fragment after the anonymous one: %v", pressed(p.body))
	}
}

// A visitor who presses a shelf button signs in and comes back to the
// same place with the book on that shelf; nothing changes on a GET.
func TestShelfSignInAndComeBack(t *testing.T) {
	env, _ := shelfEnv(t)
	b := env.browser()
	p := b.get("/search?q=dune").wantStatus(t, http.StatusOK)
	p.wantContains(t, `<form class="shelf" id="shelf-2" action="/shelves/sign-in"`)

	p = b.get("/shelves/sign-in?book=2&back=%2Fsearch%3Fq%3Ddune&shelf=reading")
	pending := "/shelves/pending?book=2&shelf=reading&back=%2Fsearch%3Fq%3Ddune"
	if p.status != http.StatusSeeOther || p.location() != "/login?next="+url.QueryEscape(pending) {
		t.Fatalf("shelf sign-in: %d %q", p.status, p.location())
	}
	if _, ok := env.entry("ann@example.org", 2); ok {
		t.Fatal("a GET shelved the book")
	}
	b.get(p.location()).wantStatus(t, http.StatusOK).wantContains(t, "Sign in to put “Dune” on Reading.", `name="next" value="`+html.EscapeString(pending)+`"`)
	p = b.post("/login", url.Values{"email": {"ann@example.org"}, "password": {goodPassword}, "next": {pending}})
	if p.status != http.StatusSeeOther || p.location() != "/search?q=dune#title-2" {
		t.Fatalf("sign in: %d %q", p.status, p.location())
	}
	if e, ok := env.entry("ann@example.org", 2); !ok || e.Shelf != shelves.Reading {
		t.Fatalf("after sign-in: %+v %v", e, ok)
	}
	if got := pressed(b.get("/search?q=dune").body); strings.Join(got, ",") != "shelf-2-reading" {
		t.Errorf("back on the results: pressed %v", got)
	}

	// Signed in already, the pending page offers the change with one
	// focused button, and changes nothing itself.
	p = b.get("/shelves/sign-in?book=3&shelf=read&back=%2Fbooks%2F3")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/shelves/pending?") {
		t.Fatalf("signed in: %d %q", p.status, p.location())
	}
	b.get(p.location()).wantStatus(t, http.StatusOK).wantContains(t, "Put it on Read", "autofocus")
	if _, ok := env.entry("ann@example.org", 3); ok {
		t.Fatal("the pending page shelved the book")
	}
	if p := b.post("/shelves/3/shelf", url.Values{"shelf": {"read"}, "back": {"/books/3"}}); p.location() != "/books/3#title-3" {
		t.Fatalf("confirm pending: %d %q", p.status, p.location())
	}

	// Nonsense in the sign-in step is a clear 400, not a 500.
	for _, q := range []string{"book=x&shelf=read", "book=2&shelf=owned", "shelf=read", ""} {
		if p := env.browser().get("/shelves/sign-in?" + q); p.status != http.StatusBadRequest || !strings.Contains(p.body, "not understood") {
			t.Errorf("sign-in step %q: %d", q, p.status)
		}
	}
	// A foreign back is dropped.
	p = env.browser().get("/shelves/sign-in?book=2&shelf=read&back=//evil.example/")
	if strings.Contains(p.location(), "evil") {
		t.Errorf("foreign back kept: %q", p.location())
	}
}

// Signing up from a shelf button and confirming in the same browser
// shelves the book too.
func TestShelfSignUpAndComeBack(t *testing.T) {
	env, _ := shelfEnv(t)
	pending := "/shelves/pending?book=1&shelf=want-to-read&back=%2Fbooks%2F1"
	b := env.browser()
	b.get("/register?next="+url.QueryEscape(pending)).wantStatus(t, http.StatusOK)
	p := b.post("/register", url.Values{"email": {"new@example.org"}, "password": {goodPassword}, "password_confirm": {goodPassword}, "next": {pending}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("register: %d", p.status)
	}
	link := env.lastLink("new@example.org")
	b.get(link).wantStatus(t, http.StatusOK)
	b.post(link, nil).wantStatus(t, http.StatusOK).wantContains(t, "Continue where you were", `href="/books/1#title-1"`)
	if e, ok := env.entry("new@example.org", 1); !ok || e.Shelf != shelves.WantToRead {
		t.Fatalf("after confirming: %+v %v", e, ok)
	}
}

// A post from a visitor whose session ended goes to sign in, then to the
// pending change; an unconfirmed reader is sent to confirm.
func TestShelfActionsNeedAConfirmedReader(t *testing.T) {
	env, _ := shelfEnv(t)
	anon := env.browser()
	anon.get("/login") // a CSRF cookie, as a stale form would have
	p := anon.post("/shelves/1/shelf", url.Values{"shelf": {"read"}, "back": {"/books/1"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login?next="+url.QueryEscape("/shelves/pending?book=1&shelf=read")) {
		t.Errorf("anonymous post: %d %q", p.status, p.location())
	}
	if p := anon.get("/my-books"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Errorf("anonymous my books: %d %q", p.status, p.location())
	}
	u := env.signUp("pending@example.org").signInUnconfirmed("pending@example.org")
	if p := u.post("/shelves/1/shelf", url.Values{"shelf": {"read"}}); p.status != http.StatusSeeOther || p.location() != "/check-email" {
		t.Errorf("unconfirmed post: %d %q", p.status, p.location())
	}
	if p := u.get("/my-books"); p.status != http.StatusSeeOther || p.location() != "/check-email" {
		t.Errorf("unconfirmed my books: %d %q", p.status, p.location())
	}
}

// resultOrder returns the book ids of a list's items, in order.
var itemRe = regexp.MustCompile(`<li class="result" data-book-id="(\d+)"`)

func resultOrder(body string) string {
	var ids []string
	for _, m := range itemRe.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return strings.Join(ids, ",")
}

func TestMyBooks(t *testing.T) {
	env, b := shelfEnv(t)
	env.addBooks(manyBooks(25)...) // ids 4..28
	ctx := context.Background()
	ann := env.user("ann@example.org").ID
	put := func(id int64, s shelves.Shelf, rating int) {
		if _, err := env.app.Shelves.Put(ctx, ann, id, s); err != nil {
			t.Fatal(err)
		}
		if rating > 0 {
			if _, err := env.app.Shelves.SetRating(ctx, ann, id, rating); err != nil {
				t.Fatal(err)
			}
		}
		env.clock.Advance(1e9)
	}
	put(1, shelves.Read, 5)
	put(2, shelves.Reading, 0)
	put(3, shelves.WantToRead, 3)
	for id := int64(4); id <= 28; id++ {
		put(id, shelves.WantToRead, 0)
	}

	p := b.get("/my-books").wantStatus(t, http.StatusOK)
	p.wantContains(t, `id="nav-my-books"`, `All <span class="count">28</span>`, `Want to read <span class="count">26</span>`,
		`Reading <span class="count">1</span>`, `Read <span class="count">1</span>`, "28 books on your shelves.", `id="my-books-next"`,
		`href="/my-books/import"`, `href="/my-books/export.csv"`, `<span id="my-books-page">Page 1 of 2</span>`)
	if got := resultOrder(p.body); !strings.HasPrefix(got, "28,27,26") || strings.Count(got, ",") != 19 {
		t.Errorf("page 1 by date added: %s", got)
	}
	if p := b.get("/my-books?page=2"); resultOrder(p.body) != "8,7,6,5,4,3,2,1" || !strings.Contains(p.body, `<span id="my-books-page">Page 2 of 2</span>`) {
		t.Errorf("page 2: %s", resultOrder(p.body))
	}
	// A shelf's pages count its own books; the pager's count follows it.
	b.get("/my-books?shelf=want-to-read&page=2").wantContains(t, "Page 2 of 2")
	if got := resultOrder(b.get("/my-books?page=2").body); got != "8,7,6,5,4,3,2,1" {
		t.Errorf("page 2: %s", got)
	}
	// A page past the last shows the last, and says so, as search does.
	first, last := "28,27,26,25,24,23,22,21,20,19,18,17,16,15,14,13,12,11,10,9", "8,7,6,5,4,3,2,1"
	const (
		lastNote  = "That page number does not exist; this is the last page, page 2."
		firstNote = "That page number does not exist; this is page 1."
		onlyNote  = "That page number does not exist; this is the only page."
	)
	for _, tc := range []pagedCase{
		{"/my-books", false, first, ""},
		{"/my-books?page=2", false, last, ""},
		{"/my-books?page=3", false, last, lastNote},
		{"/my-books?page=99999", false, last, lastNote},
		{"/my-books?page=99999999999999999999", false, last, lastNote},
		{"/my-books?page=0", false, first, firstNote},
		{"/my-books?page=-3", false, first, firstNote},
		{"/my-books?page=x", false, first, firstNote},
		{"/my-books?shelf=read&page=2", false, "1", onlyNote},
		{"/my-books?q=tolkien&sort=title&page=5", false, "1", onlyNote},
		{"/my-books?q=zzzz&page=3", false, "", ""}, // nothing to go back to
		// The list's requests replace it whole: the last page, once.
		{"/my-books?page=3", true, last, lastNote},
		{"/my-books?page=99999", true, last, lastNote},
	} {
		tc.check(t, b)
	}
	if p := b.get("/my-books?page=9", htmxHeaders...); p.header.Get("HX-Push-Url") != "/my-books?page=2" {
		t.Errorf("past the end, the list's request puts %q in the address bar; want the last page's", p.header.Get("HX-Push-Url"))
	}
	b.get("/my-books?shelf=read&page=2").wantContains(t, `id="share-shelf"`) // still the shelf's page
	for _, tc := range []struct{ query, want string }{
		{"shelf=read", "1"},
		{"shelf=reading", "2"},
		{"sort=title&q=h", "2,1"}, // Dune (Herbert), The Hobbit: by title
		{"sort=rating&shelf=want-to-read&q=emma", "3"},
		{"q=tolkein", "1"}, // a typo, as the catalog allows
		{"sort=author&q=austen+herbert", ""},
		{"shelf=nonsense&sort=nonsense&page=x&q=hobbit", "1"}, // nonsense falls back to the defaults
	} {
		if got := resultOrder(b.get("/my-books?" + tc.query).body); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.query, got, tc.want)
		}
	}
	if got := resultOrder(b.get("/my-books?sort=rating").body); !strings.HasPrefix(got, "1,3,28") {
		t.Errorf("by rating: %s", got)
	}

	// The search box's requests get the list alone, and the address follows.
	p = b.get("/my-books?q=dune&sort=title", htmxHeaders...).wantStatus(t, http.StatusOK)
	if strings.Contains(p.body, "<html") || resultOrder(p.body) != "2" || p.header.Get("HX-Push-Url") != "/my-books?q=dune&sort=title" {
		t.Errorf("fragment: push %q\n%s", p.header.Get("HX-Push-Url"), p.body)
	}
	p.wantContains(t, `hx-swap-oob`, "1 book on your shelves match “dune”.", `<mark>Dune</mark>`, `id="shelf-2-reading"`)
	b.get("/my-books?q=zzzz").wantContains(t, `id="my-books-none"`, "No books on your shelves match “zzzz”.")

	// Its controls act in place too, and return to the same list.
	b.htmx("/shelves/2/shelf", url.Values{"shelf": {"read"}, "back": {"/my-books?q=dune"}}).wantStatus(t, http.StatusOK)
	if p := b.post("/shelves/2/rating", url.Values{"rating": {"2"}, "back": {"/my-books?q=dune"}}); p.location() != "/my-books?q=dune#title-2" {
		t.Errorf("back to my books: %q", p.location())
	}

	// Another reader's My books is empty, on any page.
	bob := env.register("bob@example.org")
	bob.get("/my-books").wantStatus(t, http.StatusOK).wantContains(t, `id="my-books-empty"`, "0 books on your shelves.")
	for _, path := range []string{"/my-books?page=3", "/my-books?page=0", "/my-books?shelf=read&page=99999"} {
		pagedCase{path, false, "", ""}.check(t, bob)
		bob.get(path).wantContains(t, `id="my-books-empty"`)
	}
}

// pagedCase is a request for a page of books: those it should show, in
// order (resultOrder), and its note when the page asked for does not
// exist ("": none).
type pagedCase struct {
	path string
	htmx bool
	want string
	note string
}

func (tc pagedCase) check(t *testing.T, b *browser) {
	t.Helper()
	var headers []string
	if tc.htmx {
		headers = htmxHeaders
	}
	p := b.get(tc.path, headers...)
	got := resultOrder(p.body)
	gotNote := pageNoteRe.FindStringSubmatch(p.body)
	switch {
	case p.status != http.StatusOK || got != tc.want:
		t.Errorf("%s (htmx %v): %d, books %s; want %s", tc.path, tc.htmx, p.status, got, tc.want)
	case tc.note == "" && gotNote != nil:
		t.Errorf("%s (htmx %v): note %q; want none", tc.path, tc.htmx, gotNote[0])
	case tc.note != "" && (gotNote == nil || gotNote[0] != tc.note):
		t.Errorf("%s (htmx %v): notes %q; want %q", tc.path, tc.htmx, gotNote, tc.note)
	case strings.Contains(p.body, "No more books"):
		t.Errorf("%s (htmx %v): an empty page past the end", tc.path, tc.htmx)
	}
}

var pageNoteRe = regexp.MustCompile(`That page number does not exist[^<]*`)

// With a second factor, the change is made once the second step signs in.
func TestShelfSignInWithSecondFactor(t *testing.T) {
	env, ann := shelfEnv(t)
	secret, _ := ann.enrolTOTP()
	env.clock.Advance(time.Minute) // the enrolment's code is spent
	pending := "/shelves/pending?book=3&shelf=read&back=%2Fsearch%3Fq%3Demma"
	b := env.browser()
	b.get("/login?next="+url.QueryEscape(pending)).wantStatus(t, http.StatusOK)
	p := b.post("/login", url.Values{"email": {"ann@example.org"}, "password": {goodPassword}, "next": {pending}})
	if p.status != http.StatusSeeOther || p.location() != paths.TwoFactorLogin {
		t.Fatalf("password step: %d %q", p.status, p.location())
	}
	if _, ok := env.entry("ann@example.org", 3); ok {
		t.Fatal("shelved before the second step")
	}
	b.get(paths.TwoFactorLogin).wantStatus(t, http.StatusOK)
	p = b.post(paths.TwoFactorLogin, url.Values{"code": {env.totpCode(secret, 0)}})
	if p.status != http.StatusSeeOther || p.location() != "/search?q=emma#title-3" {
		t.Fatalf("second step: %d %q\n%s", p.status, p.location(), p.body)
	}
	if e, ok := env.entry("ann@example.org", 3); !ok || e.Shelf != shelves.Read {
		t.Fatalf("after the second step: %+v %v", e, ok)
	}
}

// A visitor who signs in by email, with the code or with the link in the
// same browser, comes back with the book shelved too; the link opened in
// another browser signs that one in and goes home.
func TestShelfSignInByEmailAndComeBack(t *testing.T) {
	env, _ := shelfEnv(t)
	ask := func(b *browser, book int64, shelf string) {
		t.Helper()
		env.clock.Advance(2 * time.Minute) // one email a minute per address
		pending := fmt.Sprintf("/shelves/pending?book=%d&shelf=%s&back=%%2Fsearch%%3Fq%%3Ddune", book, shelf)
		login := b.get("/login?next="+url.QueryEscape(pending)).wantStatus(t, http.StatusOK)
		href := `href="/login/email?next=` + html.EscapeString(url.QueryEscape(pending)) + `"`
		login.wantContains(t, href)
		b.get("/login/email?next="+url.QueryEscape(pending)).wantStatus(t, http.StatusOK).
			wantContains(t, `name="next" value="`+html.EscapeString(pending)+`"`)
		p := b.post("/login/email", url.Values{"email": {"ann@example.org"}, "next": {pending}})
		if p.status != http.StatusSeeOther || p.location() != "/login/email/code" {
			t.Fatalf("ask: %d %q", p.status, p.location())
		}
		if err := env.app.HandleMagicRequests(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Another email, asked from the code page, keeps where it goes.
		b.get("/login/email/code").wantStatus(t, http.StatusOK).wantContains(t, `name="next" value="`+html.EscapeString(pending)+`"`)
	}

	byCode := env.browser()
	ask(byCode, 2, "reading")
	_, code := env.magicMail("ann@example.org")
	p := byCode.post("/login/email/code", url.Values{"code": {code}})
	if p.status != http.StatusSeeOther || p.location() != "/search?q=dune#title-2" {
		t.Fatalf("code: %d %q", p.status, p.location())
	}
	if e, ok := env.entry("ann@example.org", 2); !ok || e.Shelf != shelves.Reading {
		t.Fatalf("after the code: %+v %v", e, ok)
	}

	byLink := env.browser()
	ask(byLink, 3, "read")
	link, _ := env.magicMail("ann@example.org")
	byLink.get(link).wantStatus(t, http.StatusOK)
	if p := byLink.post(link, nil); p.status != http.StatusSeeOther || p.location() != "/search?q=dune#title-3" {
		t.Fatalf("link: %d %q", p.status, p.location())
	}
	if e, ok := env.entry("ann@example.org", 3); !ok || e.Shelf != shelves.Read {
		t.Fatalf("after the link: %+v %v", e, ok)
	}

	asker := env.browser()
	ask(asker, 1, "read")
	link, _ = env.magicMail("ann@example.org")
	elsewhere := env.browser()
	elsewhere.get(link).wantStatus(t, http.StatusOK)
	if p := elsewhere.post(link, nil); p.status != http.StatusSeeOther || p.location() != "/" {
		t.Fatalf("link in another browser: %d %q", p.status, p.location())
	}
	if _, ok := env.entry("ann@example.org", 1); ok {
		t.Error("a link opened in another browser applied the asking browser's shelf change")
	}
}

// A reader's pages go on past search's hundred: a shelf can hold more
// than 2,000 books.
func TestParseShelfPage(t *testing.T) {
	for _, tc := range []struct {
		raw      string
		page     int
		adjusted bool
	}{
		{"", 1, false},
		{"1", 1, false},
		{"101", 101, false},
		{"1000000", maxShelfPage, false},
		{"1000001", maxShelfPage, true},
		{"99999999999999999999", maxShelfPage, true},
		{"0", 1, true},
		{"-3", 1, true},
		{"x", 1, true},
	} {
		if page, adjusted := parseShelfPage(tc.raw); page != tc.page || adjusted != tc.adjusted {
			t.Errorf("parseShelfPage(%q) = %d, %v; want %d, %v", tc.raw, page, adjusted, tc.page, tc.adjusted)
		}
	}
}

// tabsRe finds My books' shelf tabs: the nav, out of band or not, and its
// links.
var (
	tabsRe    = regexp.MustCompile(`(?s)<nav class="shelf-tabs"([^>]*)>.*?</nav>`)
	tabLinkRe = regexp.MustCompile(`<a href="([^"]*)" id="(shelf-tab-[a-z-]+)"`)
)

// tabLinks returns the tabs' links by id, and whether they came out of band.
func tabLinks(t *testing.T, body string) (map[string]string, bool) {
	t.Helper()
	m := tabsRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no shelf tabs in:\n%s", body)
	}
	links := map[string]string{}
	for _, l := range tabLinkRe.FindAllStringSubmatch(m[0], -1) {
		links[l[2]] = html.UnescapeString(l[1])
	}
	return links, strings.Contains(m[1], `hx-swap-oob="true"`)
}

// My books' tabs keep the search and the order, and start at page 1: on
// the page, and in the list's fragment, which the search box's requests
// get as you type, where they come out of band (they used to stay as the
// page had them, without the query just typed).
func TestMyBooksTabsKeepSearchAndSort(t *testing.T) {
	_, b := shelfEnv(t)
	for id, s := range map[string]string{"1": "read", "2": "reading", "3": "want-to-read"} {
		b.htmx("/shelves/"+id+"/shelf", url.Values{"shelf": {s}, "back": {"/my-books"}}).wantStatus(t, http.StatusOK)
	}
	want := map[string]string{
		"shelf-tab-all":          "/my-books?q=h&sort=title",
		"shelf-tab-want-to-read": "/my-books?q=h&shelf=want-to-read&sort=title",
		"shelf-tab-reading":      "/my-books?q=h&shelf=reading&sort=title",
		"shelf-tab-read":         "/my-books?q=h&shelf=read&sort=title",
	}
	for _, tc := range []struct {
		path string
		htmx bool
	}{
		{"/my-books?q=h&sort=title&page=2", false},
		{"/my-books?shelf=read&q=h&sort=title", false},
		{"/my-books?q=h&sort=title", true},
		{"/my-books?shelf=reading&q=h&sort=title&page=3", true},
	} {
		var headers []string
		if tc.htmx {
			headers = htmxHeaders
		}
		p := b.get(tc.path, headers...).wantStatus(t, http.StatusOK)
		links, oob := tabLinks(t, p.body)
		if oob != tc.htmx {
			t.Errorf("%s (htmx %v): tabs out of band %v", tc.path, tc.htmx, oob)
		}
		for id, href := range want {
			if links[id] != href {
				t.Errorf("%s (htmx %v): %s links to %q, want %q", tc.path, tc.htmx, id, links[id], href)
			}
		}
	}
	// The fragment's tabs show the shelf asked for as the current one.
	p := b.get("/my-books?shelf=reading&q=h", htmxHeaders...)
	tabs := tabsRe.FindString(p.body)
	if !strings.Contains(tabs, `id="shelf-tab-reading" aria-current="page"`) || strings.Count(tabs, "aria-current") != 1 {
		t.Errorf("fragment's tabs:\n%s", tabs)
	}
}

// countsRe finds the counts a shelf change on My books answers with, out
// of band: the list's count and each tab's.
var (
	oobCountRe = regexp.MustCompile(`<p id="my-books-count" hx-swap-oob="innerHTML">([^<]*)</p>`)
	tabCountRe = regexp.MustCompile(`id="shelf-tab-([a-z-]+)"[^>]*>[^<]*<span class="count">(\d+)</span>`)
)

func tabCounts(body string) string {
	var counts []string
	for _, m := range tabCountRe.FindAllStringSubmatch(tabsRe.FindString(body), -1) {
		counts = append(counts, m[1]+"="+m[2])
	}
	return strings.Join(counts, " ")
}

// Removing a book on My books, putting it back and moving it update the
// page's counts in place, out of band: the list's count and the tabs'
// (they stayed as the page was loaded). The book's control comes first,
// as htmx's target; other pages' controls get it alone.
func TestMyBooksCountsFollowShelfChanges(t *testing.T) {
	_, b := shelfEnv(t)
	for id, s := range map[string]string{"1": "read", "2": "reading", "3": "want-to-read"} {
		b.htmx("/shelves/"+id+"/shelf", url.Values{"shelf": {s}, "back": {"/search?q=x"}}).wantStatus(t, http.StatusOK)
	}
	b.get("/my-books").wantContains(t, "3 books on your shelves.")
	for _, tc := range []struct {
		name, path, shelf, back string
		count, tabs             string
	}{
		{"remove", "/shelves/2/remove", "", "/my-books", "2 books on your shelves.", "all=2 want-to-read=1 reading=0 read=1"},
		{"add back", "/shelves/2/shelf", "reading", "/my-books", "3 books on your shelves.", "all=3 want-to-read=1 reading=1 read=1"},
		{"move, on a shelf's page", "/shelves/2/shelf", "read", "/my-books?shelf=reading&sort=title", "0 books on Reading.", "all=3 want-to-read=1 reading=0 read=2"},
		{"remove, searching", "/shelves/1/remove", "", "/my-books?shelf=read&q=hobbit&page=1", "No books on Read match “hobbit”.", "all=2 want-to-read=1 reading=0 read=1"},
		{"move back, searching", "/shelves/2/shelf", "reading", "/my-books?q=dune", "1 book on your shelves match “dune”.", "all=2 want-to-read=1 reading=1 read=0"},
	} {
		form := url.Values{"back": {tc.back}}
		if tc.shelf != "" {
			form.Set("shelf", tc.shelf)
		}
		p := b.htmx(tc.path, form).wantStatus(t, http.StatusOK)
		if !strings.HasPrefix(p.body, `<div class="shelf`) {
			t.Errorf("%s: the control does not come first:\n%s", tc.name, p.body)
		}
		if m := oobCountRe.FindStringSubmatch(p.body); m == nil || html.UnescapeString(m[1]) != tc.count {
			t.Errorf("%s: count out of band %q, want %q:\n%s", tc.name, m, tc.count, p.body)
		}
		if _, oob := tabLinks(t, p.body); !oob || tabCounts(p.body) != tc.tabs {
			t.Errorf("%s: tabs (out of band %v) %q, want %q", tc.name, oob, tabCounts(p.body), tc.tabs)
		}
		// The tabs keep the page's query and order.
		if links, _ := tabLinks(t, p.body); tc.back == "/my-books?shelf=reading&sort=title" && links["shelf-tab-read"] != "/my-books?shelf=read&sort=title" {
			t.Errorf("%s: Read tab links to %q", tc.name, links["shelf-tab-read"])
		}
	}
	// Elsewhere, and for ratings and notes, the control alone.
	for _, tc := range []struct{ path, back string }{
		{"/shelves/3/shelf", "/search?q=emma"},
		{"/shelves/3/shelf", "/books/3"},
		{"/shelves/3/rating", "/my-books"},
		{"/shelves/3/note", "/my-books"},
	} {
		p := b.htmx(tc.path, url.Values{"shelf": {"read"}, "rating": {"2"}, "note": {"n"}, "back": {tc.back}}).wantStatus(t, http.StatusOK)
		if strings.Contains(p.body, "hx-swap-oob") {
			t.Errorf("%s from %s: counts out of band:\n%s", tc.path, tc.back, p.body)
		}
	}
}
