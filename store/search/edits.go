package search

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"shelf/store"
	"shelf/store/catalog"
)

// CatalogHooks keeps s in step with the books an admin adds or edits (see
// catalog.Catalog.SetChangeHooks), so that searches in this process see a
// change as soon as CreateBook or UpdateBook returns. Other processes
// follow the catalog's version, which the edit bumps (Follow).
//
// On SQLite the edit's transaction updates the vocabulary rows
// (search_terms) of the words it removes and adds (SQLite's index,
// book_search, is kept by triggers); once it commits, s reloads the
// vocabulary, which puts SQLite's index and empty result caches in use,
// and asks Follow to rebuild the in-memory index in the background.
// On PostgreSQL, where the in-memory index is the only one, s rebuilds it
// before the edit returns; searches use the previous one meanwhile.
func (s *Searcher) CatalogHooks() catalog.ChangeHooks {
	h := catalog.ChangeHooks{Committed: s.catalogEdited}
	if s.db.Backend == store.SQLite {
		h.InTx = func(ctx context.Context, tx *sql.Tx, before, after catalog.Book) error {
			return updateTerms(ctx, tx, before, after)
		}
	}
	return h
}

// catalogEdited brings s up to date after an edit committed. A failure
// leaves s behind until Follow catches up.
func (s *Searcher) catalogEdited(ctx context.Context) {
	if s.db.Backend == store.Postgres {
		_, _, _ = s.rebuild(ctx, true)
		return
	}
	if err := s.Reload(ctx); err != nil {
		return
	}
	select {
	case s.builds <- struct{}{}:
	default: // a build is due already
	}
}

// updateTerms sets the search_terms rows of every word of before and after
// to their count in SQLite's index as tx sees it.
func updateTerms(ctx context.Context, tx *sql.Tx, before, after catalog.Book) error {
	var terms []string
	add := func(_, _ int, folded []byte) {
		if !slices.Contains(terms, string(folded)) {
			terms = append(terms, string(folded))
		}
	}
	for _, b := range []catalog.Book{before, after} {
		tokenize(b.Title, add)
		tokenize(b.Authors, add)
	}
	for _, t := range terms {
		var docs int64
		err := tx.QueryRowContext(ctx, `SELECT doc FROM book_terms WHERE term = $1`, t).Scan(&docs)
		switch {
		case err == sql.ErrNoRows:
			_, err = tx.ExecContext(ctx, `DELETE FROM search_terms WHERE term = $1`, t)
		case err == nil:
			_, err = tx.ExecContext(ctx, `INSERT INTO search_terms (term, docs) VALUES ($1, $2)
				ON CONFLICT (term) DO UPDATE SET docs = excluded.docs`, t, docs)
		}
		if err != nil {
			return fmt.Errorf("search term %q: %w", t, err)
		}
	}
	return nil
}
