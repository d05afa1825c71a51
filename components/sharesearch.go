package components

import (
	"context"
	"io"

	"shelf/components/paths"
	"shelf/store/search"
)

// shareSearch is the "Share this search" link of a first page of results:
// the new-link form with the search as its target. It is written in Go,
// like hitItems, into a pooled buffer, so the fragments of anonymous
// searches cost what they did before it. It holds the results by pointer
// only, so passing it as a templ.Component allocates nothing.
type shareSearch struct{ r *search.Results }

func (s shareSearch) Render(_ context.Context, w io.Writer) error {
	bp := hitBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `<p class="share-link"><a id="share-search" href="`...)
	b = appendShareSearchLink(b, s.r.Query)
	b = append(b, `">Share this search</a></p>`...)
	_, err := w.Write(b)
	*bp = b
	hitBuffers.Put(bp)
	return err
}

// appendShareSearchLink appends paths.LinkNewFor(paths.SearchLink(q, 1)):
// the query escaped for the search's address, and that address escaped
// again as the target parameter. Only unreserved characters and % are
// left, so the link needs no escaping as an attribute.
func appendShareSearchLink(b []byte, q string) []byte {
	const hex = "0123456789ABCDEF"
	b = append(b, paths.LinkNew...)
	b = append(b, "?target=%2Fsearch%3Fq%3D"...)
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b = append(b, c)
		case c == ' ': // "+" in the search's address, "%2B" in the target
			b = append(b, "%2B"...)
		default: // "%XY" in the search's address, "%25XY" in the target
			b = append(b, '%', '2', '5', hex[c>>4], hex[c&15])
		}
	}
	return b
}
