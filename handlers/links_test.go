package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/links"
	"shelf/store/previews"
	"shelf/store/storetest"
)

// linkCount is how many links the database holds.
func linkCount(t *testing.T, env *testEnv) int {
	t.Helper()
	var n int
	if err := env.db.Read.QueryRow(`SELECT count(*) FROM links`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// newLinkForm opens the form, for its CSRF token.
func (b *browser) newLinkForm() *browser {
	b.env.t.Helper()
	b.get("/links/new").wantStatus(b.env.t, http.StatusOK)
	return b
}

func TestLinkCreate(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("ann@example.org").newLinkForm()

	p := b.post("/links/new", url.Values{"target": {"https://Example.com/review"}, "id": {"Hobbit-Review"}})
	if p.status != http.StatusSeeOther || p.location() != "/my-links/Hobbit-Review" {
		t.Fatalf("create: %d %q\n%s", p.status, p.location(), p.body)
	}
	b.get(p.location()).wantStatus(t, http.StatusOK).
		wantContains(t, "http://shelf.test/s/Hobbit-Review", "https://example.com/review")

	// With htmx: HX-Redirect to the same page; a generated id.
	p = b.htmx("/links/new", url.Values{"target": {"/books/12"}, "id": {""}})
	if p.status != http.StatusNoContent || !strings.HasPrefix(p.header.Get("HX-Redirect"), "/my-links/") {
		t.Fatalf("htmx create: %d %v\n%s", p.status, p.header, p.body)
	}
	id := strings.TrimPrefix(p.header.Get("HX-Redirect"), "/my-links/")
	l, ok, err := env.app.Links.Get(context.Background(), id)
	if err != nil || !ok || l.Target != "http://shelf.test/books/12" || l.External || len(id) != links.GeneratedIDLen {
		t.Fatalf("generated link %q: %+v %v %v", id, l, ok, err)
	}

	// The form is prefilled by Share buttons.
	b.get("/links/new?target="+url.QueryEscape("/search?q=tolkien")).wantStatus(t, http.StatusOK).
		wantContains(t, `value="/search?q=tolkien"`)
}

// A short link to Shelf goes to a page Shelf has: an address no route
// answers is refused, in place and on submit, rather than making a link
// to a 404.
func TestLinkToAPageShelfHas(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("ann@example.org").newLinkForm()
	for _, tt := range []struct {
		target string
		ok     bool
	}{
		{"/nowhere/at/all", false},
		{"http://shelf.test/nowhere", false},
		{"/about/more", false},
		{"/logout", false}, // a route, but not a page (POST only)
		{"/", true},
		{"/books/12", true},
		{"/search?q=dune&page=2", true},
		{"http://shelf.test/about", true},
		{"https://example.com/nowhere", true}, // another site: not Shelf's to know
	} {
		before := linkCount(t, env)
		p := b.post("/links/new", url.Values{"target": {tt.target}, "id": {""}})
		refused := p.status == http.StatusUnprocessableEntity && strings.Contains(p.body, "Shelf has no page at this address")
		if tt.ok && (p.status != http.StatusSeeOther || linkCount(t, env) != before+1) {
			t.Errorf("%s: %d, want a link\n%.300s", tt.target, p.status, p.body)
		}
		if !tt.ok && (!refused || linkCount(t, env) != before) {
			t.Errorf("%s: %d, want it refused with a message\n%.300s", tt.target, p.status, p.body)
		}
		b.newLinkForm()
	}
	p := b.htmx("/links/validate/target", url.Values{"target": {"/nowhere/at/all"}})
	if !strings.Contains(p.body, "Shelf has no page at this address") {
		t.Errorf("the field's own check does not say so: %d\n%.300s", p.status, p.body)
	}
}

func TestLinkFormNeedsConfirmedReader(t *testing.T) {
	env := newTestEnv(t)
	if p := env.browser().get("/links/new"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/login") {
		t.Fatalf("anonymous: %d %q", p.status, p.location())
	}
	b := env.signUp("pending@example.org")
	b.signInUnconfirmed("pending@example.org")
	if p := b.get("/links/new"); p.status != http.StatusSeeOther || p.location() != "/check-email" {
		t.Fatalf("unconfirmed: %d %q", p.status, p.location())
	}
	if p := b.post("/links/new", url.Values{"target": {"https://example.com/"}}); p.status != http.StatusSeeOther || linkCount(t, env) != 0 {
		t.Fatalf("unconfirmed create: %d, %d links", p.status, linkCount(t, env))
	}
}

// The three bugs of the classic shortener each fail here.
func TestLinkSeedBugs(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		env := newTestEnvOn(t, db, &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, nil)
		b := env.register("ann@example.org").newLinkForm()

		t.Run("javascript URL", func(t *testing.T) {
			for target, message := range map[string]string{"javascript:alert(document.cookie)": "Only web addresses", "JaVaScRiPt:alert(1)": "Only web addresses",
				"java\tscript:alert(1)": "The address contains control characters", "data:text/html,x": "Only web addresses", "//evil.example/": "Start the address"} {
				p := b.post("/links/new", url.Values{"target": {target}, "id": {"xss"}}).wantStatus(t, http.StatusUnprocessableEntity)
				p.wantContains(t, `id="link-target-error">`+message)
				h := b.htmx("/links/new", url.Values{"target": {target}, "id": {"xss"}}).wantStatus(t, http.StatusUnprocessableEntity)
				if strings.Contains(h.body, "<html") || !strings.Contains(h.body, `id="link-form"`) {
					t.Fatalf("htmx refusal is not the form alone:\n%s", h.body)
				}
			}
			if n := linkCount(t, env); n != 0 {
				t.Fatalf("%d links made", n)
			}
		})

		t.Run("duplicate id", func(t *testing.T) {
			b.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {"dup"}}).wantStatus(t, http.StatusSeeOther)
			for _, id := range []string{"dup", "DUP"} {
				p := b.post("/links/new", url.Values{"target": {"https://example.org/"}, "id": {id}}).wantStatus(t, http.StatusConflict)
				p.wantContains(t, "is taken", `data-id="`+id+`-2"`, `data-id="`+id+`-books"`, `href="/links/new?id=`+id+`-2&amp;target=https%3A%2F%2Fexample.org%2F"`)
				b.htmx("/links/new", url.Values{"target": {"https://example.org/"}, "id": {id}}).
					wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "is taken", id+"-2")
			}
			if n := linkCount(t, env); n != 1 {
				t.Fatalf("%d links", n)
			}
		})

		t.Run("no CSRF token", func(t *testing.T) {
			before := linkCount(t, env)
			p := b.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {"forged"}, "_csrf": {"wrong"}})
			p.wantStatus(t, http.StatusForbidden)
			req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/links/new", strings.NewReader("target=https%3A%2F%2Fexample.com%2F&id=forged2"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			b.do(req).wantStatus(t, http.StatusForbidden)
			if n := linkCount(t, env); n != before {
				t.Fatalf("%d links after forged posts, %d before", n, before)
			}
		})
	})
}

// Each id rule answers the same in place as on submit.
func TestLinkIDChecks(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		env := newTestEnvOn(t, db, &clock{t: time.Now().UTC()}, nil)
		b := env.register("ann@example.org").newLinkForm()
		b.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {"Tolkien"}}).wantStatus(t, http.StatusSeeOther)
		tests := []struct {
			id, message string
			alts        []string
		}{
			{"tolkien", "is taken", []string{"tolkien-2", "tolkien-books"}},
			{"login", "reserved", []string{"login-2", "login-books"}},
			{"search", "reserved", nil}, // a route's first segment
			{"my-books", "reserved", nil},
			{"ab", "at least 3", nil},
			{"a b c", "Use only", nil},
			{"-abc", "Start and end", nil},
			{strings.Repeat("x", 33), "at most 32", nil},
		}
		for _, tt := range tests {
			in := b.htmx("/links/validate/id", url.Values{"id": {tt.id}}).wantStatus(t, http.StatusOK)
			in.wantContains(t, `id="link-id-error"`, tt.message)
			submit := b.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {tt.id}})
			if submit.status != http.StatusUnprocessableEntity && submit.status != http.StatusConflict {
				t.Fatalf("submit %q: %d", tt.id, submit.status)
			}
			submit.wantContains(t, tt.message)
			for _, alt := range tt.alts {
				in.wantContains(t, `data-id="`+alt+`"`)
				submit.wantContains(t, `data-id="`+alt+`"`)
			}
		}
		// A free id: no message.
		in := b.htmx("/links/validate/id", url.Values{"id": {"free-one"}}).wantStatus(t, http.StatusOK)
		if strings.Contains(in.body, "<p>") {
			t.Fatalf("a free id got a message:\n%s", in.body)
		}
		// Picking an alternative swaps the field with it filled in.
		b.htmx("/links/validate/id", url.Values{"id": {"tolkien-2"}}).wantContains(t, `id="link-id-field"`, `value="tolkien-2"`)
		// The target, in place.
		b.htmx("/links/validate/target", url.Values{"target": {"javascript:alert(1)"}}).wantContains(t, "Only web addresses")
		b.htmx("/links/validate/target", url.Values{"target": {"http://192.168.1.1/"}}).wantContains(t, "private")
		b.htmx("/links/validate/nope", url.Values{}).wantStatus(t, http.StatusNotFound)
		if n := linkCount(t, env); n != 1 {
			t.Fatalf("%d links", n)
		}
		// Without JavaScript an alternative is a link to the form with it.
		b.get("/links/new?id=tolkien-2&target="+url.QueryEscape("https://example.com/")).wantStatus(t, http.StatusOK).
			wantContains(t, `value="tolkien-2"`, `value="https://example.com/"`)
		b.get("/links/new?id=Tolkien").wantContains(t, "is taken")
	})
}

// Two readers racing for one id: one link, one "taken" form, no 500.
func TestLinkRace(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		env := newTestEnvOn(t, db, &clock{t: time.Now().UTC()}, func(_ *Deps, s *Settings) { s.LinksPerDay = 1 })
		const n = 6
		browsers := make([]*browser, n)
		for i := range browsers {
			browsers[i] = env.register(fmt.Sprintf("racer%d@example.org", i)).newLinkForm()
		}
		statuses := make([]int, n)
		bodies := make([]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, b := range browsers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				form := url.Values{"target": {"https://example.com/"}, "id": {"contested"}, "_csrf": {b.csrf}}
				req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/links/new", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := b.http.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				buf := make([]byte, 64<<10)
				k, _ := resp.Body.Read(buf)
				bodies[i] = string(buf[:k])
				statuses[i] = resp.StatusCode
			}()
		}
		close(start)
		wg.Wait()
		won, lost := 0, 0
		for i, s := range statuses {
			switch s {
			case http.StatusSeeOther:
				won++
			case http.StatusConflict:
				lost++
			default:
				t.Errorf("racer %d: %d\n%s", i, s, bodies[i])
			}
		}
		if won != 1 || lost != n-1 || linkCount(t, env) != 1 {
			t.Fatalf("%d won, %d lost, %d links", won, lost, linkCount(t, env))
		}
		// Losing counted against no one's limit (one link a day here).
		for i, b := range browsers {
			if statuses[i] == http.StatusConflict {
				b.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {fmt.Sprint("consolation-", i)}}).wantStatus(t, http.StatusSeeOther)
			}
		}
	})
}

// Every route's first segment is reserved, without a list to keep.
func TestLinkIDsReserveRoutes(t *testing.T) {
	env := newTestEnv(t)
	checked := 0
	for _, r := range env.app.echo.Routes() {
		seg, _, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
		if seg == "" || strings.ContainsAny(seg, ":*") {
			continue
		}
		if msg := env.app.Links.CheckID(seg); msg == "" {
			t.Errorf("route %s %s: its first segment %q may be taken as a link id", r.Method, r.Path, seg)
		}
		if msg := env.app.Links.CheckID(strings.ToUpper(seg)); msg == "" {
			t.Errorf("%q in capitals may be taken as a link id", seg)
		}
		checked++
	}
	if checked < 20 {
		t.Fatalf("only %d routes checked", checked)
	}
	// A route added later is reserved too.
	if env.app.Links.CheckID("zz-new-route") != "" {
		t.Fatal("an unrouted id is reserved")
	}
	env.app.echo.GET("/zz-new-route", nil)
	env.app.tellLinksTheRoutes(env.app.echo)
	if env.app.Links.CheckID("zz-new-route") == "" {
		t.Fatal("a new route's segment is not reserved")
	}
}

func TestLinkLimits(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		env := newTestEnvOn(t, db, &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, func(_ *Deps, s *Settings) { s.LinksPerDay, s.LinksPerIPPerDay = 2, 3 })
		ann := env.register("ann@example.org").newLinkForm()
		for i := range 2 {
			ann.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {fmt.Sprint("ann-", i)}}).wantStatus(t, http.StatusSeeOther)
		}
		// A refused form does not count.
		ann.post("/links/new", url.Values{"target": {"ftp://x"}}).wantStatus(t, http.StatusUnprocessableEntity)
		p := ann.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {"ann-2"}}).wantStatus(t, http.StatusTooManyRequests)
		p.wantContains(t, "2 per reader", "Try again in 24 hours", `value="https://example.com/"`)
		if p.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		ann.htmx("/links/new", url.Values{"target": {"https://example.com/"}}).wantStatus(t, http.StatusTooManyRequests).wantContains(t, "Try again in")

		// Another reader on the same network has one link left of the network's 3.
		bob := env.register("bob@example.org").newLinkForm()
		bob.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {"bob-0"}}).wantStatus(t, http.StatusSeeOther)
		bob.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {"bob-1"}}).wantStatus(t, http.StatusTooManyRequests)
		if n := linkCount(t, env); n != 3 {
			t.Fatalf("%d links", n)
		}
		// A day later, again (signed in afresh: the session has expired).
		env.clock.Advance(24*time.Hour + time.Minute)
		ann = env.browser()
		ann.get("/login")
		ann.post("/login", url.Values{"email": {"ann@example.org"}, "password": {goodPassword}}).wantStatus(t, http.StatusSeeOther)
		ann.newLinkForm().post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {"ann-2"}}).wantStatus(t, http.StatusSeeOther)
	})
}

// A taken id on submit gives back the reader's limit.
func TestLinkTakenDoesNotCount(t *testing.T) {
	env := newTestEnvWith(t, func(_ *Deps, s *Settings) { s.LinksPerDay = 1 })
	ann := env.register("ann@example.org").newLinkForm()
	if _, err := env.app.Links.Create(context.Background(), env.user("ann@example.org").ID, "https://example.com/", "mine"); err != nil {
		t.Fatal(err)
	}
	ann.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {"mine"}}).wantStatus(t, http.StatusConflict)
	ann.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {"other"}}).wantStatus(t, http.StatusSeeOther)
}

func TestShortLinkRedirects(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		env := newTestEnvOn(t, db, &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, nil)
		ctx := context.Background()
		owner := env.register("ann@example.org")
		uid := env.user("ann@example.org").ID
		mustCreate := func(target, id string) {
			if _, err := env.app.Links.Create(ctx, uid, target, id); err != nil {
				t.Fatal(err)
			}
		}
		mustCreate("/books/12", "a-book")
		mustCreate("https://example.com/review?x=1", "review")
		mustCreate("https://аpple.com/", "homograph")
		visitor := env.browser()

		// Internal: 302, never cached.
		p := visitor.get("/s/A-BOOK").wantStatus(t, http.StatusFound)
		if p.location() != "http://shelf.test/books/12" || p.header.Get("Cache-Control") != "private, no-store" {
			t.Fatalf("internal: %q %v", p.location(), p.header)
		}
		if p.header.Get("Set-Cookie") != "" {
			t.Fatal("the redirect set a cookie")
		}

		// External, from elsewhere or nowhere: the page that says where it goes.
		for _, ref := range []string{"", "https://evil.example/", "http://shelf.test.evil.example/"} {
			p = visitor.get("/s/review", "Referer", ref).wantStatus(t, http.StatusOK)
			p.wantContains(t, "You are leaving Shelf for", "example.com", `href="https://example.com/review?x=1"`, `rel="noopener noreferrer"`)
			if p.header.Get("Cache-Control") != "private, no-store" {
				t.Fatalf("interstitial Cache-Control %q", p.header.Get("Cache-Control"))
			}
		}
		// From a page on Shelf: straight there.
		p = visitor.get("/s/review", "Referer", "http://shelf.test/books/3").wantStatus(t, http.StatusFound)
		if p.location() != "https://example.com/review?x=1" {
			t.Fatalf("from Shelf: %q", p.location())
		}
		// A homograph shows in punycode beside its Unicode form.
		visitor.get("/s/homograph").wantStatus(t, http.StatusOK).wantContains(t, "аpple.com", "xn--pple-43d.com")

		// HEAD answers the same, uncounted.
		req, _ := http.NewRequest(http.MethodHead, env.srv.URL+"/s/a-book", nil)
		if hp := visitor.do(req); hp.status != http.StatusFound {
			t.Fatalf("HEAD: %d", hp.status)
		}

		// Unknown: 404 with the catalog's search form.
		for _, id := range []string{"nope-nope", "x", "a%2Fb", strings.Repeat("z", 40)} {
			visitor.get("/s/"+id).wantStatus(t, http.StatusNotFound).wantContains(t, "There is no such link", `id="search-form"`, `id="results"`)
		}
		// Disabled, deleted: 410 with the search form.
		if err := env.app.Links.SetDisabled(ctx, uid, "a-book", true); err != nil {
			t.Fatal(err)
		}
		visitor.get("/s/a-book").wantStatus(t, http.StatusGone).wantContains(t, "turned it off", `id="search-form"`)
		if err := env.app.Links.Delete(ctx, uid, "review"); err != nil {
			t.Fatal(err)
		}
		visitor.get("/s/review", "Referer", "http://shelf.test/").wantStatus(t, http.StatusGone).wantContains(t, "deleted it")

		// Clicks: counted in memory, written by Flush.
		if l, _, _ := env.app.Links.Get(ctx, "homograph"); l.Clicks != 0 {
			t.Fatalf("%d clicks written before a flush", l.Clicks)
		}
		if err := env.app.Links.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]int64{"a-book": 1, "review": 4, "homograph": 1} {
			if l, _, _ := env.app.Links.Get(ctx, id); l.Clicks != want {
				t.Errorf("%s: %d clicks, want %d", id, l.Clicks, want)
			}
		}
		_ = owner
	})
}

// The redirect reads a cached link and writes nothing: it works on a
// database that refuses writes, and a signed-in visitor's session is not
// loaded for it.
func TestShortLinkWritesNothing(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	b := env.register("ann@example.org")
	if _, err := env.app.Links.Create(ctx, env.user("ann@example.org").ID, "/books/1", "fast"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.db.Write.Exec(`PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	defer env.db.Write.Exec(`PRAGMA query_only = 0`)
	for range 20 {
		p := b.get("/s/fast").wantStatus(t, http.StatusFound)
		if p.varies("Cookie") || p.header.Get("Set-Cookie") != "" {
			t.Fatal("the session was loaded")
		}
	}
	if env.app.Links.Pending() != 20 {
		t.Fatalf("%d clicks pending", env.app.Links.Pending())
	}
}

// Another reader's link is not theirs to see.
func TestMyLinkStubIsOwners(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		env := newTestEnvOn(t, db, &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, nil)
		ann := env.register("ann@example.org").newLinkForm()
		ann.post("/links/new", url.Values{"target": {"https://example.com/"}, "id": {"anns"}}).wantStatus(t, http.StatusSeeOther)
		bob := env.register("bob@example.org")
		bob.get("/my-links/anns").wantStatus(t, http.StatusNotFound)
		ann.get("/my-links/ANNS").wantStatus(t, http.StatusOK)
		if err := env.app.Links.Delete(context.Background(), env.user("ann@example.org").ID, "anns"); err != nil {
			t.Fatal(err)
		}
		ann.get("/my-links/anns").wantStatus(t, http.StatusNotFound)
	})
}

// fakePreviews records what links ask of previews.
type fakePreviews struct {
	mu       sync.Mutex
	enqueued []string
	fail     bool
	preview  previews.Preview
}

func (f *fakePreviews) Enqueue(_ context.Context, u string) (previews.Preview, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enqueued = append(f.enqueued, u)
	if f.fail {
		return previews.Preview{}, errors.New("queue down")
	}
	return previews.Preview{URL: u, Key: previews.KeyOf(u), Status: previews.Pending}, nil
}

func (f *fakePreviews) Get(_ context.Context, key string) (previews.Preview, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.preview.Key == key {
		return f.preview, true, nil
	}
	return previews.Preview{}, false, nil
}

// Each new external link asks for a preview; a queue that fails does not
// fail the link; the page before leaving shows the preview.
func TestLinkPreviews(t *testing.T) {
	env := newTestEnv(t)
	fp := &fakePreviews{}
	env.app.Previews = fp
	b := env.register("ann@example.org").newLinkForm()
	b.post("/links/new", url.Values{"target": {"https://example.com/a"}, "id": {"ext"}}).wantStatus(t, http.StatusSeeOther)
	b.post("/links/new", url.Values{"target": {"/books/1"}, "id": {"int"}}).wantStatus(t, http.StatusSeeOther)
	fp.fail = true
	b.post("/links/new", url.Values{"target": {"https://example.com/b"}, "id": {"ext-2"}}).wantStatus(t, http.StatusSeeOther)
	if fmt.Sprint(fp.enqueued) != "[https://example.com/a https://example.com/b]" {
		t.Fatalf("enqueued %v", fp.enqueued)
	}
	fp.preview = previews.Preview{Key: previews.KeyOf("https://example.com/a"), URL: "https://example.com/a", Status: previews.Ready, Title: "A page about <b>books</b>"}
	env.browser().get("/s/ext").wantStatus(t, http.StatusOK).
		wantContains(t, `data-status="ready"`, "A page about &lt;b&gt;books&lt;/b&gt;")
	env.browser().get("/s/ext-2").wantStatus(t, http.StatusOK).wantContains(t, "You are leaving Shelf")
}

// Under a base URL with a path, only Shelf's pages are Shelf: another
// application on the same host sends a Referer on the same origin, and a
// link on it must not skip the page that says where a short link goes.
func TestShortLinkRefererUnderBasePath(t *testing.T) {
	env := newTestEnv(t)
	env.register("ann@example.org")
	if _, err := env.app.Links.Create(context.Background(), env.user("ann@example.org").ID, "https://example.com/review", "review"); err != nil {
		t.Fatal(err)
	}
	prefixed := newTestEnvOn(t, env.db, env.clock, func(_ *Deps, s *Settings) {
		s.BaseURL, _ = url.Parse("http://host.example/shelf")
	})
	visitor := prefixed.browser()
	for _, ref := range []string{"http://host.example/other-app/page", "http://host.example/", "http://host.example/shelfish/x"} {
		visitor.get("/s/review", "Referer", ref).wantStatus(t, http.StatusOK).wantContains(t, "You are leaving Shelf for")
	}
	for _, ref := range []string{"http://host.example/shelf/books/1", "http://host.example/shelf"} {
		if p := visitor.get("/s/review", "Referer", ref); p.status != http.StatusFound || p.location() != "https://example.com/review" {
			t.Errorf("Referer %q: %d %q", ref, p.status, p.location())
		}
	}
}

// A host that imitates another with a slash-like symbol or a mixture of
// alphabets is named in punycode where the page says where the link goes
// and on its Continue button; its letters are shown only beside a warning.
func TestShortLinkInterstitialNamesLookalikesInPunycode(t *testing.T) {
	env := newTestEnv(t)
	env.register("ann@example.org")
	uid := env.user("ann@example.org").ID
	for id, target := range map[string]string{"slash": "https://shelf.test\u2044login.evil.example/", "mixed": "https://ex\u0430mple.com/", "cyrillic": "https://пример.com/"} {
		if _, err := env.app.Links.Create(context.Background(), uid, target, id); err != nil {
			t.Fatal(err)
		}
	}
	h1 := func(p page) string {
		_, after, _ := strings.Cut(p.body, "You are leaving Shelf for")
		heading, _, _ := strings.Cut(after, "</h1>")
		return heading
	}
	p := env.browser().get("/s/slash").wantStatus(t, http.StatusOK)
	if h := h1(p); strings.Contains(h, "\u2044") || !strings.Contains(h, "shelf.xn--testlogin-tn0e.evil.example") {
		t.Errorf("slash-like host named %q", h)
	}
	p.wantContains(t, "Continue to shelf.xn--testlogin-tn0e.evil.example", "shelf.test\u2044login.evil.example")
	p = env.browser().get("/s/mixed").wantStatus(t, http.StatusOK)
	if h := h1(p); !strings.Contains(h, "xn--exmple-4nf.com") {
		t.Errorf("mixed-script host named %q", h)
	}
	// One alphabet reads as it is, its punycode beside it.
	p = env.browser().get("/s/cyrillic").wantStatus(t, http.StatusOK)
	if h := h1(p); !strings.Contains(h, "пример.com") {
		t.Errorf("Cyrillic host named %q", h)
	}
	p.wantContains(t, "xn--e1afmkfd.com")
}

// A browser's prefetch is not a visit: a page that prefetches a short
// link (speculation rules, <link rel=prefetch>) does not count a click,
// and Cache-Control: no-store makes the browser ask again when the link
// is followed, which counts.
func TestShortLinkPrefetchIsNotAClick(t *testing.T) {
	env := newTestEnv(t)
	env.register("ann@example.org")
	if _, err := env.app.Links.Create(context.Background(), env.user("ann@example.org").ID, "/books/1", "pre"); err != nil {
		t.Fatal(err)
	}
	v := env.browser()
	for _, h := range [][]string{{"Sec-Purpose", "prefetch"}, {"Sec-Purpose", "prefetch;anonymous-client-ip"}, {"Purpose", "prefetch"}, {"X-Moz", "prefetch"}} {
		v.get("/s/pre", h...).wantStatus(t, http.StatusFound)
	}
	if n := env.app.Links.Pending(); n != 0 {
		t.Fatalf("%d clicks counted for prefetches", n)
	}
	v.get("/s/pre").wantStatus(t, http.StatusFound)
	v.get("/s/pre", "Sec-Purpose", "prefetch;prerender").wantStatus(t, http.StatusFound) // shown without asking again
	if n := env.app.Links.Pending(); n != 2 {
		t.Fatalf("%d clicks counted, want 2", n)
	}
}

// Why a preview failed is for the link's owner: a refusal names the
// private address the target's host resolved to on Shelf's network, which
// a visitor of the page before leaving must not learn.
func TestShortLinkInterstitialHidesPreviewFailures(t *testing.T) {
	env := newTestEnv(t)
	fp := &fakePreviews{}
	env.app.Previews = fp
	env.register("ann@example.org")
	if _, err := env.app.Links.Create(context.Background(), env.user("ann@example.org").ID, "https://db.corp.example/", "corp"); err != nil {
		t.Fatal(err)
	}
	fp.preview = previews.Preview{Key: previews.KeyOf("https://db.corp.example/"), URL: "https://db.corp.example/", Status: previews.Failed,
		Error: "refused: private address 10.1.2.3 (db.corp.example)"}
	p := env.browser().get("/s/corp").wantStatus(t, http.StatusOK).wantContains(t, "You are leaving Shelf")
	if strings.Contains(p.body, "10.1.2.3") || strings.Contains(p.body, "refused") {
		t.Fatalf("the interstitial shows why the preview failed:\n%s", p.body)
	}
}
