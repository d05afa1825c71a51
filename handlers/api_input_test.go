package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/quick"

	"shelf/store/apitokens"
	"shelf/store/shelves"
)

// Every malformed body is refused with a clear problem, and changes
// nothing: a shelf entry keeps its shelf, rating and note, a book its
// fields.
func TestAPIBadBodies(t *testing.T) {
	env := newAPITestEnv(t)
	env.register("admin@example.com")
	adminID := env.user("admin@example.com").ID
	if _, err := env.db.Write.Exec(`UPDATE users SET is_admin = true WHERE id = $1`, adminID); err != nil {
		t.Fatal(err)
	}
	_, secret := env.newPAT("admin@example.com", 0, apitokens.Scopes...)
	auth := "Bearer " + secret
	ctx := context.Background()
	if _, err := env.app.Shelves.Put(ctx, adminID, 1, shelves.Reading); err != nil {
		t.Fatal(err)
	}
	if _, err := env.app.Shelves.SetRating(ctx, adminID, 1, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := env.app.Shelves.SetNote(ctx, adminID, 1, "kept"); err != nil {
		t.Fatal(err)
	}
	entryBefore, _, _ := env.app.Shelves.Get(ctx, adminID, 1)
	bookBefore, _ := env.app.Catalog.Get(ctx, 3)
	booksBefore, _ := env.app.Catalog.Count(ctx)

	huge := `{"shelf":"read","note":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	longNote := `{"shelf":"read","note":"` + strings.Repeat("é", shelves.MaxNoteRunes+1) + `"}`
	type badBody struct {
		what        string
		body        string
		contentType string
		status      int
		field       string // the field the problem names, if any
	}
	common := []badBody{
		{"malformed JSON", `{"shelf":`, "", http.StatusBadRequest, ""},
		{"not an object", `["read"]`, "", http.StatusBadRequest, ""},
		{"a bare string", `"read"`, "", http.StatusBadRequest, ""},
		{"empty", ` `, "", http.StatusBadRequest, ""},
		{"trailing data", `{"title":"x"} {"title":"y"}`, "", http.StatusBadRequest, ""},
		{"trailing garbage", `{"title":"x"}x`, "", http.StatusBadRequest, ""},
		{"invalid UTF-8", "{\"title\":\"\xff\"}", "", http.StatusBadRequest, ""},
		{"oversized", huge, "", http.StatusRequestEntityTooLarge, ""},
		{"form-encoded", `shelf=read`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, ""},
		{"text/plain", `{"shelf":"read"}`, "text/plain", http.StatusUnsupportedMediaType, ""},
		{"JSON in Latin-1", `{"shelf":"read"}`, "application/json; charset=iso-8859-1", http.StatusUnsupportedMediaType, ""},
		{"multipart", `--x--`, "multipart/form-data; boundary=x", http.StatusUnsupportedMediaType, ""},
		{"unknown field", `{"shelf":"read","title":"x","authors":"y","isbn":"","year":null,"language":"","rating":1,"note":"","color":"red"}`, "", http.StatusUnprocessableEntity, "color"},
		{"a field twice", `{"title":"a","title":"b","shelf":"read","shelf":"reading"}`, "", http.StatusUnprocessableEntity, ""},
	}
	for _, tc := range []struct {
		method, path string
		cases        []badBody
	}{
		{http.MethodPut, "/api/v1/shelves/1", append(common,
			badBody{"no shelf", `{"rating":5}`, "", http.StatusUnprocessableEntity, "shelf"},
			badBody{"unknown shelf", `{"shelf":"favourites"}`, "", http.StatusUnprocessableEntity, "shelf"},
			badBody{"shelf as a number", `{"shelf":1}`, "", http.StatusUnprocessableEntity, "shelf"},
			badBody{"shelf null", `{"shelf":null}`, "", http.StatusUnprocessableEntity, "shelf"},
			badBody{"a bad rating", `{"shelf":"read","rating":6}`, "", http.StatusUnprocessableEntity, "rating"},
			badBody{"rating zero", `{"shelf":"read","rating":0}`, "", http.StatusUnprocessableEntity, "rating"},
			badBody{"rating as a string", `{"shelf":"read","rating":"5"}`, "", http.StatusUnprocessableEntity, "rating"},
			badBody{"a fractional rating", `{"shelf":"read","rating":4.5}`, "", http.StatusUnprocessableEntity, "rating"},
			badBody{"a huge rating", `{"shelf":"read","rating":1e400}`, "", http.StatusUnprocessableEntity, "rating"},
			badBody{"note as an object", `{"shelf":"read","note":{"a":1}}`, "", http.StatusUnprocessableEntity, "note"},
			badBody{"note too long", longNote, "", http.StatusUnprocessableEntity, "note"},
		)},
		{http.MethodPost, "/api/v1/books", append(common,
			badBody{"no title", `{"authors":"A"}`, "", http.StatusUnprocessableEntity, "title"},
			badBody{"a bad ISBN", `{"title":"T","authors":"A","isbn":"9780747532698"}`, "", http.StatusUnprocessableEntity, "isbn"},
			badBody{"year as a string", `{"title":"T","authors":"A","year":"1999"}`, "", http.StatusUnprocessableEntity, "year"},
			badBody{"year out of range", `{"title":"T","authors":"A","year":99999}`, "", http.StatusUnprocessableEntity, "year"},
			badBody{"title as an array", `{"title":["T"],"authors":"A"}`, "", http.StatusUnprocessableEntity, "title"},
		)},
		{http.MethodPatch, "/api/v1/books/3", append(common,
			badBody{"nothing to change", `{}`, "", http.StatusUnprocessableEntity, "body"},
			badBody{"title emptied", `{"title":"  "}`, "", http.StatusUnprocessableEntity, "title"},
			badBody{"a bad ISBN and a good year", `{"year":1950,"isbn":"123"}`, "", http.StatusUnprocessableEntity, "isbn"},
			badBody{"authors null", `{"authors":null}`, "", http.StatusUnprocessableEntity, "authors"},
		)},
	} {
		for _, bc := range tc.cases {
			r := callAPI(t, env, auth, apiRequest{method: tc.method, path: tc.path, body: bc.body, contentType: bc.contentType})
			if r.status != bc.status {
				t.Errorf("%s %s, %s: %d, want %d: %s", tc.method, tc.path, bc.what, r.status, bc.status, r.body)
				continue
			}
			p := r.problem(t)
			if p.Detail == "" && len(p.Errors) == 0 {
				t.Errorf("%s %s, %s: a problem that says nothing: %s", tc.method, tc.path, bc.what, r.body)
			}
			if bc.field != "" && (len(p.Errors) == 0 || !hasFieldProblem(p, bc.field)) {
				t.Errorf("%s %s, %s: the problem does not name %s: %s", tc.method, tc.path, bc.what, bc.field, r.body)
			}
			if bc.status == http.StatusUnprocessableEntity {
				for _, e := range p.Errors {
					if e.Detail == "" {
						t.Errorf("%s %s, %s: field %s without a detail", tc.method, tc.path, bc.what, e.Field)
					}
				}
			}
		}
	}
	if after, _, _ := env.app.Shelves.Get(ctx, adminID, 1); after != entryBefore {
		t.Errorf("a refused PUT changed the entry: %+v, was %+v", after, entryBefore)
	}
	if after, _ := env.app.Catalog.Get(ctx, 3); after != bookBefore {
		t.Errorf("a refused PATCH changed the book: %+v, was %+v", after, bookBefore)
	}
	if n, _ := env.app.Catalog.Count(ctx); n != booksBefore {
		t.Errorf("a refused POST added a book: %d, was %d", n, booksBefore)
	}

	// Wrong types are named with the type expected.
	r := callAPI(t, env, auth, apiRequest{method: http.MethodPut, path: "/api/v1/shelves/1", body: `{"shelf":"read","rating":"5"}`})
	if p := r.problem(t); !strings.Contains(p.Errors[0].Detail, "integer") || !strings.Contains(p.Errors[0].Detail, "string") {
		t.Errorf("the wrong type is not explained: %+v", p)
	}
	// A problem lists every bad field at once.
	r = callAPI(t, env, auth, apiRequest{method: http.MethodPut, path: "/api/v1/shelves/1", body: `{"shelf":"x","rating":9,"colour":1}`})
	if p := r.problem(t); len(p.Errors) != 3 {
		t.Errorf("want three field problems: %+v", p)
	}
}

func hasFieldProblem(p problem, field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

// PUT moves, rates and notes in one go; left-out fields are kept, null
// clears; DELETE takes the book off.
func TestAPIShelvesWrite(t *testing.T) { testAPIShelvesWrite(t, newAPITestEnv(t)) }

func testAPIShelvesWrite(t *testing.T, env *testEnv) {
	env.register("reader@example.com")
	_, secret := env.newPAT("reader@example.com", 0, apitokens.ShelvesRead, apitokens.ShelvesWrite)
	auth := "Bearer " + secret
	put := func(path, body string, status int) apiShelfEntry {
		t.Helper()
		r := callAPI(t, env, auth, apiRequest{method: http.MethodPut, path: path, body: body})
		if r.status != status {
			t.Fatalf("PUT %s %s: %d, want %d: %s", path, body, r.status, status, r.body)
		}
		var e apiShelfEntry
		r.decode(t, &e)
		return e
	}
	e := put("/api/v1/shelves/1", `{"shelf":"want-to-read"}`, http.StatusCreated)
	if e.Shelf != "want-to-read" || e.Rating != nil || e.Note != "" || e.Book.ID != 1 {
		t.Fatalf("%+v", e)
	}
	e = put("/api/v1/shelves/1", `{"shelf":"read","rating":4,"note":"  Good.\r\nVery. "}`, http.StatusOK)
	if e.Shelf != "read" || e.Rating == nil || *e.Rating != 4 || e.Note != "Good.\nVery." {
		t.Fatalf("%+v", e)
	}
	e = put("/api/v1/shelves/1", `{"shelf":"reading"}`, http.StatusOK)
	if e.Shelf != "reading" || e.Rating == nil || *e.Rating != 4 || e.Note != "Good.\nVery." {
		t.Fatalf("left-out fields not kept: %+v", e)
	}
	e = put("/api/v1/shelves/1", `{"shelf":"reading","rating":null,"note":null}`, http.StatusOK)
	if e.Rating != nil || e.Note != "" {
		t.Fatalf("null did not clear: %+v", e)
	}
	put("/api/v1/shelves/2", `{"shelf":"read","rating":5}`, http.StatusCreated)
	if r := callAPI(t, env, auth, apiRequest{method: http.MethodPut, path: "/api/v1/shelves/9999", body: `{"shelf":"read"}`}); r.status != http.StatusNotFound {
		t.Errorf("PUT of an unknown book: %d %s", r.status, r.body)
	}

	var list struct {
		Counts map[string]int  `json:"counts"`
		Total  int             `json:"total"`
		Items  []apiShelfEntry `json:"items"`
		Next   *string         `json:"next"`
	}
	callAPI(t, env, auth, apiRequest{method: http.MethodGet, path: "/api/v1/shelves?sort=rating"}).decode(t, &list)
	if list.Counts["reading"] != 1 || list.Counts["read"] != 1 || list.Counts["want-to-read"] != 0 || list.Total != 2 ||
		len(list.Items) != 2 || list.Items[0].Book.ID != 2 || list.Next != nil {
		t.Fatalf("%+v", list)
	}
	callAPI(t, env, auth, apiRequest{method: http.MethodGet, path: "/api/v1/shelves?shelf=read&per_page=1"}).decode(t, &list)
	if list.Total != 1 || len(list.Items) != 1 || list.Items[0].Shelf != "read" {
		t.Fatalf("%+v", list)
	}
	callAPI(t, env, auth, apiRequest{method: http.MethodGet, path: "/api/v1/shelves?per_page=1"}).decode(t, &list)
	if list.Next == nil || *list.Next != "/api/v1/shelves?page=2&per_page=1" {
		t.Fatalf("next: %+v", list.Next)
	}
	callAPI(t, env, auth, apiRequest{method: http.MethodGet, path: "/api/v1/shelves?q=chamber"}).decode(t, &list)
	if list.Total != 1 || list.Items[0].Book.ID != 2 {
		t.Fatalf("q: %+v", list)
	}
	for _, q := range []string{"shelf=x", "sort=newest", "page=0", "per_page=101", "q=" + strings.Repeat("a", 201), "colour=red"} {
		if r := callAPI(t, env, auth, apiRequest{method: http.MethodGet, path: "/api/v1/shelves?" + q}); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d", q, r.status)
		}
	}

	if r := callAPI(t, env, auth, apiRequest{method: http.MethodDelete, path: "/api/v1/shelves/1"}); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r := callAPI(t, env, auth, apiRequest{method: http.MethodDelete, path: "/api/v1/shelves/1"}); r.status != http.StatusNotFound {
		t.Fatalf("DELETE again: %d %s", r.status, r.body)
	}
}

// Admins add and edit books; a book like another is added with a warning.
func TestAPIBooksWrite(t *testing.T) { testAPIBooksWrite(t, newAPITestEnv(t)) }

func testAPIBooksWrite(t *testing.T, env *testEnv) {
	env.register("admin@example.com")
	if _, err := env.db.Write.Exec(`UPDATE users SET is_admin = true WHERE email = 'admin@example.com'`); err != nil {
		t.Fatal(err)
	}
	_, secret := env.newPAT("admin@example.com", 0, apitokens.BooksWrite)
	auth := "Bearer " + secret
	// Searched before the change, so a cached page would be stale after.
	var sp searchPageJSON
	callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?q=hobbit"}).decode(t, &sp)
	callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?q=back+again"}).decode(t, &sp)
	r := callAPI(t, env, auth, apiRequest{method: http.MethodPost, path: "/api/v1/books",
		body: `{"title":"The Hobbit","authors":"J.R.R. Tolkien","isbn":"0-261-10221-4","year":1991}`})
	if r.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	var w apiBookWritten
	r.decode(t, &w)
	if w.Book.ISBN13 == nil || *w.Book.ISBN13 != "9780261102217" || len(w.PossibleDuplicates) != 1 || w.PossibleDuplicates[0].ID != 3 ||
		r.header.Get("Location") != w.Book.Href {
		t.Fatalf("%+v %q", w, r.header.Get("Location"))
	}
	// Search shows it at once.
	callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?q=hobbit"}).decode(t, &sp)
	if sp.Total != 2 {
		t.Fatalf("search after POST: %+v", sp)
	}
	r = callAPI(t, env, auth, apiRequest{method: http.MethodPatch, path: w.Book.Href, body: `{"title":"The Hobbit, or There and Back Again","year":null}`})
	if r.status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	r.decode(t, &w)
	if w.Book.Title != "The Hobbit, or There and Back Again" || w.Book.Year != nil || w.Book.ISBN13 == nil || len(w.PossibleDuplicates) != 0 {
		t.Fatalf("%+v", w)
	}
	callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?q=back+again"}).decode(t, &sp)
	if sp.Total != 1 || sp.Items[0].ID != w.Book.ID {
		t.Fatalf("search after PATCH: %+v", sp)
	}
	if r := callAPI(t, env, auth, apiRequest{method: http.MethodPatch, path: "/api/v1/books/9999", body: `{"year":1}`}); r.status != http.StatusNotFound {
		t.Errorf("PATCH of an unknown book: %d %s", r.status, r.body)
	}
	// An ISBN another book has (the one added above) is a field problem.
	r = callAPI(t, env, auth, apiRequest{method: http.MethodPost, path: "/api/v1/books", body: `{"title":"X","authors":"Y","isbn":"9780261102217"}`})
	if r.status != http.StatusUnprocessableEntity || !hasFieldProblem(r.problem(t), "isbn") {
		t.Errorf("a taken ISBN: %d %s", r.status, r.body)
	}
}

// appendJSONString writes what encoding/json writes, for any string.
func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	check := func(s string) bool {
		want, _ := json.Marshal(s)
		return string(appendJSONString(nil, s)) == string(want)
	}
	for _, s := range []string{"", "plain", `"quoted" \ back`, "<a href='x'>&amp;</a>", "tab\tnew\nline\rcr\b\f",
		"\x00\x01\x1f\x7f", "é ü 中文 🙂", "\u2028\u2029", "bad \xff utf8 \xc3", "\xed\xa0\x80 surrogate"} {
		if !check(s) {
			t.Errorf("%q: %s, want %s", s, appendJSONString(nil, s), mustMarshal(s))
		}
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 5000}); err != nil {
		t.Error(err)
	}
	bytesCheck := func(b []byte) bool { return check(string(b)) }
	if err := quick.Check(bytesCheck, &quick.Config{MaxCount: 5000}); err != nil {
		t.Error(err)
	}
	for _, f := range []float64{0, 1, 4.47, 3.999999, 1e-7, 123456789, 1e21, 2.5e-10, -0.5} {
		want, _ := json.Marshal(f)
		if got := appendJSONFloat(nil, f); string(got) != string(want) {
			t.Errorf("%v: %s, want %s", f, got, want)
		}
	}
}

func mustMarshal(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
