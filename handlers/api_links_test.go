package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"shelf/components/paths"
	"shelf/store/apitokens"
)

type apiLinkAnswer struct {
	ID          string `json:"id"`
	ShortURL    string `json:"short_url"`
	Target      string `json:"target"`
	External    bool   `json:"external"`
	Disabled    bool   `json:"disabled"`
	Clicks      int64  `json:"clicks"`
	Href        string `json:"href"`
	ClicksByDay []struct {
		Day    string `json:"day"`
		Clicks int64  `json:"clicks"`
	} `json:"clicks_by_day"`
}

type linkProblem struct {
	problem
	Alternatives []string `json:"alternatives"`
}

func (r apiAnswer) linkProblem(t *testing.T) linkProblem {
	t.Helper()
	r.problem(t) // the content type
	var p linkProblem
	r.decode(t, &p)
	return p
}

func TestAPILinks(t *testing.T) { testAPILinks(t, newTestEnv(t)) }

func testAPILinks(t *testing.T, env *testEnv) {
	env.register("linker@example.org")
	_, secret := env.newPAT("linker@example.org", 0, apitokens.LinksRead, apitokens.LinksWrite)
	auth := "Bearer " + secret
	call := func(method, path, body string) apiAnswer {
		t.Helper()
		return callAPI(t, env, auth, apiRequest{method: method, path: path, body: body})
	}

	r := call(http.MethodPost, paths.APILinks, `{"target":"https://example.com/a review","id":"Review"}`)
	if r.status != http.StatusCreated || r.header.Get("Location") != "/api/v1/links/Review" {
		t.Fatalf("create: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	var made apiLinkAnswer
	r.decode(t, &made)
	if made.ID != "Review" || made.ShortURL != "http://shelf.test/s/Review" || made.Target != "https://example.com/a%20review" || !made.External || made.Disabled {
		t.Errorf("made %+v", made)
	}
	// A generated id, to one of Shelf's pages.
	env.clock.Advance(time.Second)
	r = call(http.MethodPost, paths.APILinks, `{"target":"/books/1","id":null}`)
	var own apiLinkAnswer
	r.decode(t, &own)
	if r.status != http.StatusCreated || own.External || own.Target != "http://shelf.test/books/1" || len(own.ID) < 4 {
		t.Fatalf("generated: %d %s", r.status, r.body)
	}

	var list struct{ Items []apiLinkAnswer }
	call(http.MethodGet, paths.APILinks, "").decode(t, &list)
	if len(list.Items) != 2 || list.Items[0].ID != own.ID || list.Items[1].ID != "Review" {
		t.Errorf("list %+v", list.Items)
	}

	env.app.Links.CountClick("review")
	env.app.Links.CountClick("review")
	if err := env.app.Links.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var one apiLinkAnswer
	call(http.MethodGet, "/api/v1/links/review", "").decode(t, &one)
	today := env.clock.Now().UTC().Format("2006-01-02")
	if one.ID != "Review" || one.Clicks != 2 || len(one.ClicksByDay) != 30 || one.ClicksByDay[29].Day != today || one.ClicksByDay[29].Clicks != 2 {
		t.Errorf("one %+v", one)
	}

	r = call(http.MethodPatch, "/api/v1/links/Review", `{"disabled":true}`)
	r.decode(t, &one)
	if r.status != http.StatusOK || !one.Disabled || !env.link("review").Disabled {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	env.browser().get("/s/Review").wantStatus(t, http.StatusGone)
	if r = call(http.MethodPatch, "/api/v1/links/Review", `{"disabled":false}`); r.status != http.StatusOK || env.link("review").Disabled {
		t.Fatalf("enable: %d %s", r.status, r.body)
	}

	if r = call(http.MethodDelete, "/api/v1/links/Review", ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		if r = call(m, "/api/v1/links/Review", ""); r.status != http.StatusNotFound {
			t.Errorf("%s a deleted link: %d", m, r.status)
		}
	}
	if r = call(http.MethodPatch, "/api/v1/links/Review", `{"disabled":true}`); r.status != http.StatusNotFound {
		t.Errorf("patch a deleted link: %d", r.status)
	}
}

// Creating refuses what the form refuses, with the form's messages.
func TestAPILinkCreateRefusals(t *testing.T) {
	env := newTestEnv(t)
	env.register("ann@example.org")
	env.newLink("ann@example.org", "https://example.com/", "taken")
	_, secret := env.newPAT("ann@example.org", 0, apitokens.LinksWrite)
	create := func(body string) apiAnswer {
		t.Helper()
		return callAPI(t, env, "Bearer "+secret, apiRequest{method: http.MethodPost, path: paths.APILinks, body: body})
	}
	_, _, jsMessage := env.app.Links.CheckTarget("javascript:alert(1)")
	for _, tc := range []struct {
		body   string
		status int
		field  string
		detail string
	}{
		{`{"target":"javascript:alert(1)"}`, http.StatusUnprocessableEntity, "target", jsMessage},
		{`{"target":"https://user:pw@example.com/"}`, http.StatusUnprocessableEntity, "target", ""},
		{`{"target":"https://example.com/","id":"a b"}`, http.StatusUnprocessableEntity, "id", env.app.Links.CheckID("a b")},
		{`{"target":"https://example.com/","id":"api"}`, http.StatusUnprocessableEntity, "id", env.app.Links.CheckID("api")},
		{`{"target":"https://example.com/","id":"TAKEN"}`, http.StatusConflict, "id", takenMessage("TAKEN")},
		{`{"id":"fresh"}`, http.StatusUnprocessableEntity, "target", "is required"},
		{`{"target":"https://example.com/","id":7}`, http.StatusUnprocessableEntity, "id", "must be a string or null, not an integer"},
		{`{"target":"https://example.com/","title":"x"}`, http.StatusUnprocessableEntity, "title", ""},
	} {
		r := create(tc.body)
		if r.status != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.body, r.status, tc.status, r.body)
			continue
		}
		p := r.linkProblem(t)
		if len(p.Errors) != 1 || p.Errors[0].Field != tc.field || tc.detail != "" && p.Errors[0].Detail != tc.detail {
			t.Errorf("%s: errors %+v, want %s: %q", tc.body, p.Errors, tc.field, tc.detail)
		}
		if tc.status == http.StatusConflict && (len(p.Alternatives) != 2 || !strings.HasSuffix(p.Type, "#id-taken")) {
			t.Errorf("taken: %+v", p)
		}
	}
	if list, _ := env.app.Links.List(context.Background(), env.user("ann@example.org").ID); len(list) != 1 {
		t.Errorf("%d links after refusals", len(list))
	}
}

// The daily limit is the form's, counted with it, and said the same way.
func TestAPILinkCreateLimit(t *testing.T) {
	env := newTestEnvWith(t, func(_ *Deps, s *Settings) { s.LinksPerDay = 2 })
	b := env.register("ann@example.org")
	_, secret := env.newPAT("ann@example.org", 0, apitokens.LinksWrite)
	create := func() apiAnswer {
		return callAPI(t, env, "Bearer "+secret, apiRequest{method: http.MethodPost, path: paths.APILinks, body: `{"target":"https://example.com/"}`})
	}
	create().decode(t, &apiLinkAnswer{})
	b.get(paths.LinkNew)
	if p := b.post(paths.LinkNew, map[string][]string{"target": {"https://example.org/"}}); p.status != http.StatusSeeOther {
		t.Fatalf("the form's link: %d", p.status)
	}
	r := create()
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("third link: %d %s", r.status, r.body)
	}
	p := r.linkProblem(t)
	if !strings.HasSuffix(p.Type, "#too-many-links") || !strings.HasPrefix(p.Detail, "You have made as many links as Shelf allows in a day (2 per reader") {
		t.Errorf("problem %+v", p)
	}
}

// Another reader's link is a 404 to every route, and does not change.
func TestAPILinksAreTheOwnersAlone(t *testing.T) {
	env := newTestEnv(t)
	env.register("ann@example.org")
	env.newLink("ann@example.org", "https://example.com/", "anns")
	env.register("bob@example.org")
	_, secret := env.newPAT("bob@example.org", 0, apitokens.LinksRead, apitokens.LinksWrite)
	for _, req := range []apiRequest{
		{method: http.MethodGet, path: "/api/v1/links/anns"},
		{method: http.MethodHead, path: "/api/v1/links/anns"},
		{method: http.MethodPatch, path: "/api/v1/links/anns", body: `{"disabled":true}`},
		{method: http.MethodDelete, path: "/api/v1/links/anns"},
	} {
		if r := callAPI(t, env, "Bearer "+secret, req); r.status != http.StatusNotFound {
			t.Errorf("%s %s: %d", req.method, req.path, r.status)
		}
	}
	var list struct{ Items []apiLinkAnswer }
	callAPI(t, env, "Bearer "+secret, apiRequest{method: http.MethodGet, path: paths.APILinks}).decode(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("bob lists %+v", list.Items)
	}
	if l := env.link("anns"); l.Disabled || l.Deleted {
		t.Errorf("changed: %+v", l)
	}
}

// A token without links:write may read links but not change them, and is
// told which scope it lacks.
func TestAPILinkScopes(t *testing.T) {
	env := newTestEnv(t)
	env.register("ann@example.org")
	env.newLink("ann@example.org", "https://example.com/", "mine")
	_, readOnly := env.newPAT("ann@example.org", 0, apitokens.LinksRead, apitokens.ShelvesWrite)
	for _, req := range []apiRequest{
		{method: http.MethodPost, path: paths.APILinks, body: `{"target":"https://example.com/"}`},
		{method: http.MethodPatch, path: "/api/v1/links/mine", body: `{"disabled":true}`},
		{method: http.MethodDelete, path: "/api/v1/links/mine"},
	} {
		r := callAPI(t, env, "Bearer "+readOnly, req)
		if r.status != http.StatusForbidden || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="insufficient_scope", scope="links:write"`) {
			t.Errorf("%s %s: %d %s", req.method, req.path, r.status, r.header.Get("WWW-Authenticate"))
			continue
		}
		if p := r.problem(t); !strings.HasSuffix(p.Type, "#insufficient-scope") || !strings.Contains(p.Detail, "links:write") {
			t.Errorf("%s %s: %+v", req.method, req.path, p)
		}
	}
	if r := callAPI(t, env, "Bearer "+readOnly, apiRequest{method: http.MethodGet, path: "/api/v1/links/mine"}); r.status != http.StatusOK {
		t.Errorf("read with links:read: %d", r.status)
	}
	_, writeOnly := env.newPAT("ann@example.org", 0, apitokens.LinksWrite)
	if r := callAPI(t, env, "Bearer "+writeOnly, apiRequest{method: http.MethodGet, path: paths.APILinks}); r.status != http.StatusForbidden ||
		!strings.Contains(r.header.Get("WWW-Authenticate"), `scope="links:read"`) {
		t.Errorf("list with links:write only: %d %s", r.status, r.header.Get("WWW-Authenticate"))
	}
	if l := env.link("mine"); l.Disabled || l.Deleted {
		t.Errorf("changed: %+v", l)
	}
	list, _ := env.app.Links.List(context.Background(), env.user("ann@example.org").ID)
	if len(list) != 1 {
		t.Errorf("%d links", len(list))
	}
}

func TestAPILinkPatchIsStrict(t *testing.T) {
	env := newTestEnv(t)
	env.register("ann@example.org")
	env.newLink("ann@example.org", "https://example.com/", "mine")
	_, secret := env.newPAT("ann@example.org", 0, apitokens.LinksWrite)
	for body, field := range map[string]string{
		`{"disabled":"yes"}`:             "disabled",
		`{}`:                             "disabled",
		`{"disabled":true,"target":"x"}`: "target",
		`{"disabled":null}`:              "disabled",
	} {
		r := callAPI(t, env, "Bearer "+secret, apiRequest{method: http.MethodPatch, path: "/api/v1/links/mine", body: body})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", body, r.status)
			continue
		}
		if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Errorf("%s: %+v", body, p.Errors)
		}
	}
	if r := callAPI(t, env, "Bearer "+secret, apiRequest{method: http.MethodPatch, path: "/api/v1/links/mine", body: `{"disabled":true}`, contentType: "text/plain"}); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", r.status)
	}
	if env.link("mine").Disabled {
		t.Error("a refused request changed the link")
	}
}

func TestTokenFormOffersTheLinkScopes(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("ann@example.org")
	b.reauth(paths.APITokens)
	b.get(paths.APITokens).wantStatus(t, http.StatusOK).wantContains(t,
		`name="scope" value="links:read"`, "read your short links and their clicks",
		`name="scope" value="links:write"`, "make, disable and delete your short links")
}
