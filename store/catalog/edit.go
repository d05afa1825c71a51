package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"shelf/store"
)

// BookInput is a book as an admin typed it into the form (or sent it to
// the API): strings, so that every rule about them lives here.
type BookInput struct {
	Title, Authors, ISBN, Year, Language string
}

// The fields of BookInput, as FieldErrors and the form name them.
const (
	FieldTitle    = "title"
	FieldAuthors  = "authors"
	FieldISBN     = "isbn"
	FieldYear     = "year"
	FieldLanguage = "language"
)

// BookFields lists the fields in the form's order.
var BookFields = []string{FieldTitle, FieldAuthors, FieldISBN, FieldYear, FieldLanguage}

// FieldErrors maps a field's name to what is wrong with it.
type FieldErrors map[string]string

func (fe FieldErrors) Error() string {
	var parts []string
	for _, f := range BookFields {
		if m, ok := fe[f]; ok {
			parts = append(parts, f+": "+m)
		}
	}
	return "invalid book: " + strings.Join(parts, "; ")
}

// MinEditYear is the earliest year the form takes (the oldest written
// works); the latest is next year, for books announced ahead.
const MinEditYear = -3000

// MaxEditYear is the latest year the form takes at now.
func MaxEditYear(now time.Time) int { return now.UTC().Year() + 1 }

const maxLanguageCodeLen = 35 // BCP 47's practical limit, as imports

// languageCode is a short language tag: ISO 639 ("en", "eng") with
// optional subtags ("en-US", "zh-Hant").
var languageCode = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

// CheckBookField returns what is wrong with value as the named field, or
// "" when it is fine: the rule the form checks as the admin types, the
// same one Validate applies on saving.
func CheckBookField(field, value string) string {
	_, msg := checkField(field, value, time.Now())
	return msg
}

// checkField checks one field and returns its normalized value: text
// trimmed and in NFC, the ISBN as an ISBN-13, the year as digits.
func checkField(field, value string, now time.Time) (string, string) {
	switch field {
	case FieldTitle:
		return checkText(value, "a title", "title", MaxTitleLen)
	case FieldAuthors:
		return checkText(value, "an author", "author list", MaxAuthorsLen)
	case FieldISBN:
		return ParseISBN(value)
	case FieldYear:
		return checkYear(value, now)
	case FieldLanguage:
		v := strings.TrimSpace(value)
		switch {
		case v == "":
			return "", ""
		case len(v) > maxLanguageCodeLen || !languageCode.MatchString(v):
			return "", `Use a short language code, such as "en", "eng" or "en-US".`
		}
		return v, ""
	}
	return "", "unknown field"
}

func checkText(value, what, name string, maxRunes int) (string, string) {
	// Nothing valid is longer than 4 bytes a character: reject huge input
	// before reading it through.
	if len(value) > 4*maxRunes+64 {
		return "", fmt.Sprintf("That %s is too long: at most %d characters.", name, maxRunes)
	}
	if !utf8.ValidString(value) {
		return "", fmt.Sprintf("That %s holds bytes that are not text.", name)
	}
	v := norm.NFC.String(strings.TrimSpace(value))
	if !strings.ContainsFunc(v, visible) {
		return "", fmt.Sprintf("Enter %s.", what)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return "", fmt.Sprintf("That %s holds a control character (a tab, a line break or similar).", name)
		}
	}
	if n := utf8.RuneCountInString(v); n > maxRunes {
		return "", fmt.Sprintf("That %s is too long: %d characters, at most %d.", name, n, maxRunes)
	}
	return v, ""
}

// visible reports whether r shows as something: not a space nor an
// invisible formatting character (zero-width space, direction marks).
func visible(r rune) bool {
	return unicode.IsGraphic(r) && !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r)
}

func checkYear(value string, now time.Time) (string, string) {
	v := strings.TrimSpace(value)
	if v == "" {
		return "", ""
	}
	hi := MaxEditYear(now)
	outside := fmt.Sprintf("Enter a year from %d to %d (negative for BCE), or leave it empty.", MinEditYear, hi)
	digits := strings.TrimPrefix(v, "-")
	if !isDigits(digits) {
		return "", "Enter the year as a whole number, such as 1984."
	}
	if len(digits) > 5 {
		return "", outside
	}
	y, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return "", "Enter the year as a whole number, such as 1984."
	case y == 0:
		return "", "There is no year 0: 1 BCE is followed by 1 CE. Leave it empty if unknown."
	case y < MinEditYear || y > hi:
		return "", outside
	}
	return strconv.Itoa(y), ""
}

// Validate checks every field and returns the book they make (no id, no
// ratings), or what is wrong with each field that is.
func (in BookInput) Validate() (Book, FieldErrors) {
	return in.validate(time.Now())
}

func (in BookInput) validate(now time.Time) (Book, FieldErrors) {
	var b Book
	errs := FieldErrors{}
	values := map[string]string{FieldTitle: in.Title, FieldAuthors: in.Authors, FieldISBN: in.ISBN, FieldYear: in.Year, FieldLanguage: in.Language}
	for _, f := range BookFields {
		v, msg := checkField(f, values[f], now)
		if msg != "" {
			errs[f] = msg
			continue
		}
		switch f {
		case FieldTitle:
			b.Title = v
		case FieldAuthors:
			b.Authors = v
		case FieldISBN:
			b.ISBN13 = v
		case FieldYear:
			b.Year, _ = strconv.Atoi(v) // "" stays 0: unknown
		case FieldLanguage:
			b.Language = v
		}
	}
	if len(errs) > 0 {
		return Book{}, errs
	}
	return b, nil
}

// titleKey is the dedupe key of a book without ISBN: its folded title and
// authors, as imports compute it.
func titleKey(title, authors string) string { return dedupeKey("", title, authors) }

// duplicateSuffix marks the dedupe key of a book an admin saved knowing
// that another has its title and authors: the key an import would compute
// stays the first book's, so re-importing still skips that row, and this
// one is kept apart by its id ("folded title|folded authors|#id").
const duplicateSuffix = "|#"

// Duplicates returns the books, other than exceptID, whose title and
// authors fold (as the catalog's dedupe key folds them: case, accents,
// spacing) to the ones given: the form warns of them, and saving anyway
// is allowed. It finds books without ISBN by their dedupe key, and books
// with one by their title ignoring (ASCII) case; a book with an ISBN whose
// title differs from the one typed by more than case is not found.
func (c *Catalog) Duplicates(ctx context.Context, title, authors string, exceptID int64) ([]Book, error) {
	// Only text the save would take is looked for: anything else (a NUL,
	// which PostgreSQL's text cannot hold, say) has its own field error.
	title, msg := checkField(FieldTitle, title, time.Time{})
	if msg != "" {
		return nil, nil
	}
	authors, msg = checkField(FieldAuthors, authors, time.Time{})
	if msg != "" {
		return nil, nil
	}
	key := titleKey(title, authors)
	// The deliberate duplicates' keys start with key+duplicateSuffix: a
	// range of bytes on SQLite; on PostgreSQL, whose text order follows
	// the locale, a LIKE prefix (indexed with text_pattern_ops).
	suffixed := `dedupe_key > $4 AND dedupe_key < $5`
	args := []any{key, title, exceptID, key + duplicateSuffix, key + duplicateSuffix + "\U0010FFFF"}
	if c.db.Backend == store.Postgres {
		suffixed = `dedupe_key LIKE $4`
		args = append(args[:3], likeEscaper.Replace(key+duplicateSuffix)+"%")
	}
	rows, err := c.db.Read.QueryContext(ctx, `SELECT `+SQLBookColumns+` FROM books
		WHERE (dedupe_key = $1 OR lower(title) = lower($2) OR (`+suffixed+`)) AND id <> $3 AND `+SQLVisibleBook+`
		ORDER BY id LIMIT 200`, args...)
	if err != nil {
		return nil, fmt.Errorf("find duplicates: %w", err)
	}
	defer rows.Close()
	var out []Book
	for rows.Next() {
		b, err := ScanBook(rows)
		if err != nil {
			return nil, fmt.Errorf("find duplicates: %w", err)
		}
		if titleKey(b.Title, b.Authors) == key && len(out) < 10 {
			out = append(out, b)
		}
	}
	return out, rows.Err()
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// ErrImportRunning means a book cannot be added while an import is
// publishing books: the ids it is about to use are taken.
var ErrImportRunning = errors.New("a catalog import is running; try again when it has finished")

// ErrImportClearing means a book cannot be added yet because a killed
// import left more staged books than a request may take to clear: they
// are being cleared in the background. It is an ErrImportRunning.
var ErrImportClearing = fmt.Errorf("an interrupted catalog import is being cleared away; try again in a minute (%w)", ErrImportRunning)

// clearInline is how long a request spends clearing a killed import's
// staged books before it leaves the rest to the background: a handful
// take milliseconds, a hundred thousand take a minute.
var clearInline = 2 * time.Second

// ErrUnknownUser means the acting account does not exist.
var ErrUnknownUser = errors.New("catalog: the acting account does not exist")

// ChangeHooks keep what is derived from the books in step with an admin's
// edit: package search sets them (search.Searcher.CatalogHooks).
type ChangeHooks struct {
	// InTx runs in the edit's transaction, after the books row is written;
	// before is the zero Book for a new one. It may run again if the
	// transaction is retried.
	InTx func(ctx context.Context, tx *sql.Tx, before, after Book) error
	// Committed runs once the edit is committed, before CreateBook or
	// UpdateBook returns. It cannot undo the edit: when it fails, the
	// followers of the catalog's version catch up instead.
	Committed func(ctx context.Context)
}

// SetChangeHooks installs h. Call it before the catalog is used.
func (c *Catalog) SetChangeHooks(h ChangeHooks) { c.hooks = h }

// CreateBook validates in and adds the book, recording who added it. A
// FieldErrors result means nothing was saved (an ISBN another book has is
// one). A book with the title and authors of another is saved: the form
// warned of it (Duplicates).
func (c *Catalog) CreateBook(ctx context.Context, actorUserID int64, in BookInput) (Book, FieldErrors, error) {
	b, fe := in.Validate()
	if fe != nil {
		return Book{}, fe, nil
	}
	if err := c.clearInterruptedImport(ctx); err != nil {
		return Book{}, nil, fmt.Errorf("add book: %w", err)
	}
	var saved Book
	err := c.retryCollisions(ctx, func(tx *sql.Tx) error {
		saved = b
		if err := c.checkISBNFree(ctx, tx, b.ISBN13, 0); err != nil {
			return err
		}
		var staged sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT staged_from FROM catalog_state`).Scan(&staged); err != nil {
			return err
		}
		if staged.Valid {
			return ErrImportRunning
		}
		if c.db.Backend == store.Postgres {
			// Imports number their books from max(id)+1 holding this lock;
			// edits share it.
			var got bool
			if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock_shared($1)`, int64(importLock)).Scan(&got); err != nil {
				return err
			}
			if !got {
				return ErrImportRunning
			}
		}
		var maxID int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM books`).Scan(&maxID); err != nil {
			return err
		}
		saved.ID = maxID + 1
		if saved.ID > MaxBookID {
			return ErrCatalogFull
		}
		key, err := c.freeKey(ctx, tx, saved)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO books (id, title, authors, year, isbn13, language, dedupe_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			saved.ID, saved.Title, saved.Authors, nullYear(saved.Year), nullString(saved.ISBN13), saved.Language, key)
		if err != nil {
			return err
		}
		if c.db.Backend == store.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('books', 'id'), (SELECT max(id) FROM books))`); err != nil {
				return err
			}
		}
		return c.recordChange(ctx, tx, actorUserID, Book{}, saved)
	})
	if fe := isbnTaken(err); fe != nil {
		return Book{}, fe, nil
	}
	if err != nil {
		return Book{}, nil, fmt.Errorf("add book: %w", err)
	}
	if c.hooks.Committed != nil {
		c.hooks.Committed(ctx)
	}
	return saved, nil, nil
}

// clearInterruptedImport removes, on SQLite, the books an import staged
// and never published because it was killed: a new book takes the next id,
// which they hold. While an import runs (it holds the import lock) it
// returns ErrImportRunning instead. When they take longer than clearInline
// to clear, the rest are cleared in the background, holding the import
// lock, and it returns ErrImportClearing.
func (c *Catalog) clearInterruptedImport(ctx context.Context) error {
	if c.db.Backend != store.SQLite {
		return nil
	}
	var staged sql.NullInt64
	if err := c.db.Read.QueryRowContext(ctx, `SELECT staged_from FROM catalog_state`).Scan(&staged); err != nil || !staged.Valid {
		return err
	}
	if !importLockWorks {
		return ErrImportRunning
	}
	lockCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	unlock, err := lockImports(lockCtx, c.db.Path)
	if err != nil {
		if ctx.Err() == nil && lockCtx.Err() != nil {
			return ErrImportRunning
		}
		return err
	}
	clearStaged := func(ctx context.Context) error {
		s, err := c.newStager(ctx)
		if err != nil {
			return err
		}
		defer s.close()
		return s.clearStaged(ctx)
	}
	inline, cancel := context.WithTimeout(ctx, clearInline)
	err = clearStaged(inline)
	cancel()
	if err == nil || ctx.Err() != nil || inline.Err() == nil {
		unlock()
		return err
	}
	// Each batch cleared stays cleared; the rest go on without the
	// request, which is told to come back.
	go func() {
		defer unlock()
		_ = clearStaged(context.WithoutCancel(ctx)) // on failure, the next addition tries again
	}()
	return ErrImportClearing
}

// UpdateBook validates in and replaces the book's title, authors, ISBN,
// year and language, recording who changed what. Its ratings stay. An
// unknown id is store.ErrNotFound; an edit that changes nothing records
// nothing.
func (c *Catalog) UpdateBook(ctx context.Context, actorUserID, id int64, in BookInput) (Book, FieldErrors, error) {
	b, fe := in.Validate()
	if fe != nil {
		return Book{}, fe, nil
	}
	return c.updateBook(ctx, actorUserID, id, func(Book) (Book, FieldErrors) { return b, nil })
}

// BookPatch changes some of a book's fields: those that are not nil, each
// as BookInput has it.
type BookPatch struct {
	Title, Authors, ISBN, Year, Language *string
}

// Apply returns in with the fields p sets replaced.
func (p BookPatch) Apply(in BookInput) BookInput {
	for _, f := range []struct{ from, to *string }{
		{p.Title, &in.Title}, {p.Authors, &in.Authors}, {p.ISBN, &in.ISBN}, {p.Year, &in.Year}, {p.Language, &in.Language},
	} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	return in
}

// PatchBook changes the fields of the book id that p sets and keeps the
// others as they are when it writes: it reads the book and writes it in one
// transaction, so an edit committed meanwhile is never written over with
// the values it replaced. The book it makes is validated whole, as
// UpdateBook's; the rest is as UpdateBook.
func (c *Catalog) PatchBook(ctx context.Context, actorUserID, id int64, p BookPatch) (Book, FieldErrors, error) {
	return c.updateBook(ctx, actorUserID, id, func(before Book) (Book, FieldErrors) {
		return p.Apply(before.Input()).Validate()
	})
}

// EditBook saves the form an admin opened on the book id, which then held
// was, and sent back as in: only the fields they changed are written, so
// another admin's edit of other fields, saved meanwhile, is kept. A field
// they changed that someone else has changed too since is not written over:
// the edit is refused with a FieldErrors naming it and its value now.
func (c *Catalog) EditBook(ctx context.Context, actorUserID, id int64, was, in BookInput) (Book, FieldErrors, error) {
	return c.updateBook(ctx, actorUserID, id, func(before Book) (Book, FieldErrors) {
		now := before.Input()
		var p BookPatch
		conflicts := FieldErrors{}
		for _, f := range []struct {
			name             string
			was, in, current string
			set              **string
		}{
			{FieldTitle, was.Title, in.Title, now.Title, &p.Title},
			{FieldAuthors, was.Authors, in.Authors, now.Authors, &p.Authors},
			{FieldISBN, was.ISBN, in.ISBN, now.ISBN, &p.ISBN},
			{FieldYear, was.Year, in.Year, now.Year, &p.Year},
			{FieldLanguage, was.Language, in.Language, now.Language, &p.Language},
		} {
			if f.in == f.was {
				continue // not changed in this form
			}
			if f.current != f.was && f.current != f.in {
				conflicts[f.name] = fmt.Sprintf("Someone else changed this since you opened the form: it is now “%s”. Check it and save again.", f.current)
				continue
			}
			*f.set = &f.in
		}
		if len(conflicts) > 0 {
			return Book{}, conflicts
		}
		return p.Apply(now).Validate()
	})
}

// errInvalidEdit ends an edit's transaction when the book it makes is not
// valid; the FieldErrors are returned instead.
var errInvalidEdit = errors.New("invalid edit")

// updateBook writes, in one transaction, the book edit makes of the book id
// as it is in that transaction.
func (c *Catalog) updateBook(ctx context.Context, actorUserID, id int64, edit func(before Book) (Book, FieldErrors)) (Book, FieldErrors, error) {
	var saved Book
	var invalid FieldErrors
	changed := false
	err := c.retryCollisions(ctx, func(tx *sql.Tx) error {
		before, err := ScanBook(tx.QueryRowContext(ctx, `SELECT `+SQLBookColumns+` FROM books WHERE id = $1 AND `+SQLVisibleBook, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		b, fe := edit(before)
		if invalid = fe; fe != nil {
			return errInvalidEdit
		}
		saved = before
		saved.Title, saved.Authors, saved.ISBN13, saved.Year, saved.Language = b.Title, b.Authors, b.ISBN13, b.Year, b.Language
		changed = saved != before
		if !changed {
			return nil
		}
		if err := c.checkISBNFree(ctx, tx, saved.ISBN13, id); err != nil {
			return err
		}
		key, err := c.freeKey(ctx, tx, saved)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE books SET title = $1, authors = $2, year = $3, isbn13 = $4, language = $5, dedupe_key = $6
			WHERE id = $7`,
			saved.Title, saved.Authors, nullYear(saved.Year), nullString(saved.ISBN13), saved.Language, key, id)
		if err != nil {
			return err
		}
		return c.recordChange(ctx, tx, actorUserID, before, saved)
	})
	if errors.Is(err, errInvalidEdit) {
		return Book{}, invalid, nil
	}
	if fe := isbnTaken(err); fe != nil {
		return Book{}, fe, nil
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Book{}, nil, err
		}
		return Book{}, nil, fmt.Errorf("edit book %d: %w", id, err)
	}
	if changed && c.hooks.Committed != nil {
		c.hooks.Committed(ctx)
	}
	return saved, nil, nil
}

// retryCollisions runs fn in a transaction, again when it fails on a
// unique key: on PostgreSQL two admins adding books at once may both pick
// the next id, or two edits the same dedupe key, and the one that loses
// sees the other's book when it runs again (an ISBN taken is then
// errISBNTaken).
func (c *Catalog) retryCollisions(ctx context.Context, fn func(*sql.Tx) error) error {
	var err error
	for range 3 {
		if err = c.db.InTx(ctx, fn); err == nil || !store.IsUniqueViolation(err) {
			return err
		}
	}
	return err
}

// errISBNTaken is an ISBN another book has; isbnTaken turns it into the
// form's message.
type errISBNTaken struct{ otherID int64 }

func (e errISBNTaken) Error() string { return fmt.Sprintf("ISBN taken by book %d", e.otherID) }

// DuplicateISBNMessage starts the message of an ISBN another book has.
const DuplicateISBNMessage = "Another book has this ISBN"

func isbnTaken(err error) FieldErrors {
	var taken errISBNTaken
	switch {
	case errors.As(err, &taken):
		return FieldErrors{FieldISBN: ISBNTakenMessage(taken.otherID)}
	case err != nil && store.IsUniqueViolation(err):
		// Another writer took the ISBN between the check and the write.
		return FieldErrors{FieldISBN: DuplicateISBNMessage + "."}
	}
	return nil
}

// sqlISBNOwner finds the book other than $2 with the ISBN-13 $1. Every
// book with an ISBN has it as its dedupe key (imports and edits alike),
// which is indexed.
const sqlISBNOwner = `SELECT id FROM books WHERE dedupe_key = $1 AND id <> $2`

// ISBNOwner returns the id of the book other than exceptID that has the
// ISBN-13 isbn13, or 0: the form warns of a taken ISBN as it is typed.
func (c *Catalog) ISBNOwner(ctx context.Context, isbn13 string, exceptID int64) (int64, error) {
	if isbn13 == "" {
		return 0, nil
	}
	var other int64
	err := c.db.Read.QueryRowContext(ctx, sqlISBNOwner, isbn13, exceptID).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return other, err
}

// ISBNTakenMessage is the message of an ISBN the book other has.
func ISBNTakenMessage(other int64) string {
	return fmt.Sprintf("%s (book %d).", DuplicateISBNMessage, other)
}

// checkISBNFree fails with errISBNTaken when a book other than id has
// isbn13.
func (c *Catalog) checkISBNFree(ctx context.Context, tx *sql.Tx, isbn13 string, id int64) error {
	if isbn13 == "" {
		return nil
	}
	var other int64
	err := tx.QueryRowContext(ctx, sqlISBNOwner, isbn13, id).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return errISBNTaken{other}
}

// freeKey returns the dedupe key b is stored under: its ISBN-13 when it has
// one (checked free already), else its folded title and authors, unless
// another book has those, in which case the key is made b's own with
// duplicateSuffix and its id.
func (c *Catalog) freeKey(ctx context.Context, tx *sql.Tx, b Book) (string, error) {
	if b.ISBN13 != "" {
		return b.ISBN13, nil
	}
	key := titleKey(b.Title, b.Authors)
	var other int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM books WHERE dedupe_key = $1 AND id <> $2`, key, b.ID).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return key, nil
	case err != nil:
		return "", err
	}
	return key + duplicateSuffix + strconv.FormatInt(b.ID, 10), nil
}

// recordChange writes the audit row of a change from before (the zero
// Book for a new one) to after, and marks the catalog changed.
func (c *Catalog) recordChange(ctx context.Context, tx *sql.Tx, actorUserID int64, before, after Book) error {
	var email string
	err := tx.QueryRowContext(ctx, `SELECT email FROM users WHERE id = $1`, actorUserID).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrUnknownUser
	}
	if err != nil {
		return err
	}
	was, now := fieldValues(before), fieldValues(after)
	beforeJSON, afterJSON := map[string]string{}, map[string]string{}
	for _, f := range BookFields {
		if was[f] != now[f] {
			if before.ID != 0 {
				beforeJSON[f] = was[f]
			}
			afterJSON[f] = now[f]
		}
	}
	bj, err := json.Marshal(beforeJSON)
	if err != nil {
		return err
	}
	aj, err := json.Marshal(afterJSON)
	if err != nil {
		return err
	}
	action := "edit"
	if before.ID == 0 {
		action = "create"
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO book_changes (book_id, user_id, user_email, changed_at, action, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		after.ID, actorUserID, email, store.FormatTime(c.now()), action, string(bj), string(aj))
	if err != nil {
		return err
	}
	if c.hooks.InTx != nil {
		if err := c.hooks.InTx(ctx, tx, before, after); err != nil {
			return fmt.Errorf("update the search tables: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, SQLMarkChanged); err != nil {
		return err
	}
	if c.db.Backend == store.Postgres {
		if _, err := tx.ExecContext(ctx, SQLNotifyChanged); err != nil {
			return err
		}
	}
	return nil
}

// fieldValues is b as the form's fields.
func fieldValues(b Book) map[string]string {
	year := ""
	if b.Year != 0 {
		year = strconv.Itoa(b.Year)
	}
	return map[string]string{FieldTitle: b.Title, FieldAuthors: b.Authors, FieldISBN: b.ISBN13, FieldYear: year, FieldLanguage: b.Language}
}

// Input is b as the form shows it for editing.
func (b Book) Input() BookInput {
	v := fieldValues(b)
	return BookInput{Title: v[FieldTitle], Authors: v[FieldAuthors], ISBN: v[FieldISBN], Year: v[FieldYear], Language: v[FieldLanguage]}
}

func nullYear(y int) any {
	if y == 0 {
		return nil
	}
	return y
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
