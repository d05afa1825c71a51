package search

import "context"

// SearchUncached is Search without the result cache: for bulk lookups
// (matching an imported library to the catalog) whose pages no reader will
// ask for again and which would only push readers' pages out of it.
func (s *Searcher) SearchUncached(ctx context.Context, query string, page int) (*Results, error) {
	if !s.Ready() {
		return nil, ErrNotReady
	}
	r := &Results{}
	r.Page, r.PageAdjusted = ClampPage(page)
	r.Query, r.Shortened = NormalizeQuery(query)
	return s.search(ctx, r)
}
