package handlers

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"shelf/components/paths"
	"shelf/store/previews"
)

func TestPreviewRoutes(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	q := env.app.PreviewQueue
	env.register("ann@example.org")
	b := env.browser() // a visitor

	// Previews are shown while a link goes to their URL.
	const target = "https://example.com/review?x=%3C1%3E"
	l := env.newLink("ann@example.org", target, "review")
	p, err := q.Enqueue(ctx, l.Target)
	if err != nil {
		t.Fatal(err)
	}
	frag := paths.PreviewFragmentLink(p.Key)

	// Pending: "Preview coming", polling its own fragment and swapping
	// itself.
	r := b.get(frag, "HX-Request", "true")
	if r.status != http.StatusOK || !strings.Contains(r.body, "Preview coming") ||
		!strings.Contains(r.body, `hx-get="`+frag+`"`) || !strings.Contains(r.body, `hx-trigger="load delay:2s"`) ||
		!strings.Contains(r.body, `hx-swap="outerHTML"`) {
		t.Fatalf("pending fragment: %d %s", r.status, r.body)
	}
	if strings.Contains(r.body, "<html") {
		t.Error("the htmx answer is a whole page")
	}
	if r := b.get(paths.PreviewImageLink(p.Key)); r.status != http.StatusNotFound {
		t.Errorf("image of a pending preview: %d", r.status)
	}

	// Ready: the thumbnail, title and description, as text.
	jobs, err := q.Claim(ctx, "w", time.Minute, 1)
	if err != nil || len(jobs) != 1 {
		t.Fatal(jobs, err)
	}
	err = q.Complete(ctx, "w", p.Key, previews.Capture{Title: `<script>alert("t")</script>`, Description: `<img src=x onerror=alert(1)>`,
		PNG: []byte("\x89PNG\r\n\x1a\nfake"), Width: 640, Height: 400})
	if err != nil {
		t.Fatal(err)
	}
	r = b.get(frag, "HX-Request", "true")
	if strings.Contains(r.body, "hx-get") || strings.Contains(r.body, "Preview coming") {
		t.Errorf("a ready preview still polls: %s", r.body)
	}
	for _, want := range []string{`src="` + paths.PreviewImageLink(p.Key) + `"`, `width="640"`, `height="400"`,
		`alt="&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;"`, `&lt;img src=x onerror=alert(1)&gt;`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("ready fragment lacks %s:\n%s", want, r.body)
		}
	}
	if strings.Contains(r.body, "<script>alert") || strings.Contains(r.body, "<img src=x") {
		t.Errorf("captured text rendered as HTML:\n%s", r.body)
	}

	// Without htmx: a small page.
	r = b.get(frag)
	if r.status != http.StatusOK || !strings.Contains(r.body, "<html") || !strings.Contains(r.body, "https://example.com/review?x=%3C1%3E") {
		t.Errorf("preview page: %d %s", r.status, r.body)
	}

	// The image: typed, tagged, cached, revalidated.
	r = b.get(paths.PreviewImageLink(p.Key))
	if r.status != http.StatusOK || r.body != "\x89PNG\r\n\x1a\nfake" || r.header.Get("Content-Type") != "image/png" ||
		r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("image: %d %q %v", r.status, r.body, r.header)
	}
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if r := b.get(paths.PreviewImageLink(p.Key), "If-None-Match", etag); r.status != http.StatusNotModified || r.body != "" {
		t.Errorf("revalidation: %d %q", r.status, r.body)
	}
	if r := b.get(paths.PreviewImageLink(p.Key), "If-None-Match", `"other", W/`+etag); r.status != http.StatusNotModified {
		t.Errorf("revalidation with a list and a weak tag: %d", r.status)
	}

	// Failed: why.
	l2 := env.newLink("ann@example.org", "http://intranet.example/", "inside")
	p2, _ := q.Enqueue(ctx, l2.Target)
	q.Claim(ctx, "w", time.Minute, 1)
	q.Fail(ctx, "w", p2.Key, "intranet.example: private address")
	r = b.get(paths.PreviewFragmentLink(p2.Key), "HX-Request", "true")
	if !strings.Contains(r.body, "intranet.example: private address") || strings.Contains(r.body, "hx-get") {
		t.Errorf("failed fragment: %s", r.body)
	}

	// A disabled link keeps its preview (for its owner's page); a deleted
	// one takes it along, and a URL no link goes to has none, captured or
	// not: the routes do not tell what was ever linked.
	if err := env.app.Links.SetDisabled(ctx, l.OwnerID, "review", true); err != nil {
		t.Fatal(err)
	}
	if r := b.get(frag); r.status != http.StatusOK {
		t.Errorf("preview of a disabled link: %d", r.status)
	}
	if err := env.app.Links.Delete(ctx, l.OwnerID, "review"); err != nil {
		t.Fatal(err)
	}
	if r := b.get(frag); r.status != http.StatusNotFound {
		t.Errorf("preview of a deleted link: %d", r.status)
	}
	if r := b.get(paths.PreviewImageLink(p.Key)); r.status != http.StatusNotFound {
		t.Errorf("image of a deleted link: %d", r.status)
	}
	orphan, _ := q.Enqueue(ctx, "https://unlinked.example/")
	if r := b.get(paths.PreviewFragmentLink(orphan.Key)); r.status != http.StatusNotFound {
		t.Errorf("preview of a URL no link goes to: %d", r.status)
	}

	// Unknown and malformed keys.
	for _, key := range []string{previews.KeyOf("https://never.example/"), "x", strings.Repeat("A", 64)} {
		if r := b.get(paths.PreviewFragmentLink(key)); r.status != http.StatusNotFound {
			t.Errorf("fragment %q: %d", key, r.status)
		}
		if r := b.get(paths.PreviewImageLink(key)); r.status != http.StatusNotFound {
			t.Errorf("image %q: %d", key, r.status)
		}
	}
}

// The image route reads its preview's row once, and a revalidation that
// the tag answers does not read the image.
func TestPreviewImageReadsTheImageOnlyToSendIt(t *testing.T) {
	var log queryLog
	env := newTestEnvWith(t, func(d *Deps, _ *Settings) { d.DB = log.wrap(t, d.DB) })
	ctx := context.Background()
	q := env.app.PreviewQueue
	env.register("ann@example.org")
	l := env.newLink("ann@example.org", "https://example.com/review", "review")
	p, err := q.Enqueue(ctx, l.Target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Claim(ctx, "w", time.Minute, 1); err != nil {
		t.Fatal(err)
	}
	const png = "\x89PNG\r\n\x1a\nfake"
	if err := q.Complete(ctx, "w", p.Key, previews.Capture{PNG: []byte(png), Width: 640, Height: 400}); err != nil {
		t.Fatal(err)
	}
	image := paths.PreviewImageLink(p.Key)
	b := env.browser()
	log.take("")

	// wantReads checks the reads of the previews table since the last:
	// whether each read the image.
	wantReads := func(name string, want ...bool) {
		t.Helper()
		queries := log.take("FROM previews")
		var reads []bool
		for _, query := range queries {
			columns, _, _ := strings.Cut(query, " FROM ")
			reads = append(reads, strings.Contains(columns, "image"))
		}
		if !slices.Equal(reads, want) {
			t.Errorf("%s: reads of the previews table %v, want %v (true: with the image):\n%s", name, reads, want, strings.Join(queries, "\n"))
		}
	}

	r := b.get(image)
	if r.status != http.StatusOK || r.body != png {
		t.Fatalf("image: %d %q", r.status, r.body)
	}
	wantReads("first request", true)
	etag := r.header.Get("ETag")
	if r := b.get(image, "If-None-Match", etag); r.status != http.StatusNotModified || r.header.Get("ETag") != etag {
		t.Errorf("revalidation: %d %v", r.status, r.header)
	}
	wantReads("revalidation", false)
	// A tag that does not match: the tag, then the image.
	if r := b.get(image, "If-None-Match", `"other"`); r.status != http.StatusOK || r.body != png || r.header.Get("ETag") != etag {
		t.Errorf("revalidation of another image: %d %q %v", r.status, r.body, r.header)
	}
	wantReads("revalidation of another image", false, true)
}
