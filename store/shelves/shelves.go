// Package shelves keeps readers' own books: each on one of three shelves
// (want to read, reading, read), with an optional rating and private note.
package shelves

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/search"
)

// Shelf is where a reader keeps a book.
type Shelf string

const (
	WantToRead Shelf = "want-to-read"
	Reading    Shelf = "reading"
	Read       Shelf = "read"
)

// Shelves lists every shelf, in the order readers go through them.
var Shelves = []Shelf{WantToRead, Reading, Read}

// ParseShelf reads a shelf's name as Shelf writes it.
func ParseShelf(s string) (Shelf, bool) {
	for _, sh := range Shelves {
		if string(sh) == s {
			return sh, true
		}
	}
	return "", false
}

// Label is the shelf's name as readers see it.
func (s Shelf) Label() string {
	switch s {
	case WantToRead:
		return "Want to read"
	case Reading:
		return "Reading"
	case Read:
		return "Read"
	}
	return string(s)
}

// Limits on what a reader writes.
const (
	MaxRating    = 5
	MaxNoteRunes = 2000 // also a CHECK in the schema
)

// Entry is one book on a reader's shelves.
type Entry struct {
	BookID    int64
	Shelf     Shelf
	Rating    int // 0: none, else 1..MaxRating
	Note      string
	AddedAt   time.Time
	UpdatedAt time.Time
}

// Item is an entry with its book, as lists show it.
type Item struct {
	Entry
	Book catalog.Book
	// Hit is the book's title and authors with the words matching the
	// list's query marked (unmarked without a query).
	Hit search.Hit
}

// ValidationError is a value a reader may not store; Field names it
// ("shelf", "rating", "note", "book").
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Message }

// The errors of Store's methods. The validation errors are
// *ValidationError, so errors.As finds their field and message.
var (
	ErrBadShelf    = &ValidationError{Field: "shelf", Message: "Choose one of Want to read, Reading or Read."}
	ErrBadRating   = &ValidationError{Field: "rating", Message: fmt.Sprintf("A rating is a whole number of stars from 1 to %d.", MaxRating)}
	ErrNoteTooLong = &ValidationError{Field: "note", Message: fmt.Sprintf("A note can be at most %d characters long.", MaxNoteRunes)}
	ErrNoSuchBook  = &ValidationError{Field: "book", Message: "There is no such book in the catalog."}
	ErrNotShelved  = errors.New("shelves: the book is not on the reader's shelves")
)

// CheckNote returns note as it is stored: invalid UTF-8 replaced, control
// characters other than line breaks and tabs dropped, line breaks as \n,
// surrounding space trimmed. It fails with ErrNoteTooLong past
// MaxNoteRunes.
func CheckNote(note string) (string, error) {
	note = strings.ToValidUTF8(note, "\uFFFD")
	note = strings.ReplaceAll(note, "\r\n", "\n")
	note = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, note)
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxNoteRunes {
		return "", ErrNoteTooLong
	}
	return note, nil
}

// Store keeps the shelves of every reader.
type Store struct {
	db  *store.DB
	now func() time.Time
}

// New returns the shelves in db; now gives the time of changes.
func New(db *store.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

const entryColumns = `book_id, shelf, rating, note, added_at, updated_at`

func scanEntry(row interface{ Scan(...any) error }, extra ...any) (Entry, error) {
	var e Entry
	var shelf, added, updated string
	if err := row.Scan(append([]any{&e.BookID, &shelf, &e.Rating, &e.Note, &added, &updated}, extra...)...); err != nil {
		return Entry{}, err
	}
	e.Shelf = Shelf(shelf)
	var err error
	if e.AddedAt, err = store.ParseTime(added); err != nil {
		return Entry{}, err
	}
	if e.UpdatedAt, err = store.ParseTime(updated); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Get returns the reader's entry for the book, if the book is on their
// shelves.
func (s *Store) Get(ctx context.Context, userID, bookID int64) (Entry, bool, error) {
	e, err := scanEntry(s.db.Read.QueryRowContext(ctx,
		`SELECT `+entryColumns+` FROM shelf_entries WHERE user_id = $1 AND book_id = $2`, userID, bookID))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("shelves: get: %w", err)
	}
	return e, true, nil
}

// Put puts the book on shelf: adds it, or moves it there keeping its
// rating and note. ErrNoSuchBook when the catalog has no such book.
func (s *Store) Put(ctx context.Context, userID, bookID int64, shelf Shelf) (Entry, error) {
	if _, ok := ParseShelf(string(shelf)); !ok {
		return Entry{}, ErrBadShelf
	}
	now := store.FormatTime(s.now())
	// The SELECT adds nothing for an unknown or unpublished book, and
	// RETURNING then returns no row. (SQLite needs the WHERE clause to
	// parse ON CONFLICT after a SELECT.)
	e, err := scanEntry(s.writer(ctx).QueryRowContext(ctx, `
		INSERT INTO shelf_entries (user_id, book_id, shelf, rating, note, added_at, updated_at)
		SELECT CAST($1 AS bigint), id, CAST($3 AS text), 0, '', CAST($4 AS text), CAST($4 AS text) FROM books WHERE id = $2 AND `+catalog.SQLVisibleBook+`
		ON CONFLICT (user_id, book_id) DO UPDATE SET shelf = excluded.shelf,
			updated_at = CASE WHEN shelf_entries.shelf = excluded.shelf THEN shelf_entries.updated_at ELSE excluded.updated_at END
		RETURNING `+entryColumns, userID, bookID, string(shelf), now))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, ErrNoSuchBook
	}
	if err != nil {
		return Entry{}, fmt.Errorf("shelves: put: %w", err)
	}
	return e, nil
}

// queryRower is what store.DB.Writer returns, the writer pool or the
// transaction ctx carries, for statements with RETURNING.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) writer(ctx context.Context) queryRower { return s.db.Writer(ctx).(queryRower) }

// update sets one column of an entry, if it differs, and returns the entry.
func (s *Store) update(ctx context.Context, userID, bookID int64, column string, value any) (Entry, error) {
	e, err := scanEntry(s.writer(ctx).QueryRowContext(ctx, `
		UPDATE shelf_entries SET `+column+` = $3,
			updated_at = CASE WHEN `+column+` = $3 THEN updated_at ELSE $4 END
		WHERE user_id = $1 AND book_id = $2
		RETURNING `+entryColumns, userID, bookID, value, store.FormatTime(s.now())))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, ErrNotShelved
	}
	if err != nil {
		return Entry{}, fmt.Errorf("shelves: set %s: %w", column, err)
	}
	return e, nil
}

// SetRating rates a book on the reader's shelves from 1 to MaxRating; 0
// clears the rating. ErrNotShelved when the book is not on them.
func (s *Store) SetRating(ctx context.Context, userID, bookID int64, rating int) (Entry, error) {
	if rating < 0 || rating > MaxRating {
		return Entry{}, ErrBadRating
	}
	return s.update(ctx, userID, bookID, "rating", rating)
}

// SetNote sets the private note on a book on the reader's shelves (see
// CheckNote); "" clears it. ErrNotShelved when the book is not on them.
func (s *Store) SetNote(ctx context.Context, userID, bookID int64, note string) (Entry, error) {
	note, err := CheckNote(note)
	if err != nil {
		return Entry{}, err
	}
	return s.update(ctx, userID, bookID, "note", note)
}

// Remove takes a book off the reader's shelves, with its rating and note,
// and reports whether it was there.
func (s *Store) Remove(ctx context.Context, userID, bookID int64) (bool, error) {
	res, err := s.db.Writer(ctx).ExecContext(ctx, `DELETE FROM shelf_entries WHERE user_id = $1 AND book_id = $2`, userID, bookID)
	if err != nil {
		return false, fmt.Errorf("shelves: remove: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Counts returns how many books the reader has on each shelf; every shelf
// is in the map, empty ones with 0.
func (s *Store) Counts(ctx context.Context, userID int64) (map[Shelf]int, error) {
	counts := make(map[Shelf]int, len(Shelves))
	for _, sh := range Shelves {
		counts[sh] = 0
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT shelf, count(*) FROM shelf_entries WHERE user_id = $1 GROUP BY shelf`, userID)
	if err != nil {
		return nil, fmt.Errorf("shelves: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sh string
		var n int
		if err := rows.Scan(&sh, &n); err != nil {
			return nil, fmt.Errorf("shelves: counts: %w", err)
		}
		counts[Shelf(sh)] = n
	}
	return counts, rows.Err()
}

// Sort orders a List.
type Sort string

const (
	ByAdded  Sort = "added"  // newest first
	ByTitle  Sort = "title"  // A to Z, ignoring case and accents
	ByAuthor Sort = "author" // A to Z by authors, then title
	ByRating Sort = "rating" // highest first, unrated last, then newest
)

// Sorts lists every order, the default first.
var Sorts = []Sort{ByAdded, ByTitle, ByAuthor, ByRating}

// ParseSort reads an order's name; "" is ByAdded.
func ParseSort(s string) (Sort, bool) {
	if s == "" {
		return ByAdded, true
	}
	for _, o := range Sorts {
		if string(o) == s {
			return o, true
		}
	}
	return "", false
}

// Label is the order's name as readers see it.
func (o Sort) Label() string {
	switch o {
	case ByTitle:
		return "Title"
	case ByAuthor:
		return "Author"
	case ByRating:
		return "Rating"
	}
	return "Date added"
}

// Paging of List.
const (
	DefaultPerPage = 20
	MaxPerPage     = 100
)

// ListOptions says which of a reader's books List returns.
type ListOptions struct {
	Shelf   Shelf  // "": every shelf
	Query   string // matched as the catalog's search matches (search.Matcher)
	Sort    Sort   // "": ByAdded
	Page    int    // 1-based; below 1 is 1
	PerPage int    // 0: DefaultPerPage; at most MaxPerPage
}

// List returns a page of the reader's books and how many match in all.
//
// With a query, books whose every word matches exactly come first, then
// those matching only with typos or inside longer words (the catalog's two
// tiers), each in the order asked for. Matching and ordering are done in
// Go over the reader's rows (thousands at most): the same rules as the
// catalog's search, and the same order on both backends, whose collations
// differ.
func (s *Store) List(ctx context.Context, userID int64, o ListOptions) ([]Item, int, error) {
	p, err := s.list(ctx, userID, o, false)
	return p.Items, p.Total, err
}

// Page is a page of a reader's books as Shelf's pages show it.
type Page struct {
	Items []Item
	Total int // books matching, on every page
	Page  int // the page shown
	// PastEnd: the page asked for is past the last one with books, and
	// Page is that last one.
	PastEnd bool
}

// ListPage is List for a page a reader sees: a page past the last one
// with books (a page number typed into the address, or a list that
// shrank) shows the last one instead, with PastEnd; List leaves it empty,
// which tells an API client paging on to stop. Without books, the page
// shown is the first. It reads what List reads, once.
func (s *Store) ListPage(ctx context.Context, userID int64, o ListOptions) (Page, error) {
	return s.list(ctx, userID, o, true)
}

// list is List, and ListPage when lastIfPast.
func (s *Store) list(ctx context.Context, userID int64, o ListOptions, lastIfPast bool) (Page, error) {
	if o.Shelf != "" {
		if _, ok := ParseShelf(string(o.Shelf)); !ok {
			return Page{}, ErrBadShelf
		}
	}
	sortBy, ok := ParseSort(string(o.Sort))
	if !ok {
		return Page{}, fmt.Errorf("shelves: unknown sort %q", o.Sort)
	}
	perPage := o.PerPage
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	perPage = min(perPage, MaxPerPage)
	page := max(o.Page, 1)

	q := sqlItems
	args := []any{userID}
	if o.Shelf != "" {
		q += ` AND e.shelf = $2`
		args = append(args, string(o.Shelf))
	}
	all, err := s.items(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("shelves: list: %w", err)
	}

	books := make([]catalog.Book, len(all))
	for i := range all {
		books[i] = all[i].Book
	}
	m := search.NewMatcher(o.Query, books)
	type ranked struct {
		Item
		tier           search.Tier
		title, authors string
	}
	matched := make([]ranked, 0, len(all))
	for _, it := range all {
		tier := m.Match(it.Book)
		if tier == search.NoMatch {
			continue
		}
		matched = append(matched, ranked{Item: it, tier: tier, title: search.Fold(it.Book.Title), authors: search.Fold(it.Book.Authors)})
	}
	slices.SortFunc(matched, func(a, b ranked) int {
		if c := cmp.Compare(a.tier, b.tier); c != 0 {
			return c
		}
		var c int
		switch sortBy {
		case ByTitle:
			c = cmp.Or(cmp.Compare(a.title, b.title), cmp.Compare(a.authors, b.authors))
		case ByAuthor:
			c = cmp.Or(cmp.Compare(a.authors, b.authors), cmp.Compare(a.title, b.title))
		case ByRating:
			c = cmp.Compare(b.Rating, a.Rating)
		}
		return cmp.Or(c, b.AddedAt.Compare(a.AddedAt), cmp.Compare(b.BookID, a.BookID))
	})
	p := Page{Total: len(matched), Page: page}
	if last := max(1, (p.Total+perPage-1)/perPage); lastIfPast && page > last {
		p.Page, p.PastEnd = last, p.Total > 0
	}
	from := min((p.Page-1)*perPage, p.Total)
	to := min(from+perPage, p.Total)
	p.Items = make([]Item, 0, to-from)
	for _, r := range matched[from:to] {
		r.Item.Hit = m.Highlight(r.Book)
		p.Items = append(p.Items, r.Item)
	}
	return p, nil
}

// sqlItems selects a reader's ($1) entries with their books.
const sqlItems = `SELECT e.book_id, e.shelf, e.rating, e.note, e.added_at, e.updated_at, b.id, b.title, b.authors,
		coalesce(b.year, 0), coalesce(b.isbn13, ''), b.language, coalesce(b.average_rating, 0), b.ratings_count
		FROM shelf_entries e JOIN books b ON b.id = e.book_id WHERE e.user_id = $1`

func (s *Store) items(ctx context.Context, q string, args ...any) ([]Item, error) {
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var all []Item
	for rows.Next() {
		var it Item
		b := &it.Book
		it.Entry, err = scanEntry(rows, &b.ID, &b.Title, &b.Authors, &b.Year, &b.ISBN13, &b.Language, &b.AverageRating, &b.RatingsCount)
		if err != nil {
			return nil, err
		}
		all = append(all, it)
	}
	return all, rows.Err()
}

// All returns every book on the reader's shelves, oldest added first (the
// order of a Goodreads export), in one read: an export pages through
// nothing, so its cost grows with the reader's books, not their square.
func (s *Store) All(ctx context.Context, userID int64) ([]Item, error) {
	all, err := s.items(ctx, sqlItems+` ORDER BY e.added_at, e.book_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("shelves: all: %w", err)
	}
	return all, nil
}

// onShelvesBatch bounds an IN list (both backends limit parameters).
const onShelvesBatch = 500

// OnShelves returns the reader's entries for those of bookIDs on their
// shelves.
func (s *Store) OnShelves(ctx context.Context, userID int64, bookIDs []int64) (map[int64]Entry, error) {
	out := make(map[int64]Entry, len(bookIDs))
	for len(bookIDs) > 0 {
		batch := bookIDs[:min(len(bookIDs), onShelvesBatch)]
		bookIDs = bookIDs[len(batch):]
		args := make([]any, 0, len(batch)+1)
		args = append(args, userID)
		for _, id := range batch {
			args = append(args, id)
		}
		rows, err := s.db.Read.QueryContext(ctx, `SELECT `+entryColumns+` FROM shelf_entries
			WHERE user_id = $1 AND book_id IN (`+store.Params(2, len(batch))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("shelves: on shelves: %w", err)
		}
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("shelves: on shelves: %w", err)
			}
			out[e.BookID] = e
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("shelves: on shelves: %w", err)
		}
	}
	return out, nil
}

// Import applies entries, as they should be once imported (shelf, rating,
// note and, when not zero, the date added), in one transaction, and
// returns how many rows it changed: an entry equal to what is stored
// changes nothing, so importing the same entries again returns 0. The
// first invalid entry or unknown book fails the whole import (wrapping
// ErrBadShelf, ErrBadRating, ErrNoteTooLong or ErrNoSuchBook, with the
// book's id).
func (s *Store) Import(ctx context.Context, userID int64, entries []Entry) (int, error) {
	clean := make([]Entry, len(entries))
	for i, e := range entries {
		if _, ok := ParseShelf(string(e.Shelf)); !ok {
			return 0, fmt.Errorf("book %d: %w", e.BookID, ErrBadShelf)
		}
		if e.Rating < 0 || e.Rating > MaxRating {
			return 0, fmt.Errorf("book %d: %w", e.BookID, ErrBadRating)
		}
		note, err := CheckNote(e.Note)
		if err != nil {
			return 0, fmt.Errorf("book %d: %w", e.BookID, err)
		}
		e.Note = note
		if !e.AddedAt.IsZero() {
			e.AddedAt = e.AddedAt.UTC().Truncate(time.Millisecond)
		}
		clean[i] = e
	}
	now := s.now()
	var changed int
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		changed = 0 // InTx may run this again
		for _, e := range clean {
			n, err := importEntry(ctx, tx, userID, e, now)
			if err != nil {
				return err
			}
			changed += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return changed, nil
}

// importEntry stores e unless it is stored already, and returns 1 if it
// changed a row.
func importEntry(ctx context.Context, tx *sql.Tx, userID int64, e Entry, now time.Time) (int, error) {
	old, err := scanEntry(tx.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM shelf_entries WHERE user_id = $1 AND book_id = $2`, userID, e.BookID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM books WHERE id = $1 AND `+catalog.SQLVisibleBook, e.BookID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("book %d: %w", e.BookID, ErrNoSuchBook)
		}
		if err != nil {
			return 0, fmt.Errorf("shelves: import: %w", err)
		}
		added := e.AddedAt
		if added.IsZero() {
			added = now
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO shelf_entries (user_id, book_id, shelf, rating, note, added_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, userID, e.BookID, string(e.Shelf), e.Rating, e.Note, store.FormatTime(added), store.FormatTime(now))
		if err != nil {
			return 0, fmt.Errorf("shelves: import: %w", err)
		}
		return 1, nil
	case err != nil:
		return 0, fmt.Errorf("shelves: import: %w", err)
	}
	if e.AddedAt.IsZero() {
		e.AddedAt = old.AddedAt
	}
	if old.Shelf == e.Shelf && old.Rating == e.Rating && old.Note == e.Note && old.AddedAt.Equal(e.AddedAt) {
		return 0, nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE shelf_entries SET shelf = $3, rating = $4, note = $5, added_at = $6, updated_at = $7
		WHERE user_id = $1 AND book_id = $2`, userID, e.BookID, string(e.Shelf), e.Rating, e.Note, store.FormatTime(e.AddedAt), store.FormatTime(now))
	if err != nil {
		return 0, fmt.Errorf("shelves: import: %w", err)
	}
	return 1, nil
}
