package components

import (
	"context"
	"io"
	"strconv"
	"strings"
	"sync"

	"shelf/components/paths"
	"shelf/store/search"
)

// hitItems renders a page of results as <li> items. It is the one part of
// the pages written in Go rather than templ markup, because it is the
// hottest: every uncached search renders a page of these, and templ's
// generated code formats each text through fmt.Sprint before escaping it,
// which cost about as much as the search itself (BenchmarkResults: 93 µs
// a page in markup). Every text is still escaped as templ.EscapeString
// escapes it (appendEscaped, without its copies), attribute values
// included; TestHitItemsEscape and FuzzHitItems parse the output back and
// compare it with the input.
//
// Each item ends with the book's shelf control (shelfcontrol.go): the
// anonymous one unless ctx carries a signed-in reader (ShelfReaderFrom).
type hitItems struct {
	hits       []search.Hit
	focusFirst bool
	// The search the items answer, whose page the shelf controls return to.
	query string
	page  int
}

var hitBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

func (c hitItems) Render(ctx context.Context, w io.Writer) error {
	bp := hitBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	reader := ShelfReaderFrom(ctx)
	var scratch [256]byte
	back := appendResultsBack(scratch[:0], c.query, c.page) // escaped once, for every item
	for i := range c.hits {
		h := &c.hits[i]
		b = appendHit(b, h, c.focusFirst && i == 0)
		if reader == nil {
			b = appendAnonymousShelfControl(b, h.ID, back, "")
		} else {
			v := reader.view(h.ID, resultsBack(c.query, c.page), TitleID(h.ID))
			b = appendShelfControl(b, &v)
		}
		b = append(b, `</li>`...)
	}
	_, err := w.Write(b)
	*bp = b
	hitBuffers.Put(bp)
	return err
}

func appendHit(b []byte, h *search.Hit, focus bool) []byte {
	b = append(b, `<li class="result" data-book-id="`...)
	b = strconv.AppendInt(b, h.ID, 10)
	b = append(b, `"><a href="`...)
	b = appendBookLink(b, h.ID)
	b = append(b, '"')
	if focus {
		b = append(b, ` autofocus`...)
	}
	b = append(b, `><span class="title" id="title-`...)
	b = strconv.AppendInt(b, h.ID, 10)
	b = append(b, `">`...)
	b = appendSegments(b, h.TitleParts)
	b = append(b, `</span> <span class="meta">by <span class="authors">`...)
	b = appendSegments(b, h.AuthorParts)
	b = append(b, `</span> `...)
	if h.Year != 0 || h.RatingsCount > 0 {
		b = append(b, `<span class="details">`...)
		b = appendDetails(b, h)
		b = append(b, `</span>`...)
	}
	return append(b, `</span></a>`...) // the caller closes the item
}

// TitleID is the id of book id's title in a list (search results, My
// books), which names its shelf control.
func TitleID(id int64) string { return "title-" + strconv.FormatInt(id, 10) }

// appendResultsBack appends the address of a page of results for query,
// escaped for an HTML attribute, as paths.SearchLink and templ would write
// it: the anonymous controls of every uncached page of results carry it,
// so it is built without allocating.
func appendResultsBack(b []byte, query string, page int) []byte {
	if query == "" && page <= 1 {
		return append(b, paths.Home...)
	}
	b = append(b, paths.Search...)
	b = append(b, "?q="...)
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(query); i++ {
		switch c := query[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	if page > 1 {
		b = append(b, "&amp;page="...)
		b = strconv.AppendInt(b, int64(page), 10)
	}
	return b
}

// resultsBack is the address appendResultsBack escapes.
func resultsBack(query string, page int) string {
	if query == "" && page <= 1 {
		return paths.Home
	}
	return paths.SearchLink(query, page)
}

// bookLinkPrefix is paths.Book before its id.
var bookLinkPrefix, _, _ = strings.Cut(paths.Book, ":id")

// appendBookLink appends paths.BookLink(id), which needs no escaping.
func appendBookLink(b []byte, id int64) []byte {
	return strconv.AppendInt(append(b, bookLinkPrefix...), id, 10)
}

// appendSegments writes segments as escaped text, the marked ones in <mark>.
func appendSegments(b []byte, segs []search.Segment) []byte {
	for _, s := range segs {
		if s.Mark {
			b = append(b, `<mark>`...)
			b = appendEscaped(b, s.Text)
			b = append(b, `</mark>`...)
		} else {
			b = appendEscaped(b, s.Text)
		}
	}
	return b
}

// appendDetails writes what follows a result's authors: "· 1928 · ★ 3.77
// (17,011 ratings)".
func appendDetails(b []byte, h *search.Hit) []byte {
	if h.Year != 0 {
		b = append(b, "· "...)
		if h.Year < 0 {
			b = strconv.AppendInt(b, int64(-h.Year), 10)
			b = append(b, " BC"...)
		} else {
			b = strconv.AppendInt(b, int64(h.Year), 10)
		}
	}
	if h.RatingsCount > 0 {
		if h.Year != 0 {
			b = append(b, ' ')
		}
		b = append(b, "· "...)
		if h.AverageRating > 0 {
			b = append(b, "★ "...)
			b = strconv.AppendFloat(b, h.AverageRating, 'f', 2, 64)
			b = append(b, " ("...)
		}
		if h.RatingsCount == 1 {
			b = append(b, "1 rating"...)
		} else {
			b = appendThousands(b, h.RatingsCount)
			b = append(b, " ratings"...)
		}
		if h.AverageRating > 0 {
			b = append(b, ')')
		}
	}
	return b
}

// appendThousands is Thousands appending to b, for n >= 0.
func appendThousands(b []byte, n int64) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], n, 10)
	if n < 0 {
		b, d = append(b, '-'), d[1:]
	}
	for i, c := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, c)
	}
	return b
}
