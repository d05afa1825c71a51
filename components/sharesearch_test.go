package components

import (
	"context"
	"html"
	"io"
	"strings"
	"testing"

	"github.com/a-h/templ"

	"shelf/components/paths"
	"shelf/store/search"
)

func TestShareSearchLinkIsTheSearchEscapedTwice(t *testing.T) {
	for _, q := range []string{"", "harry", "harry pot", `"quoted" & <tags>`, "100% + 1", "garcía márquez", "a/b?c=d#e", "日本語"} {
		var b strings.Builder
		if err := (shareSearch{&search.Results{Query: q}}).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		want := `<p class="share-link"><a id="share-search" href="` + html.EscapeString(paths.LinkNewFor(paths.SearchLink(q, 1))) + `">Share this search</a></p>`
		if out != want {
			t.Errorf("%q:\n got %s\nwant %s", q, out, want)
		}
	}
}

func TestShareSearchAllocatesNothing(t *testing.T) {
	r := &search.Results{Query: "garcía márquez"}
	var c templ.Component
	if n := testing.AllocsPerRun(100, func() {
		c = shareSearch{r}
		if err := c.Render(context.Background(), io.Discard); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations a render", n)
	}
}
