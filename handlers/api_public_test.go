package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"shelf/store/catalog"
	"shelf/store/search"
)

// apiTestBooks are the books the API tests' catalog holds: ids 1…n.
func apiTestBooks() []catalog.Book {
	books := []catalog.Book{
		{Title: "Harry Potter and the Philosopher's Stone", Authors: "J.K. Rowling", Year: 1997, ISBN13: "9780747532699", Language: "eng", AverageRating: 4.47, RatingsCount: 4602479},
		{Title: "Harry Potter and the Chamber of Secrets", Authors: "J.K. Rowling", Year: 1998, AverageRating: 4.37, RatingsCount: 1779331},
		{Title: "The Hobbit", Authors: "J.R.R. Tolkien", Year: 1937, ISBN13: "9780618260300", Language: "en-US", AverageRating: 4.25, RatingsCount: 2071616},
		{Title: `Quotes "and" <tags> & Ünïcödé`, Authors: "Tëst Äuthor", AverageRating: 3, RatingsCount: 10},
	}
	for i := range 45 {
		books = append(books, catalog.Book{Title: fmt.Sprintf("Harry Hole %d", i), Authors: "Jo Nesbø", Year: 2000 + i%20, RatingsCount: int64(1000 - i)})
	}
	return books
}

func newAPITestEnv(t testing.TB) *testEnv {
	t.Helper()
	env := newTestEnv(t)
	env.addBooks(apiTestBooks()...)
	return env
}

type searchPageJSON struct {
	Query              string `json:"query"`
	Page               int    `json:"page"`
	PerPage            int    `json:"per_page"`
	Total              int64  `json:"total"`
	TotalCapped        bool   `json:"total_capped"`
	ApproximateMatches bool   `json:"approximate_matches"`
	OnlyApproximate    bool   `json:"only_approximate_matches"`
	Items              []struct {
		ID            int64   `json:"id"`
		Title         string  `json:"title"`
		Authors       string  `json:"authors"`
		Year          *int    `json:"year"`
		AverageRating float64 `json:"average_rating"`
		RatingsCount  int64   `json:"ratings_count"`
		Href          string  `json:"href"`
	} `json:"items"`
	Next       *string `json:"next"`
	Suggestion string  `json:"suggestion"`
}

// The API's search finds what the page finds, in the same order, and
// pages through it at any page size.
func TestAPISearchMatchesThePage(t *testing.T) {
	env := newAPITestEnv(t)
	for _, q := range []string{"", "harry", "harry pot", "rowling", "hobit", "ünïcödé", "zzqqxx"} {
		var all []int64
		next := apiSearchLink(q, 1, apiDefaultPerPage)
		for pages := 0; next != ""; pages++ {
			var sp searchPageJSON
			callAPI(t, env, "", apiRequest{method: http.MethodGet, path: next}).decode(t, &sp)
			for _, it := range sp.Items {
				all = append(all, it.ID)
			}
			next = ""
			if sp.Next != nil {
				next = *sp.Next
			}
			if pages > 60 {
				t.Fatalf("%q: no end of pages", q)
			}
		}
		var want []int64
		for p := 1; ; p++ {
			r, err := env.app.Search.Search(t.Context(), q, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range r.Hits {
				want = append(want, h.ID)
			}
			if !r.HasMore {
				break
			}
		}
		if fmt.Sprint(all) != fmt.Sprint(want) {
			t.Errorf("%q: API %v, page %v", q, all, want)
		}
		// Odd page sizes give the same books in the same order.
		for _, perPage := range []int{1, 7, 100} {
			var got []int64
			for page := 1; page <= apiSearchPages(perPage); page++ {
				var sp searchPageJSON
				callAPI(t, env, "", apiRequest{method: http.MethodGet, path: apiSearchLink(q, page, perPage)}).decode(t, &sp)
				if len(sp.Items) > perPage || sp.Page != page || sp.PerPage != perPage {
					t.Fatalf("%q page %d of %d: %+v", q, page, perPage, sp)
				}
				for _, it := range sp.Items {
					got = append(got, it.ID)
				}
				if sp.Next == nil {
					break
				}
				if *sp.Next != apiSearchLink(sp.Query, page+1, perPage) {
					t.Fatalf("next %q", *sp.Next)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%q per_page %d: %v, want %v", q, perPage, got, want)
			}
		}
	}
}

func TestAPISearchAnswer(t *testing.T) {
	env := newAPITestEnv(t)
	r := callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?q=" + url.QueryEscape("  quotes   TAGS ")})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q", r.status, r.header.Get("Content-Type"))
	}
	var sp searchPageJSON
	r.decode(t, &sp)
	if sp.Query != "quotes TAGS" || sp.Total != 1 || len(sp.Items) != 1 || sp.Next != nil {
		t.Fatalf("%+v", sp)
	}
	it := sp.Items[0]
	if it.Title != `Quotes "and" <tags> & Ünïcödé` || it.Year != nil || it.Href != "/api/v1/books/4" || it.AverageRating != 3 {
		t.Errorf("%+v", it)
	}
	if strings.Contains(string(r.body), "<mark>") || strings.Contains(string(r.body), "<tags>") {
		t.Errorf("highlighting or unescaped HTML in %s", r.body)
	}
	// A typo gets a suggestion.
	callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?q=zzqqxx"}).decode(t, &sp)
	if sp.Total != 0 || len(sp.Items) != 0 || sp.Next != nil || sp.OnlyApproximate {
		t.Errorf("%+v", sp)
	}
	// A search nothing matches as typed says so; one with exact matches
	// does not.
	for q, want := range map[string]bool{"harry poter": true, "harry pot": false, "harry": false} {
		sp = searchPageJSON{}
		callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?q=" + url.QueryEscape(q)}).decode(t, &sp)
		if sp.OnlyApproximate != want || sp.Total == 0 || (want && sp.ApproximateMatches) {
			t.Errorf("%q: only_approximate_matches %v approximate_matches %v total %d; want %v",
				q, sp.OnlyApproximate, sp.ApproximateMatches, sp.Total, want)
		}
	}
	// Gzip when asked, the same JSON either way, and HEAD without a body.
	plain := callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?q=harry"})
	gz := callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?q=harry"})
	if string(plain.body) != string(gz.body) || !json.Valid(plain.body) {
		t.Errorf("bodies differ")
	}
	head := callAPI(t, env, "", apiRequest{method: http.MethodHead, path: "/api/v1/books?q=harry"})
	if head.status != http.StatusOK || len(head.body) != 0 {
		t.Errorf("HEAD: %d %q", head.status, head.body)
	}
}

func TestAPIBook(t *testing.T) {
	env := newAPITestEnv(t)
	var b apiBookJSON
	callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books/1"}).decode(t, &b)
	if b.ID != 1 || b.ISBN13 == nil || *b.ISBN13 != "9780747532699" || b.Language == nil || *b.Language != "eng" || b.Year == nil || *b.Year != 1997 {
		t.Errorf("%+v", b)
	}
	callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books/4"}).decode(t, &b)
	if b.ISBN13 != nil || b.Year != nil {
		t.Errorf("%+v", b)
	}
	for path, status := range map[string]int{
		"/api/v1/books/999":                  http.StatusNotFound,
		"/api/v1/books/16777216":             http.StatusNotFound,
		"/api/v1/books/99999999999999999999": http.StatusNotFound,
		"/api/v1/books/abc":                  http.StatusBadRequest,
		"/api/v1/books/01":                   http.StatusBadRequest,
		"/api/v1/books/-1":                   http.StatusBadRequest,
		"/api/v1/books/1?x=1":                http.StatusBadRequest,
		"/api/v1/books/1%20":                 http.StatusBadRequest,
		"/api/v1/no-such-route":              http.StatusNotFound,
	} {
		r := callAPI(t, env, "", apiRequest{method: http.MethodGet, path: path})
		if r.status != status {
			t.Errorf("%s: %d, want %d: %s", path, r.status, status, r.body)
			continue
		}
		if p := r.problem(t); p.Status != status || p.Title == "" || p.Type == "" {
			t.Errorf("%s: %+v", path, p)
		}
	}
}

// Every malformed query is refused with a problem naming the parameter.
func TestAPISearchBadQueries(t *testing.T) {
	env := newAPITestEnv(t)
	long := strings.Repeat("a", 10<<10)
	many := strings.TrimSpace(strings.Repeat("word ", search.MaxQueryWords+1))
	for _, tc := range []struct{ query, field string }{
		{"page=-1", "page"},
		{"page=0", "page"},
		{"page=abc", "page"},
		{"page=1.5", "page"},
		{"page=+2", "page"},
		{"page=51", "page"},
		{"per_page=10&page=101", "page"},
		{"per_page=10000", "per_page"},
		{"per_page=0", "per_page"},
		{"q=" + long, "q"},
		{"q=" + url.QueryEscape(many), "q"},
		{"q=a&q=b", "q"},
		{"page=1&page=2", "page"},
		{"sort=title", "sort"},
	} {
		r := callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?" + tc.query})
		if r.status != http.StatusBadRequest {
			t.Errorf("%.60s: %d, want 400: %s", tc.query, r.status, r.body)
			continue
		}
		p := r.problem(t)
		if len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Detail == "" {
			t.Errorf("%.60s: %+v", tc.query, p)
		}
	}
	// The deepest page of each size is served.
	for _, q := range []string{"page=50", "per_page=100&page=10", "per_page=7&page=143"} {
		if r := callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?" + q}); r.status != http.StatusOK {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}

// Methods a route does not take get 405 with Allow; OPTIONS lists them.
func TestAPIMethods(t *testing.T) {
	env := newAPITestEnv(t)
	for _, tc := range []struct {
		method, path, allow string
	}{
		{http.MethodDelete, "/api/v1/books", "GET, HEAD, POST"},
		{http.MethodPut, "/api/v1/books/1", "GET, HEAD, PATCH"},
		{http.MethodPost, "/api/v1/openapi.json", "GET, HEAD"},
		{http.MethodPost, "/api/v1/shelves", "GET, HEAD"},
	} {
		r := callAPI(t, env, "", apiRequest{method: tc.method, path: tc.path, body: "{}"})
		if r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, r.status, r.body)
			continue
		}
		r.problem(t)
		if !sameMethods(r.header.Get("Allow"), tc.allow) {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, r.header.Get("Allow"), tc.allow)
		}
		o := callAPI(t, env, "", apiRequest{method: http.MethodOptions, path: tc.path})
		if o.status != http.StatusNoContent || !sameMethods(o.header.Get("Allow"), tc.allow) {
			t.Errorf("OPTIONS %s: %d Allow %q", tc.path, o.status, o.header.Get("Allow"))
		}
	}
}

// sameMethods compares two Allow lists, ignoring order and OPTIONS.
func sameMethods(got, want string) bool {
	set := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" && f != http.MethodOptions {
				m[f] = true
			}
		}
		return m
	}
	return fmt.Sprint(set(got)) == fmt.Sprint(set(want))
}

// Every problem type the code answers with is on the page types point
// into, and the page has an entry for each.
func TestAPIProblemTypesDocumented(t *testing.T) {
	documented := map[string]bool{}
	for _, p := range apiProblemTypes {
		documented[p.Name] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`Type: *"([a-z-]+)"|badRequest\("([a-z-]+)"|authProblem\(c, [^,]+, "[a-z_]+", "([a-z-]+)"`)
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(src), -1) {
			name := m[1] + m[2] + m[3]
			found++
			if !documented[name] {
				t.Errorf("%s: problem type %q is not documented in apiProblemTypes", f, name)
			}
		}
	}
	if found < 10 {
		t.Fatalf("only %d problem types found in the code", found)
	}
	env := newTestEnv(t)
	r := callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/problems"})
	for name := range documented {
		if !strings.Contains(string(r.body), `id="`+name+`"`) {
			t.Errorf("the problems page has no entry %s", name)
		}
	}
}

// The API's search pages keep the default the OpenAPI document states,
// whatever the page's size (search.PerPage) is.
func TestAPISearchDefaultPageSize(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	op := doc.Paths.Find("/api/v1/books").Get
	p := op.Parameters.GetByInAndName("query", "per_page")
	if p == nil || p.Schema == nil || p.Schema.Value == nil || p.Schema.Value.Default == nil {
		t.Fatal("GET /api/v1/books documents no default per_page")
	}
	documented := fmt.Sprint(p.Schema.Value.Default)
	env := newAPITestEnv(t)
	var books []catalog.Book
	for i := range 45 {
		books = append(books, catalog.Book{Title: fmt.Sprintf("Alpha Book %d", i), Authors: "Writer", RatingsCount: int64(100 - i)})
	}
	env.addBooks(books...)
	var sp searchPageJSON
	callAPI(t, env, "", apiRequest{method: http.MethodGet, path: "/api/v1/books?q=alpha"}).decode(t, &sp)
	if fmt.Sprint(sp.PerPage) != documented || fmt.Sprint(len(sp.Items)) != documented {
		t.Errorf("per_page %d with %d items; the document says %s", sp.PerPage, len(sp.Items), documented)
	}
}
