package store

import (
	"context"
	"fmt"
)

// vocabulary is every indexed word with the number of books containing it.
type vocabulary struct {
	docs map[string]int64
}

// loadVocabulary reads search_terms into memory and swaps it in.
func (c *Catalog) loadVocabulary(ctx context.Context) error {
	rows, err := c.db.Read.QueryContext(ctx, `SELECT term, docs FROM search_terms`)
	if err != nil {
		return fmt.Errorf("load vocabulary: %w", err)
	}
	defer rows.Close()
	v := &vocabulary{docs: map[string]int64{}}
	for rows.Next() {
		var term string
		var n int64
		if err := rows.Scan(&term, &n); err != nil {
			return fmt.Errorf("load vocabulary: %w", err)
		}
		v.docs[term] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load vocabulary: %w", err)
	}
	c.mu.Lock()
	c.vocab = v
	c.mu.Unlock()
	return nil
}
