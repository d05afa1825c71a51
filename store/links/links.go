// Package links keeps short links: an id (typed by its owner or made up)
// that redirects to a page on Shelf or elsewhere. It checks ids and
// targets, resolves ids from a small in-memory cache, and counts clicks in
// memory, adding them to the database in batches.
package links

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"shelf/store"
)

// Link is a short link.
type Link struct {
	ID        string // as the owner typed it or as generated; lookups fold case
	OwnerID   int64
	Target    string // normalised absolute URL, Shelf's own pages built on the base URL
	External  bool   // the target is not on Shelf's base URL
	CreatedAt time.Time
	Disabled  bool
	Deleted   bool  // only Get and Resolve return deleted links
	Clicks    int64 // in total, as flushed
}

// DayCount is the clicks on a link in one UTC day.
type DayCount struct {
	Day    time.Time
	Clicks int64
}

// ValidationError is an id or target a link may not have; Field is "id"
// or "target", Message is for the reader.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Message }

var (
	// ErrTaken: another link has the id, in any case, now or once
	// (deleted ids are never given out again). It is a *ValidationError
	// on the id; Available offers others.
	ErrTaken error = &ValidationError{Field: "id", Message: "That id is taken. Choose another one."}
	// ErrNotFound: no such link, or not the reader's.
	ErrNotFound = errors.New("links: no such link")
)

// Store keeps every short link.
type Store struct {
	db     *store.DB
	base   *url.URL
	now    func() time.Time
	random io.Reader // source of generated ids

	mu       sync.RWMutex
	reserved map[string]bool        // first segments of Shelf's routes, folded
	isPage   func(path string) bool // see SetPages; nil accepts every path

	cache  resolveCache
	clicks clickCounter
	lookup func(ctx context.Context, id string) (Link, bool, error) // Get; a test's own to step into Resolve
}

// New returns the links in db. base is Shelf's public address, on which
// internal targets are built; now gives the time of changes.
func New(db *store.DB, base *url.URL, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	s := &Store{db: db, base: base, now: now, random: rand.Reader, reserved: map[string]bool{}}
	s.cache.init(DefaultCacheSize, DefaultCacheTTL)
	s.lookup = s.Get
	return s
}

// Reserve adds words no link may have as its id: the first path segment
// of every route Shelf serves, which a handler collects from its router so
// that a new route is reserved with no list to keep up to date.
func (s *Store) Reserve(words ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range words {
		if w != "" {
			s.reserved[fold(w)] = true
		}
	}
}

// CheckID is the package's CheckID with the reserved route segments too.
func (s *Store) CheckID(id string) string {
	if msg := CheckID(id); msg != "" {
		return msg
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.reserved[fold(id)] {
		return reservedMessage(id)
	}
	return ""
}

// CheckTarget is NormalizeTarget on the store's base URL, and for an
// address on Shelf, a page Shelf has (see SetPages).
func (s *Store) CheckTarget(raw string) (target string, external bool, message string) {
	target, external, message = NormalizeTarget(raw, s.base)
	if message != "" || external {
		return target, external, message
	}
	s.mu.RLock()
	isPage := s.isPage
	s.mu.RUnlock()
	if p, ok := ShelfPath(target, s.base); ok && isPage != nil && !isPage(p) {
		return "", false, "Shelf has no page at this address; check it, or copy it from the address bar of the page."
	}
	return target, external, message
}

// SetPages sets what tells Shelf's pages (a path below the base URL, as
// escaped) from addresses that would answer 404, so no link is made to one.
func (s *Store) SetPages(isPage func(path string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.isPage = isPage
}

// ShelfPath is the package's ShelfPath on the store's base URL.
func (s *Store) ShelfPath(target string) (string, bool) {
	return ShelfPath(target, s.base)
}

// Available reports whether id is free for a new link. When it is not
// (taken, deleted once, or reserved), alternatives are two ids that are
// free now. An id CheckID refuses is not free, with no alternatives.
func (s *Store) Available(ctx context.Context, id string) (free bool, alternatives []string, err error) {
	if msg := CheckID(id); msg != "" && !isReserved(fold(id), nil) {
		return false, nil, nil
	}
	reserved := s.CheckID(id) != ""
	cands := []string{id}
	for _, c := range candidates(id) {
		if s.CheckID(c) == "" {
			cands = append(cands, c)
		}
	}
	args := make([]any, len(cands))
	for i, c := range cands {
		args[i] = fold(c)
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT folded FROM links WHERE folded IN (`+store.Params(1, len(args))+`)`, args...)
	if err != nil {
		return false, nil, fmt.Errorf("links: available: %w", err)
	}
	defer rows.Close()
	used := map[string]bool{}
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return false, nil, fmt.Errorf("links: available: %w", err)
		}
		used[f] = true
	}
	if err := rows.Err(); err != nil {
		return false, nil, fmt.Errorf("links: available: %w", err)
	}
	if !reserved && !used[fold(id)] {
		return true, nil, nil
	}
	for _, c := range cands[1:] {
		if !used[fold(c)] && len(alternatives) < 2 {
			alternatives = append(alternatives, c)
		}
	}
	return false, alternatives, nil
}

// maxGenerateAttempts bounds the draws of a generated id: a collision in
// 27 billion ids is rare, several in a row mean something is wrong.
const maxGenerateAttempts = 8

// Create makes a link from ownerID's id (customID; "" for a generated one)
// to target (see NormalizeTarget). It fails with a *ValidationError for an
// id or a target that may not be used, ErrTaken when the id is taken (two
// readers racing for one id get one link and one ErrTaken: the unique key
// decides, not a check before the insert).
func (s *Store) Create(ctx context.Context, ownerID int64, target, customID string) (Link, error) {
	if customID != "" {
		if msg := s.CheckID(customID); msg != "" {
			return Link{}, &ValidationError{Field: "id", Message: msg}
		}
	}
	norm, external, msg := s.CheckTarget(target)
	if msg != "" {
		return Link{}, &ValidationError{Field: "target", Message: msg}
	}
	l := Link{ID: customID, OwnerID: ownerID, Target: norm, External: external,
		CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if customID != "" {
		if err := s.insert(ctx, l); err != nil {
			return Link{}, err
		}
		return l, nil
	}
	for range maxGenerateAttempts {
		id, err := generateID(s.random)
		if err != nil {
			return Link{}, err
		}
		if s.CheckID(id) != "" {
			continue
		}
		l.ID = id
		err = s.insert(ctx, l)
		if errors.Is(err, ErrTaken) {
			continue
		}
		if err != nil {
			return Link{}, err
		}
		return l, nil
	}
	return Link{}, fmt.Errorf("links: no free id after %d attempts", maxGenerateAttempts)
}

func (s *Store) insert(ctx context.Context, l Link) error {
	_, err := s.db.Writer(ctx).ExecContext(ctx, `
		INSERT INTO links (folded, id, owner_id, target, external, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		fold(l.ID), l.ID, l.OwnerID, l.Target, boolInt(l.External), store.FormatTime(l.CreatedAt))
	if store.IsUniqueViolation(err) {
		return ErrTaken
	}
	if err != nil {
		return fmt.Errorf("links: create: %w", err)
	}
	s.cache.forget(fold(l.ID)) // a cached "unknown"
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

const linkColumns = `id, owner_id, target, external, created_at, disabled, deleted_at IS NOT NULL, clicks`

func scanLink(row interface{ Scan(...any) error }) (Link, error) {
	var l Link
	var created string
	var external, disabled int
	if err := row.Scan(&l.ID, &l.OwnerID, &l.Target, &external, &created, &disabled, &l.Deleted, &l.Clicks); err != nil {
		return Link{}, err
	}
	l.External, l.Disabled = external != 0, disabled != 0
	var err error
	if l.CreatedAt, err = store.ParseTime(created); err != nil {
		return Link{}, err
	}
	return l, nil
}

// Get returns the link with id, in any case, straight from the database;
// deleted links too (Deleted set). Callers showing it to a reader check
// OwnerID.
func (s *Store) Get(ctx context.Context, id string) (Link, bool, error) {
	if !idLooksValid(id) {
		return Link{}, false, nil
	}
	l, err := scanLink(s.db.Read.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM links WHERE folded = $1`, fold(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, false, nil
	}
	if err != nil {
		return Link{}, false, fmt.Errorf("links: get: %w", err)
	}
	return l, true, nil
}

// Linked reports whether a link that is not deleted goes to target (as
// stored: normalised), disabled ones included.
func (s *Store) Linked(ctx context.Context, target string) (bool, error) {
	var one int
	err := s.db.Read.QueryRowContext(ctx, `SELECT 1 FROM links WHERE target = $1 AND deleted_at IS NULL LIMIT 1`, target).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("links: linked: %w", err)
	}
	return true, nil
}

// List returns ownerID's links, newest first, without deleted ones.
func (s *Store) List(ctx context.Context, ownerID int64) ([]Link, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+linkColumns+` FROM links
		WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, folded`, ownerID)
	if err != nil {
		return nil, fmt.Errorf("links: list: %w", err)
	}
	defer rows.Close()
	var out []Link
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, fmt.Errorf("links: list: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// CountCreatedSince is how many links ownerID has made since t, deleted
// ones included.
func (s *Store) CountCreatedSince(ctx context.Context, ownerID int64, t time.Time) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM links WHERE owner_id = $1 AND created_at >= $2`,
		ownerID, store.FormatTime(t)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("links: count: %w", err)
	}
	return n, nil
}

// SetDisabled disables or enables ownerID's link: a disabled link answers
// 410 Gone until enabled again. ErrNotFound for a link that is not
// ownerID's, or deleted. This process stops serving the old state at
// once; others within DefaultCacheTTL.
func (s *Store) SetDisabled(ctx context.Context, ownerID int64, id string, disabled bool) error {
	return s.change(ctx, id, `UPDATE links SET disabled = $3 WHERE folded = $1 AND owner_id = $2 AND deleted_at IS NULL`,
		fold(id), ownerID, boolInt(disabled))
}

// Delete deletes ownerID's link for good: it answers 410 Gone, leaves the
// owner's list, and its id is never given out again. ErrNotFound for a
// link that is not ownerID's, or already deleted.
func (s *Store) Delete(ctx context.Context, ownerID int64, id string) error {
	return s.change(ctx, id, `UPDATE links SET deleted_at = $3 WHERE folded = $1 AND owner_id = $2 AND deleted_at IS NULL`,
		fold(id), ownerID, store.FormatTime(s.now()))
}

func (s *Store) change(ctx context.Context, id, query string, args ...any) error {
	res, err := s.db.Writer(ctx).ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("links: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("links: %w", err)
	}
	s.cache.forget(fold(id))
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// normalizeDay is t's UTC day at midnight.
func normalizeDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

const dayLayout = "2006-01-02"

// maxDays bounds the days ClicksByDay returns.
const maxDays = 3700

// ClicksByDay returns the clicks on id on every UTC day from from to to,
// both included, days without clicks as zeros. Clicks not yet flushed
// are not in it.
func (s *Store) ClicksByDay(ctx context.Context, id string, from, to time.Time) ([]DayCount, error) {
	from, to = normalizeDay(from), normalizeDay(to)
	if to.Before(from) {
		return nil, nil
	}
	if to.Sub(from) > maxDays*24*time.Hour {
		return nil, fmt.Errorf("links: clicks by day: more than %d days", maxDays)
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT day, clicks FROM link_clicks WHERE link = $1 AND day >= $2 AND day <= $3`,
		fold(id), from.Format(dayLayout), to.Format(dayLayout))
	if err != nil {
		return nil, fmt.Errorf("links: clicks by day: %w", err)
	}
	defer rows.Close()
	byDay := map[string]int64{}
	for rows.Next() {
		var day string
		var n int64
		if err := rows.Scan(&day, &n); err != nil {
			return nil, fmt.Errorf("links: clicks by day: %w", err)
		}
		byDay[day] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("links: clicks by day: %w", err)
	}
	var out []DayCount
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, DayCount{Day: d, Clicks: byDay[d.Format(dayLayout)]})
	}
	return out, nil
}

// idLooksValid is a cheap test before any lookup: ids that could never
// have been stored are not looked up.
func idLooksValid(id string) bool {
	if len(id) < MinIDLen || len(id) > MaxIDLen {
		return false
	}
	return strings.IndexFunc(id, func(r rune) bool { return r > 0x7f || !idChar(byte(r)) }) < 0
}
