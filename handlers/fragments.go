package handlers

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"
	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/handlers/trainedgzip"
	"shelf/store/catalog"
	"shelf/store/search"
)

// fragmentCache keeps the HTMX fragments of recent searches rendered, plain
// and gzipped. People typing ask for the same popular prefixes over and
// over, and rendering and compressing a fragment costs more than finding it
// in the search's result cache. Entries are keyed by the *search.Results
// they were rendered from: the Searcher hands out the same pointer for the
// same search until an import replaces its results, so a stale fragment is
// never found.
type fragmentCache = search.RecentCache[*search.Results, *fragment]

// fragment is a rendered fragment as most requests want it: gzipped
// when it is worth compressing (every browser accepts gzip), else plain.
// The rare client that does not accept gzip gets it decompressed, so the
// cache holds each fragment once, at a fifth of its size.
type fragment struct {
	body    []byte
	gzipped bool
}

// minGzipBytes is the smallest fragment worth compressing, as for pages.
const minGzipBytes = 1024

// gzipWriters compress API answers at the fastest level, with
// klauspost/compress: the same output size as the standard library's level
// 1 in under half the time. JSON is unlike the pages fragmentGzip was
// trained on; API answers are compressed once and cached (apiSearch), so
// their writers are rarely needed.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// fragmentGzip compresses fragments with a code trained on a sample page of
// results (see trainedgzip). Fitting a code to each fragment was half of
// what compressing one cost, and under load its tables were out of the
// CPU's caches. The trained code's pages are about 3% larger
// (TestFragmentGzipFitsRealPages).
var fragmentGzip = sync.OnceValue(func() *trainedgzip.Encoder {
	var b bytes.Buffer
	// Fixed data: were rendering it to fail, the code would be trained on
	// what was rendered, and every fragment would still compress.
	_ = components.Results(sampleResults()).Render(context.Background(), &b)
	return trainedgzip.New(b.Bytes())
})

// sampleResults is a page of results to train fragmentGzip on, like the
// pages people see: popular books, marked words, series notes, a title in
// another script.
func sampleResults() *search.Results {
	books := []struct {
		title, authors string
		year           int
		rating         float64
		ratings        int64
	}{
		{"The Hobbit", "J.R.R. Tolkien", 1937, 4.25, 2071616},
		{"Harry Potter and the Prisoner of Azkaban (Harry Potter, #3)", "J.K. Rowling, Mary GrandPré", 1999, 4.53, 1832823},
		{"The Stand", "Stephen King", 1978, 4.34, 496457},
		{"Cien años de soledad", "Gabriel García Márquez, Gregory Rabassa", 1967, 4.04, 509893},
		{"Catching Fire (The Hunger Games, #2)", "Suzanne Collins", 2009, 4.3, 2313611},
		{"Pride and Prejudice", "Jane Austen, Anna Quindlen", 1813, 4.24, 2191465},
		{"ノルウェイの森 [Noruwei no Mori]", "Haruki Murakami, Jay Rubin", 1987, 4.01, 265003},
		{"Murder on the Orient Express (Hercule Poirot, #10)", "Agatha Christie", 1934, 4.16, 218285},
		{"The Help", "Kathryn Stockett", 2009, 4.45, 1531753},
		{"Dune (Dune Chronicles #1)", "Frank Herbert", 1965, 4.19, 544344},
	}
	r := &search.Results{Query: "the", Page: 1, Total: 1000, TotalCapped: true, HasMore: true}
	for i, b := range books {
		r.Hits = append(r.Hits, search.Hit{
			Book: catalog.Book{ID: int64(100 + 37*i), Title: b.title, Authors: b.authors, Year: b.year,
				AverageRating: b.rating, RatingsCount: b.ratings},
			TitleParts:  []search.Segment{{Text: b.title[:1], Mark: true}, {Text: b.title[1:]}},
			AuthorParts: []search.Segment{{Text: b.authors}},
		})
	}
	return r
}

// renderBuffers hold fragments while they are rendered, and gzipBuffers
// while they are compressed: only a copy of the answer is kept, so the
// buffers (and their growing from a few bytes to a page of results, most of
// what a search request allocated) are reused.
var gzipBuffers = sync.Pool{New: func() any { return new([]byte) }}

var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledRender: a buffer grown larger than this by an unusual page is
// left to the collector rather than kept.
const maxPooledRender = 256 << 10

// renderFragment renders comp, the fragment of r, and compresses it.
func renderFragment(c echo.Context, comp templ.Component) (*fragment, error) {
	plain := renderBuffers.Get().(*bytes.Buffer)
	defer func() {
		if plain.Cap() <= maxPooledRender {
			plain.Reset()
			renderBuffers.Put(plain)
		}
	}()
	if err := comp.Render(c.Request().Context(), plain); err != nil {
		return nil, err
	}
	if plain.Len() < minGzipBytes {
		return &fragment{body: bytes.Clone(plain.Bytes())}, nil
	}
	gz := gzipBuffers.Get().(*[]byte)
	*gz = fragmentGzip().Append((*gz)[:0], plain.Bytes())
	// The kept copy is exactly as large as it needs to be: compressing
	// into a growing buffer allocated several times its size.
	f := &fragment{body: bytes.Clone(*gz), gzipped: true}
	if cap(*gz) <= maxPooledRender {
		gzipBuffers.Put(gz)
	}
	return f, nil
}

// writeFragment sends the fragment comp of r, rendering it only when the
// cache does not hold it, gzipped when the client accepts it. A fragment
// with a signed-in reader's shelf controls (components.ShelfReaderFrom) is
// theirs alone: it is rendered for this request and never cached.
func (a *App) writeFragment(c echo.Context, r *search.Results, comp templ.Component) error {
	if components.ShelfReaderFrom(c.Request().Context()) != nil {
		f, err := renderFragment(c, comp)
		if err != nil {
			return err
		}
		return sendFragment(c, f)
	}
	f, ok := a.fragments.Get(r)
	if !ok {
		var err error
		if f, err = renderFragment(c, comp); err != nil {
			return err
		}
		a.fragments.Put(r, f)
	}
	return sendFragment(c, f)
}

// sendFragment writes f, decompressed for a client that does not accept gzip.
func sendFragment(c echo.Context, f *fragment) error {
	h := c.Response().Header()
	h.Add("Vary", "Accept-Encoding")
	body := f.body
	switch {
	case f.gzipped && acceptsGzip(c.Request()):
		h.Set("Content-Encoding", "gzip")
	case f.gzipped:
		zr, err := gzip.NewReader(bytes.NewReader(f.body))
		if err != nil {
			return err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return err
		}
	}
	// With its length given, the body is sent as is rather than in
	// chunks, which net/http would use for any body over 2 KB.
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	return c.Blob(http.StatusOK, echo.MIMETextHTMLCharsetUTF8, body)
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(req *http.Request) bool {
	for _, part := range strings.Split(req.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// isSearchFragment reports whether the request is for a search fragment,
// which the search handler compresses itself (see writeFragment).
func isSearchFragment(c echo.Context) bool {
	p := c.Request().URL.Path
	return (p == paths.Search || p == paths.Home) && isHTMX(c)
}
