package components

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/a-h/templ"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"shelf/components/paths"
	"shelf/store/catalog"
	"shelf/store/search"
)

// parsedHit is what a browser reads back from a rendered result.
type parsedHit struct {
	id, href, title, authors, details string
	titleID                           string
	marks                             []string
	autofocus                         bool
	control                           *html.Node // the shelf control, checked by checkAnonymousControl
}

// parseHits parses rendered result items as the children of an <ol>, and
// fails on any element the items do not have.
func parseHits(t *testing.T, out string) []parsedHit {
	t.Helper()
	ol := &html.Node{Type: html.ElementNode, Data: "ol", DataAtom: atom.Ol}
	nodes, err := html.ParseFragment(strings.NewReader(out), ol)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[atom.Atom]bool{atom.Li: true, atom.A: true, atom.Span: true, atom.Mark: true}
	var hits []parsedHit
	for _, li := range nodes {
		if li.Type != html.ElementNode || li.DataAtom != atom.Li {
			t.Fatalf("top-level node %q in %q", li.Data, out)
		}
		var h parsedHit
		var walk func(n *html.Node, in string)
		walk = func(n *html.Node, in string) {
			if n.Type == html.ElementNode && n.Parent == li && attr(n, "class") == "shelf" {
				if h.control != nil {
					t.Fatalf("two shelf controls in %q", out)
				}
				h.control = n
				return
			}
			if n.Type == html.ElementNode {
				if !allowed[n.DataAtom] {
					t.Fatalf("unexpected element <%s> in %q", n.Data, out)
				}
				for _, a := range n.Attr {
					switch {
					case n.DataAtom == atom.Li && a.Key == "data-book-id":
						h.id = a.Val
					case n.DataAtom == atom.A && a.Key == "href":
						h.href = a.Val
					case n.DataAtom == atom.A && a.Key == "autofocus":
						h.autofocus = true
					case n.DataAtom == atom.Span && a.Key == "id":
						h.titleID = a.Val
					case a.Key == "class":
						if n.DataAtom == atom.Span && (a.Val == "title" || a.Val == "authors" || a.Val == "details") {
							in = a.Val
						}
					default:
						t.Fatalf("unexpected attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
					}
				}
				if n.DataAtom == atom.Mark {
					h.marks = append(h.marks, text(n))
				}
			}
			if n.Type == html.TextNode {
				switch in {
				case "title":
					h.title += n.Data
				case "authors":
					h.authors += n.Data
				case "details":
					h.details += n.Data
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c, in)
			}
		}
		walk(li, "")
		hits = append(hits, h)
	}
	return hits
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// checkAnonymousControl checks the control of a visitor not signed in: a
// GET form to the sign-in step for book id, back to back, named by the
// book's title, with one button per shelf.
func checkAnonymousControl(t *testing.T, n *html.Node, id, titleID, back string) {
	t.Helper()
	if n == nil {
		t.Fatal("no shelf control")
	}
	if n.DataAtom != atom.Form || attr(n, "method") != "" || attr(n, "action") != "/shelves/sign-in" || // GET
		attr(n, "id") != "shelf-"+id || attr(n, "aria-labelledby") != titleID || attr(n, "role") != "group" {
		t.Errorf("control %v", n.Attr)
	}
	fields := map[string]string{}
	var buttons []string
	var walk func(*html.Node)
	walk = func(c *html.Node) {
		if c.Type == html.ElementNode {
			switch c.DataAtom {
			case atom.Input:
				fields[attr(c, "name")] = attr(c, "value")
			case atom.Button:
				if attr(c, "name") != "shelf" {
					t.Errorf("button %v", c.Attr)
				}
				buttons = append(buttons, attr(c, "value")+"="+text(c))
			case atom.Span:
			default:
				t.Errorf("unexpected <%s> in the anonymous control", c.Data)
			}
		}
		for k := c.FirstChild; k != nil; k = k.NextSibling {
			walk(k)
		}
	}
	for k := n.FirstChild; k != nil; k = k.NextSibling {
		walk(k)
	}
	if fields["book"] != id || fields["back"] != back || len(fields) != 2 {
		t.Errorf("fields %v, want book %s back %q", fields, id, back)
	}
	if got := strings.Join(buttons, ","); got != "want-to-read=Want to read,reading=Reading,read=Read" {
		t.Errorf("buttons %s", got)
	}
}

func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var s string
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		s += text(c)
	}
	return s
}

func renderHits(t *testing.T, hits []search.Hit, focusFirst bool) string {
	t.Helper()
	var sb strings.Builder
	if err := (hitItems{hits: hits, focusFirst: focusFirst, query: testQuery, page: 2}).Render(context.Background(), &sb); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// testQuery is the search the rendered items answer (page 2), and testBack
// the page the items are on: escaping matters.
const testQuery, testBack = `"x" <&>`, `/search?q=%22x%22+%3C%26%3E&page=2`

// checkHits renders hits and compares what a browser reads back with them.
func checkHits(t *testing.T, hits []search.Hit, wantDetails []string) {
	t.Helper()
	out := renderHits(t, hits, true)
	got := parseHits(t, out)
	if len(got) != len(hits) {
		t.Fatalf("%d items read back from %d hits: %q", len(got), len(hits), out)
	}
	for i, h := range hits {
		g := got[i]
		var title, authors string
		var marks []string
		for _, s := range h.TitleParts {
			title += s.Text
			if s.Mark {
				marks = append(marks, s.Text)
			}
		}
		for _, s := range h.AuthorParts {
			authors += s.Text
			if s.Mark {
				marks = append(marks, s.Text)
			}
		}
		id := strconv.FormatInt(h.ID, 10)
		if g.id != id || g.href != "/books/"+id || g.autofocus != (i == 0) {
			t.Errorf("item %d: id %q href %q autofocus %v", i, g.id, g.href, g.autofocus)
		}
		if g.titleID != "title-"+id {
			t.Errorf("item %d: title id %q", i, g.titleID)
		}
		checkAnonymousControl(t, g.control, id, g.titleID, testBack)
		if g.title != title || g.authors != authors {
			t.Errorf("item %d reads back as %q by %q, want %q by %q\n%s", i, g.title, g.authors, title, authors, out)
		}
		if strings.Join(g.marks, "\x00") != strings.Join(marks, "\x00") {
			t.Errorf("item %d marks %q, want %q", i, g.marks, marks)
		}
		if wantDetails != nil && g.details != wantDetails[i] {
			t.Errorf("item %d details %q, want %q", i, g.details, wantDetails[i])
		}
	}
}

func TestHitItemsEscape(t *testing.T) {
	book := func(id int64, year int, avg float64, n int64) catalog.Book {
		return catalog.Book{ID: id, Year: year, AverageRating: avg, RatingsCount: n}
	}
	hits := []search.Hit{
		{Book: book(1, 1928, 3.77, 17011),
			TitleParts:  []search.Segment{{Text: "The "}, {Text: "Mystery", Mark: true}, {Text: " of the Blue Train (Hercule Poirot, #6)"}},
			AuthorParts: []search.Segment{{Text: "Agatha Christie"}}},
		{Book: book(2, -300, 4.5, 1),
			TitleParts:  []search.Segment{{Text: `<script>alert("x")</script>`, Mark: true}, {Text: ` &amp; "quotes" 'apostrophes'`}},
			AuthorParts: []search.Segment{{Text: "O'Brien & <b>Sons</b>", Mark: true}}},
		{Book: book(3, 0, 0, 0), TitleParts: []search.Segment{{Text: "No details"}}, AuthorParts: []search.Segment{{Text: "Anon"}}},
		{Book: book(4, 0, 0, 1234567), TitleParts: []search.Segment{{Text: "Ratings, no average"}}, AuthorParts: []search.Segment{{Text: "X"}}},
		{Book: book(5, 2001, 0, 0), TitleParts: []search.Segment{{Text: "</span></a></li><li>"}}, AuthorParts: []search.Segment{{Text: "\u00a0é 山田"}}},
	}
	checkHits(t, hits, []string{
		"· 1928 · ★ 3.77 (17,011 ratings)",
		"· 300 BC · ★ 4.50 (1 rating)",
		"",
		"· 1,234,567 ratings",
		"· 2001",
	})
}

// FuzzHitItems checks that whatever a title or author list holds, a
// browser reads back exactly that text, with the marks where they were.
func FuzzHitItems(f *testing.F) {
	f.Add("The Hobbit", "J.R.R. Tolkien", uint8(3), int64(7))
	f.Add(`<img src=x onerror=alert(1)>`, `"><script>`, uint8(1), int64(1))
	f.Add("&lt;&amp;&#39;", "'\"<>&", uint8(255), int64(123456789))
	f.Fuzz(func(t *testing.T, title, authors string, split uint8, id int64) {
		if !utf8Clean(title) || !utf8Clean(authors) {
			t.Skip() // a browser replaces what HTML cannot carry; the index holds no such text
		}
		if id < 0 {
			id = -id
		}
		cut := min(int(split), len(title))
		for cut > 0 && cut < len(title) && !utf8RuneStart(title[cut]) {
			cut--
		}
		h := search.Hit{Book: catalog.Book{ID: id, Year: int(split) - 100, RatingsCount: int64(split), AverageRating: float64(split) / 50},
			TitleParts:  []search.Segment{{Text: title[:cut], Mark: true}, {Text: title[cut:]}},
			AuthorParts: []search.Segment{{Text: authors}}}
		checkHits(t, []search.Hit{h}, nil)
	})
}

// utf8Clean reports text an HTML parser gives back unchanged: valid UTF-8
// without NUL, carriage returns (newline-normalised) or other controls.
func utf8Clean(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == '\ufffd' {
			return false
		}
	}
	return true
}

func utf8RuneStart(b byte) bool { return utf8.RuneStart(b) }

func TestThousands(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {4602479, "4,602,479"},
		{-1, "-1"}, {-999, "-999"}, {-1000, "-1,000"}, {-123456, "-123,456"},
		{math.MaxInt64, "9,223,372,036,854,775,807"}, {math.MinInt64, "-9,223,372,036,854,775,808"},
	} {
		if got := Thousands(tc.n); got != tc.want {
			t.Errorf("Thousands(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// Result texts are escaped as templ escapes them, and a book's link is
// the one paths builds.
func TestAppendEscapedIsTemplsEscaping(t *testing.T) {
	for _, s := range []string{"", "plain", `&`, `'`, `<`, `>`, `"`, `Tom's "<b>" & Jerry`, `&&<<>>""''`, "é & ü ノ<", "a\x00<\xff>b"} {
		want := templ.EscapeString(s)
		if got := string(appendEscaped([]byte("x"), s)); got != "x"+want {
			t.Errorf("%q: %q, want %q", s, got, "x"+want)
		}
	}
	for _, id := range []int64{1, 42, 9999999} {
		if got, want := string(appendBookLink(nil, id)), paths.BookLink(id); got != want {
			t.Errorf("book %d: %q, want %q", id, got, want)
		}
	}
}

// The address anonymous controls return to is the one paths.SearchLink
// builds, escaped as templ escapes attributes.
func TestAppendResultsBack(t *testing.T) {
	for _, tc := range []struct {
		q    string
		page int
	}{{"", 1}, {"", 2}, {"harry pot", 1}, {"harry pot", 3}, {`"x" <&> é/?#+%`, 2}, {"a~b-c_d.e", 1}} {
		want := templ.EscapeString(resultsBack(tc.q, tc.page))
		if got := string(appendResultsBack(nil, tc.q, tc.page)); got != want {
			t.Errorf("%q page %d: %s, want %s", tc.q, tc.page, got, want)
		}
	}
}
