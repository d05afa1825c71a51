// Package cards keeps share cards: the PNG images other sites show for a
// link to a book or a shared shelf, each stored under the version (a hash)
// of what it shows.
package cards

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"shelf/store"
)

// Kind is what a card shows.
type Kind string

const (
	Book  Kind = "book"  // ref: the book's id
	Shelf Kind = "shelf" // ref: the share's key
)

// Store keeps the cards.
type Store struct {
	db  *store.DB
	now func() time.Time
	// Limit is how many cards are kept: storing one past it deletes the
	// oldest. Anyone can ask for the card of any book, so without a limit
	// the cards of a whole catalog could fill the database.
	Limit int
}

// DefaultLimit is Store.Limit unless set: about 250 MB of PNGs.
const DefaultLimit = 5000

// New returns the cards in db; now gives the time a card is stored.
func New(db *store.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, Limit: DefaultLimit}
}

// Get returns the PNG of that version of the card, if it is stored.
func (s *Store) Get(ctx context.Context, kind Kind, ref, version string) ([]byte, bool, error) {
	var png []byte
	err := s.db.Read.QueryRowContext(ctx, `SELECT png FROM share_cards WHERE kind = $1 AND ref = $2 AND version = $3`,
		string(kind), ref, version).Scan(&png)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cards: get: %w", err)
	}
	return png, true, nil
}

// Has reports whether that version of the card is stored.
func (s *Store) Has(ctx context.Context, kind Kind, ref, version string) (bool, error) {
	var one int
	err := s.db.Read.QueryRowContext(ctx, `SELECT 1 FROM share_cards WHERE kind = $1 AND ref = $2 AND version = $3`,
		string(kind), ref, version).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cards: has: %w", err)
	}
	return true, nil
}

// Put stores a version of the card and deletes the others, since only
// the current one is ever served, and the oldest cards past Limit.
func (s *Store) Put(ctx context.Context, kind Kind, ref, version string, png []byte) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM share_cards WHERE kind = $1 AND ref = $2 AND version <> $3`,
			string(kind), ref, version); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO share_cards (kind, ref, version, png, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (kind, ref, version) DO NOTHING`, string(kind), ref, version, png, store.FormatTime(s.now())); err != nil {
			return err
		}
		// Older than the Limit-th newest (cards stored in the same
		// millisecond at the edge may stay).
		_, err := tx.ExecContext(ctx, `DELETE FROM share_cards WHERE created_at <
			(SELECT created_at FROM share_cards ORDER BY created_at DESC LIMIT 1 OFFSET $1)`, s.Limit-1)
		return err
	})
	if err != nil {
		return fmt.Errorf("cards: put: %w", err)
	}
	return nil
}

// Delete deletes every version of the card.
func (s *Store) Delete(ctx context.Context, kind Kind, ref string) error {
	if _, err := s.db.Writer(ctx).ExecContext(ctx, `DELETE FROM share_cards WHERE kind = $1 AND ref = $2`, string(kind), ref); err != nil {
		return fmt.Errorf("cards: delete: %w", err)
	}
	return nil
}
