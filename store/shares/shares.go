// Package shares keeps the shelves readers share: a shelf made public,
// read-only, at an address holding a random key, until its reader stops
// sharing it.
package shares

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"shelf/store"
	"shelf/store/shelves"
)

// Share is one reader's shelf, public to whoever has Key.
type Share struct {
	Key       string
	UserID    int64
	Shelf     shelves.Shelf
	CreatedAt time.Time
}

// Store keeps every reader's shares.
type Store struct {
	db  *store.DB
	now func() time.Time
}

// New returns the shares in db; now gives the time of new ones.
func New(db *store.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// keyLen is the length of a key as rand.Text writes it (26 characters of
// base32, 130 bits): long enough that keys cannot be guessed.
const keyLen = 26

// newKey returns a random key, in lower case for the address bar.
func newKey() string { return strings.ToLower(rand.Text()) }

const columns = `share_key, user_id, shelf, created_at`

func scan(row interface{ Scan(...any) error }) (Share, error) {
	var s Share
	var shelf, created string
	if err := row.Scan(&s.Key, &s.UserID, &shelf, &created); err != nil {
		return Share{}, err
	}
	s.Shelf = shelves.Shelf(shelf)
	var err error
	s.CreatedAt, err = store.ParseTime(created)
	return s, err
}

// Share makes the reader's shelf public and returns its share; a shelf
// shared already keeps its share (and key). shelves.ErrBadShelf for an
// unknown shelf.
func (s *Store) Share(ctx context.Context, userID int64, shelf shelves.Shelf) (Share, error) {
	if _, ok := shelves.ParseShelf(string(shelf)); !ok {
		return Share{}, shelves.ErrBadShelf
	}
	// Two requests racing to share the same shelf both insert nothing but
	// one row: the loser's insert does nothing, and both read the winner's.
	_, err := s.db.Writer(ctx).ExecContext(ctx, `INSERT INTO shelf_shares (share_key, user_id, shelf, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, shelf) DO NOTHING`,
		newKey(), userID, string(shelf), store.FormatTime(s.now()))
	if err != nil {
		return Share{}, fmt.Errorf("shares: share: %w", err)
	}
	sh, err := scan(s.db.Write.QueryRowContext(ctx, `SELECT `+columns+` FROM shelf_shares WHERE user_id = $1 AND shelf = $2`, userID, string(shelf)))
	if err != nil {
		return Share{}, fmt.Errorf("shares: share: %w", err)
	}
	return sh, nil
}

// Get returns the share with the given key, if there is one.
func (s *Store) Get(ctx context.Context, key string) (Share, bool, error) {
	if len(key) != keyLen {
		return Share{}, false, nil
	}
	sh, err := scan(s.db.Read.QueryRowContext(ctx, `SELECT `+columns+` FROM shelf_shares WHERE share_key = $1`, strings.ToLower(key)))
	if errors.Is(err, sql.ErrNoRows) {
		return Share{}, false, nil
	}
	if err != nil {
		return Share{}, false, fmt.Errorf("shares: get: %w", err)
	}
	return sh, true, nil
}

// ForUser returns the reader's shares by shelf.
func (s *Store) ForUser(ctx context.Context, userID int64) (map[shelves.Shelf]Share, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+columns+` FROM shelf_shares WHERE user_id = $1`, userID)
	if err != nil {
		return nil, fmt.Errorf("shares: for user: %w", err)
	}
	defer rows.Close()
	out := map[shelves.Shelf]Share{}
	for rows.Next() {
		sh, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("shares: for user: %w", err)
		}
		out[sh.Shelf] = sh
	}
	return out, rows.Err()
}

// Revoke stops sharing and returns the share that was: the key is dead
// from now on. store.ErrNotFound when the reader has no share with that
// key (another reader's included).
func (s *Store) Revoke(ctx context.Context, userID int64, key string) (Share, error) {
	w := s.db.Writer(ctx).(interface {
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	})
	sh, err := scan(w.QueryRowContext(ctx, `DELETE FROM shelf_shares WHERE share_key = $1 AND user_id = $2 RETURNING `+columns,
		strings.ToLower(key), userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Share{}, store.ErrNotFound
	}
	if err != nil {
		return Share{}, fmt.Errorf("shares: revoke: %w", err)
	}
	return sh, nil
}
