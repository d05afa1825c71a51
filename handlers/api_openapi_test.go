package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"shelf/components/paths"
	"shelf/store/apitokens"
)

// The OpenAPI document is checked with kin-openapi, which loads and
// validates OpenAPI 3.1 documents and validates responses against them
// with a JSON Schema 2020-12 validator (openapi3filter enables it for 3.1
// documents).

var (
	openAPIOnce   sync.Once
	openAPIDoc    *openapi3.T
	openAPIRouter routers.Router
	openAPIErr    error
)

func loadOpenAPI(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	openAPIOnce.Do(func() {
		// The problem types' page is HTML: its body is checked as a string.
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		loader := openapi3.NewLoader()
		openAPIDoc, openAPIErr = loader.LoadFromData(openAPIDocument)
		if openAPIErr != nil {
			return
		}
		if openAPIErr = openAPIDoc.Validate(context.Background()); openAPIErr != nil {
			return
		}
		// The document's server is relative ("/"); requests are matched
		// against the test's host.
		openAPIDoc.Servers = openapi3.Servers{{URL: "http://shelf.test"}}
		openAPIRouter, openAPIErr = legacy.NewRouter(openAPIDoc)
	})
	if openAPIErr != nil {
		t.Fatalf("OpenAPI document: %v", openAPIErr)
	}
	return openAPIDoc, openAPIRouter
}

// TestOpenAPIDocumentIsValid31 loads the served document as OpenAPI 3.1
// and validates it, and checks that every route of the API is in it, with
// every method, and nothing more.
func TestOpenAPIDocumentIsValid31(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	if !doc.IsOpenAPI31OrLater() || doc.IsOpenAPI32OrLater() {
		t.Fatalf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	env := newTestEnv(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	// The access-token routes (api_jwt.go) are served beside the table.
	served := map[string]bool{"POST " + paths.APIToken: true, "GET " + paths.JWKS: true, "HEAD " + paths.JWKS: true}
	for _, rt := range env.app.apiRouteTable() {
		path := openAPIPath(rt.path)
		served[rt.method+" "+path] = true
		if rt.method == http.MethodGet {
			served["HEAD "+path] = true
		}
	}
	// Routes under the API's prefix that are not in the table (the token
	// exchange) are served all the same.
	for _, r := range env.app.echo.Routes() {
		if isAPIPath(r.Path) {
			served[r.Method+" "+openAPIPath(r.Path)] = true
		}
	}
	for k := range served {
		if !documented[k] {
			t.Errorf("%s is served but not documented", k)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("%s is documented but not served", k)
		}
	}
	// Each operation's security names the scope the route needs (public
	// routes also allow no credentials), and admin routes say so.
	for _, rt := range env.app.apiRouteTable() {
		op := doc.Paths.Find(openAPIPath(rt.path)).GetOperation(rt.method)
		if op == nil || op.Security == nil {
			t.Errorf("%s %s: no operation or no security", rt.method, rt.path)
			continue
		}
		var got []string
		for _, req := range *op.Security {
			if len(req) == 0 {
				got = append(got, "anonymous")
			}
			for scheme, scopes := range req {
				got = append(got, scheme+":"+strings.Join(scopes, ","))
			}
		}
		slices.Sort(got)
		want := []string{"anonymous", "basic:", "bearer:"}
		if rt.scope != "" {
			want = []string{"basic:" + string(rt.scope), "bearer:" + string(rt.scope)}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s %s: security %v, want %v", rt.method, rt.path, got, want)
		}
		if rt.scope != "" && !strings.Contains(op.Description, string(rt.scope)) {
			t.Errorf("%s %s: the description does not name %s", rt.method, rt.path, rt.scope)
		}
		if rt.admin != strings.Contains(op.Description, "admin") {
			t.Errorf("%s %s: admin %v, description %q", rt.method, rt.path, rt.admin, op.Description)
		}
	}
	// Bodies the API takes are closed: unknown fields are refused, as the
	// document says.
	for name, s := range doc.Components.Schemas {
		if s.Value.Type.Is("object") && (s.Value.AdditionalProperties.Has == nil || *s.Value.AdditionalProperties.Has) &&
			len(s.Value.Properties) > 0 {
			t.Errorf("schema %s allows additional properties", name)
		}
	}
	// The document is served as it is embedded.
	p := env.browser().get("/api/v1/openapi.json").wantStatus(t, http.StatusOK)
	if p.body != string(openAPIDocument) || !strings.HasPrefix(p.header.Get("Content-Type"), "application/json") {
		t.Errorf("served document differs, or Content-Type %q", p.header.Get("Content-Type"))
	}
	// The About page links it.
	env.browser().get("/about").wantStatus(t, http.StatusOK).wantContains(t, `href="/api/v1/openapi.json"`)
}

// openAPIPath turns an echo pattern (/books/:id) into OpenAPI's
// (/books/{id}).
func openAPIPath(pattern string) string {
	parts := strings.Split(pattern, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// apiAnswer is an API answer as a test sees it.
type apiAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (r apiAnswer) problem(t testing.TB) problem {
	t.Helper()
	var p problem
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem %s: %v", r.body, err)
	}
	return p
}

func (r apiAnswer) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiRequest is a request the tests send to the API.
type apiRequest struct {
	method, path string
	body         string
	contentType  string // application/json when a body is sent, unless set
	header       []string
}

// callAPI sends req with the given Authorization (none when empty) and
// checks the answer against the OpenAPI document: every answer of the
// API's documented routes a test sees is validated, errors included.
func callAPI(t testing.TB, env *testEnv, authorization string, req apiRequest) apiAnswer {
	t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	hr, err := http.NewRequest(req.method, env.srv.URL+req.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.body != "" {
		ct := req.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if authorization != "" {
		hr.Header.Set("Authorization", authorization)
	}
	for i := 0; i+1 < len(req.header); i += 2 {
		hr.Header.Set(req.header[i], req.header[i+1])
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := apiAnswer{status: resp.StatusCode, header: resp.Header, body: raw}
	if out.status >= 500 && out.status != http.StatusServiceUnavailable { // 503: the search index is not built yet
		t.Errorf("%s %s: status %d: %s", req.method, shorten(req.path), out.status, raw)
	}
	checkAgainstOpenAPI(t, req, out)
	return out
}

// checkAgainstOpenAPI validates a response of a documented route. Paths
// the document does not have (404s) are checked to be problems.
func checkAgainstOpenAPI(t testing.TB, req apiRequest, resp apiAnswer) {
	t.Helper()
	_, router := loadOpenAPI(t)
	u, _ := url.Parse("http://shelf.test" + req.path)
	hr := &http.Request{Method: req.method, URL: u, Header: http.Header{}}
	route, params, err := router.FindRoute(hr)
	if err != nil {
		// Not a documented operation: an unknown path, or a method the
		// path does not take. Either way the answer is a problem.
		if resp.status != http.StatusNotFound && resp.status != http.StatusMethodNotAllowed && req.method != http.MethodOptions {
			t.Errorf("%s %s: undocumented, yet answered %d", req.method, shorten(req.path), resp.status)
		}
		if req.method != http.MethodOptions && req.method != http.MethodHead {
			resp.problem(t)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  resp.status,
		Header:  resp.header,
		Body:    io.NopCloser(bytes.NewReader(resp.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: answer %d does not match the OpenAPI document: %v\nbody: %s", req.method, shorten(req.path), resp.status, err, resp.body)
	}
}

// shorten cuts long paths (10 KB queries) for messages.
func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// recordingTB records the failures a check reports instead of failing.
type recordingTB struct {
	testing.TB
	failures []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// The check of answers against the document fails on answers that do not
// match it.
func TestOpenAPICheckCatchesMismatches(t *testing.T) {
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}}
	book := `{"id":1,"title":"T","authors":"A","year":1999,"isbn13":null,"language":"en","average_rating":4,"ratings_count":1,"href":"/api/v1/books/1"}`
	good := apiAnswer{status: http.StatusOK, header: jsonHeader, body: []byte(book)}
	rec := &recordingTB{TB: t}
	checkAgainstOpenAPI(rec, apiRequest{method: http.MethodGet, path: "/api/v1/books/1"}, good)
	if len(rec.failures) != 0 {
		t.Fatalf("a good answer failed: %v", rec.failures)
	}
	for what, a := range map[string]apiAnswer{
		"an extra field":         {status: http.StatusOK, header: jsonHeader, body: []byte(strings.Replace(book, `"id":1,`, `"id":1,"extra":true,`, 1))},
		"a year as a string":     {status: http.StatusOK, header: jsonHeader, body: []byte(strings.Replace(book, `1999`, `"1999"`, 1))},
		"a missing field":        {status: http.StatusOK, header: jsonHeader, body: []byte(strings.Replace(book, `"title":"T",`, ``, 1))},
		"an undocumented code":   {status: http.StatusTeapot, header: problemHeader, body: []byte(`{"type":"about:blank","title":"x","status":418}`)},
		"a problem sans title":   {status: http.StatusNotFound, header: problemHeader, body: []byte(`{"type":"about:blank","status":404}`)},
		"an error as plain JSON": {status: http.StatusNotFound, header: jsonHeader, body: []byte(`{"type":"about:blank","title":"x","status":404}`)},
	} {
		rec := &recordingTB{TB: t}
		checkAgainstOpenAPI(rec, apiRequest{method: http.MethodGet, path: "/api/v1/books/1"}, a)
		if len(rec.failures) == 0 {
			t.Errorf("%s passed the check", what)
		}
	}
}

// The access-token exchange and the key set answer as the document says,
// successes and refusals alike.
func TestOpenAPIAccessTokenRoutes(t *testing.T) {
	env := newTestEnv(t)
	env.register("reader@example.com")
	_, secret := env.newPAT("reader@example.com", 0, apitokens.BooksRead)

	ok := callAPI(t, env, "Bearer "+secret, apiRequest{method: http.MethodPost, path: paths.APIToken})
	if ok.status != http.StatusOK {
		t.Fatalf("exchange: %d %s", ok.status, ok.body)
	}
	var tr tokenResponse
	ok.decode(t, &tr)
	for _, tc := range []struct {
		name, authorization string
		want                int
	}{
		{"no credentials", "", http.StatusUnauthorized},
		{"a malformed token", "Bearer shelf_pat_nope", http.StatusUnauthorized},
		{"an access token", "Bearer " + tr.AccessToken, http.StatusUnauthorized},
	} {
		if r := callAPI(t, env, tc.authorization, apiRequest{method: http.MethodPost, path: paths.APIToken}); r.status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, r.status, tc.want)
		}
	}
	if r := callAPI(t, env, "", apiRequest{method: http.MethodPost, path: paths.APIToken + "?access_token=" + secret}); r.status != http.StatusBadRequest {
		t.Errorf("a token in the query: %d, want 400", r.status)
	}

	keys := callAPI(t, env, "", apiRequest{method: http.MethodGet, path: paths.JWKS})
	if keys.status != http.StatusOK || !bytes.Contains(keys.body, []byte(`"kty":"OKP"`)) {
		t.Fatalf("jwks: %d %s", keys.status, keys.body)
	}
	callAPI(t, env, "", apiRequest{method: http.MethodHead, path: paths.JWKS})
}
