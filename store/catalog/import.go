package catalog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"shelf/store"
)

// Limits on imported rows. Longer values are rejected, not truncated.
const (
	MaxTitleLen    = 500  // characters
	MaxAuthorsLen  = 1000 // characters; anthologies list many authors
	maxLanguageLen = 35

	// MaxReportedRowErrors is how many rejected rows an ImportReport lists;
	// Rejected still counts them all.
	MaxReportedRowErrors = 100

	// maxRatingsCount keeps ratings_count << 24 inside an int64 rowid.
	maxRatingsCount = 1<<39 - 1

	minYear, maxYear = -5000, 2100

	progressEvery = 1000 // rows between Progress calls
)

var (
	// ErrUnknownHeader means the CSV header names none of the accepted formats.
	ErrUnknownHeader = errors.New("unrecognized CSV header")
	// ErrCatalogFull means an import would give a book an id above MaxBookID.
	ErrCatalogFull = errors.New("catalog full")
)

// acceptedFormats is spelled out in ErrUnknownHeader messages.
const acceptedFormats = `want goodbooks-10k (title,authors,original_publication_year,isbn13,isbn,language_code,average_rating,ratings_count; other columns ignored), ` +
	`the tutorial's "Book Name,Author Name[,Genre]", or "title,author"`

// ImportOptions tunes Import.
type ImportOptions struct {
	// Progress, when set, is called every 1,000 rows and once at the end
	// with the number of data rows read so far.
	Progress func(done int)
}

// RowError is one rejected CSV row: its line in the file (the header is
// line 1) and why it was rejected.
type RowError struct {
	Line   int
	Reason string
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ImportReport says what an import did.
type ImportReport struct {
	Read       int        // data rows read, header excluded
	Added      int        // books inserted
	Duplicates int        // rows skipped because the book was already there (or earlier in the file)
	Rejected   int        // rows rejected as invalid
	Errors     []RowError // the first MaxReportedRowErrors rejected rows
}

func (r *ImportReport) reject(line int, reason string) {
	r.Rejected++
	if len(r.Errors) < MaxReportedRowErrors {
		r.Errors = append(r.Errors, RowError{Line: line, Reason: reason})
	}
}

// optimizeAfter is how many new books make an import merge the whole
// search index into one segment (see mergeIndex).
const optimizeAfter = 5000

// Import reads books from CSV and adds those not already in the catalog.
// Accepted headers (case-insensitive, BOM tolerated) are goodbooks-10k's,
// the tutorial's "Book Name,Author Name,Genre" and "title,author[s]".
// Invalid rows are reported in the ImportReport and skipped; the rest are
// imported. Readers see all of the new books or none: an error (a read
// error, a cancelled ctx, a full catalog), or the process being killed,
// leaves the catalog as it was. An import runs beside a live server without
// holding up its writes for long (see stager and copier). A search.Searcher
// over the same database sees the new books once it is reloaded, which
// every serving process does by itself (search.Searcher.Follow).
func (c *Catalog) Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportReport, error) {
	var rep ImportReport
	p, err := newCSVBooks(r)
	if err != nil {
		return rep, err
	}
	added, dups, err := c.bulkInsert(ctx, false, func(ctx context.Context, s loader) error {
		for {
			b, line, reason, err := p.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			rep.Read++
			if reason != "" {
				rep.reject(line, reason)
			} else if err := s.add(ctx, b); err != nil {
				return err
			}
			if opts.Progress != nil && rep.Read%progressEvery == 0 {
				opts.Progress(rep.Read)
			}
		}
		if opts.Progress != nil && rep.Read%progressEvery != 0 {
			opts.Progress(rep.Read)
		}
		return nil
	})
	if err != nil {
		return ImportReport{}, fmt.Errorf("import: %w (nothing was imported)", err)
	}
	rep.Added, rep.Duplicates = added, dups
	return rep, nil
}

// bookRow is one validated book ready to insert.
type bookRow struct {
	title, authors, isbn13, language, key string
	year                                  int // 0: unknown
	rating                                float64
	hasRating                             bool
	count                                 int64
}

// loader takes an import's validated books into the database: stager on
// SQLite, copier on PostgreSQL.
type loader interface {
	// add adds b, unless a book with its dedupe key is there already.
	add(ctx context.Context, b bookRow) error
	// firstID is the id the first book added gets.
	firstID() int64
	// queryRow reads inside the import, before the first add.
	queryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error }
}

// bulkInsert runs fill, which adds the books of one import, and makes them
// visible all at once, or, on any error, not at all. With noDuplicates an
// import that meets a book already there fails instead.
func (c *Catalog) bulkInsert(ctx context.Context, noDuplicates bool, fill func(context.Context, loader) error) (added, duplicates int, err error) {
	defer func() {
		// When ctx ends, the database drivers abort the transaction and
		// close its statements at once, so the first error seen may be
		// "statement is closed": the cause to report is ctx's.
		if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
	}()
	if c.db.Backend == store.Postgres {
		return c.copyImport(ctx, noDuplicates, fill)
	}
	return c.stagedImport(ctx, noDuplicates, fill)
}

// stagedImport is bulkInsert on SQLite: it stages the books fill adds (see
// stager), merges the search index after a big import, then publishes them
// with a refreshed search vocabulary (search_terms). On any error it
// removes what it staged: readers never see a part of an import.
func (c *Catalog) stagedImport(ctx context.Context, noDuplicates bool, fill func(context.Context, loader) error) (added, duplicates int, err error) {
	unlock, err := lockImports(ctx, c.db.Path)
	if err != nil {
		return 0, 0, fmt.Errorf("lock imports: %w", err)
	}
	defer unlock()
	s, err := c.newStager(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer s.close()
	if err := s.clearStaged(ctx); err != nil {
		return 0, 0, fmt.Errorf("clear an interrupted import: %w", err)
	}
	if err := c.stageAndPublish(ctx, s, noDuplicates, fill); err != nil {
		// Nothing was published; take the staged books out again, even
		// when ctx has ended. Should that fail too, the next import will.
		if cerr := s.clearStaged(context.WithoutCancel(ctx)); cerr != nil {
			err = fmt.Errorf("%w (and clearing its staged books: %v)", err, cerr)
		}
		return 0, 0, err
	}
	return s.added, s.duplicates, nil
}

func (c *Catalog) stageAndPublish(ctx context.Context, s *stager, noDuplicates bool, fill func(context.Context, loader) error) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := fill(ctx, s); err != nil {
		return err
	}
	if err := s.flush(ctx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if noDuplicates && s.duplicates > 0 {
		return fmt.Errorf("%d dedupe keys collided", s.duplicates)
	}
	if s.added >= optimizeAfter {
		if err := s.mergeIndex(ctx); err != nil {
			return err
		}
	}
	return s.publish(ctx, s.added > 0)
}

// csvColumns holds the index of each known column, -1 when absent.
type csvColumns struct {
	title, originalTitle, authors, year, isbn13, isbn, language, rating, count int
}

// maxLineBytes bounds one CSV line; a longer one is rejected and skipped.
const maxLineBytes = 1 << 20

// csvBooks reads and validates book rows from CSV. No accepted row can hold
// a line break, so it reads the file line by line and parses each line on
// its own: a quoted field cannot run on into the next line, and a bad quote
// costs one line instead of swallowing the rest of the file.
type csvBooks struct {
	src     *bufio.Reader
	buf     []byte   // the current physical line
	lineNo  int      // its number, from 1
	line    lineFeed // what r parses: the current line, then io.EOF
	r       *csv.Reader
	cols    csvColumns
	nfields int
}

// lineFeed gives a csv.Reader one line and then io.EOF.
type lineFeed struct{ rest []byte }

func (f *lineFeed) Read(p []byte) (int, error) {
	if len(f.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.rest)
	f.rest = f.rest[n:]
	return n, nil
}

func newCSVBooks(r io.Reader) (*csvBooks, error) {
	p := &csvBooks{src: bufio.NewReaderSize(r, 64<<10)}
	p.r = csv.NewReader(&p.line)
	p.r.ReuseRecord = true
	header, line, err := p.record()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: the file is empty; %s", ErrUnknownHeader, acceptedFormats)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("%w: line %d: %v; %s", ErrUnknownHeader, line, pe.Err, acceptedFormats)
	}
	if errors.Is(err, errLineTooLong) {
		return nil, fmt.Errorf("%w: line %d: %v; %s", ErrUnknownHeader, line, err, acceptedFormats)
	}
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	cols := csvColumns{-1, -1, -1, -1, -1, -1, -1, -1, -1}
	fields := map[string]*int{
		"title": &cols.title, "book name": &cols.title,
		"original_title": &cols.originalTitle,
		"authors":        &cols.authors, "author": &cols.authors, "author name": &cols.authors,
		"original_publication_year": &cols.year, "year": &cols.year,
		"isbn13": &cols.isbn13, "isbn": &cols.isbn,
		"language_code": &cols.language, "language": &cols.language,
		"average_rating": &cols.rating, "ratings_count": &cols.count,
	}
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = h
		key := strings.ToLower(strings.TrimSpace(h))
		if p, ok := fields[key]; ok {
			if *p >= 0 {
				return nil, fmt.Errorf("%w: two columns for %q; %s", ErrUnknownHeader, key, acceptedFormats)
			}
			*p = i
		}
	}
	if cols.title < 0 || cols.authors < 0 {
		shown := strings.Join(names, ",")
		if len(shown) > 200 || !utf8.ValidString(shown) {
			shown = strconv.QuoteToASCII(truncateRunes(shown, 200))
		} else {
			shown = strconv.Quote(shown)
		}
		return nil, fmt.Errorf("%w %s: %s", ErrUnknownHeader, shown, acceptedFormats)
	}
	p.cols, p.nfields = cols, len(header)
	return p, nil
}

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i] + "…"
		}
		n--
	}
	return s
}

var errLineTooLong = fmt.Errorf("line longer than %d bytes", maxLineBytes)

// readLine reads the next physical line into p.buf, its line break
// included. A line over maxLineBytes is read to its end and reported as
// errLineTooLong; io.EOF means there are no more lines.
func (p *csvBooks) readLine() error {
	p.buf = p.buf[:0]
	tooLong := false
	for {
		chunk, err := p.src.ReadSlice('\n')
		if len(p.buf)+len(chunk) > maxLineBytes {
			tooLong = true
		} else {
			p.buf = append(p.buf, chunk...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(p.buf) == 0 && !tooLong:
			return io.EOF
		case err != nil && err != io.EOF:
			return err
		}
		p.lineNo++
		if p.lineNo == 1 {
			p.buf = bytes.TrimPrefix(p.buf, []byte("\ufeff"))
		}
		if tooLong {
			return errLineTooLong
		}
		return nil
	}
}

// record returns the CSV record on the next line that is not blank, and
// that line's number. A *csv.ParseError or errLineTooLong rejects that line
// only; io.EOF ends the file; any other error is a failure to read.
func (p *csvBooks) record() (rec []string, line int, err error) {
	for {
		if err := p.readLine(); err != nil {
			return nil, p.lineNo, err
		}
		p.line.rest = p.buf
		rec, err := p.r.Read()
		if err == io.EOF {
			continue // a blank line
		}
		return rec, p.lineNo, err
	}
}

// next returns the next row: a book, or a reason to reject the row at line.
// err is io.EOF at the end, or a failure that must abort the import.
func (p *csvBooks) next() (b bookRow, line int, reason string, err error) {
	rec, line, err := p.record()
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return b, 0, "", io.EOF
	case errors.Is(err, errLineTooLong):
		return b, line, err.Error(), nil
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
		return b, line, fmt.Sprintf("wrong number of fields: got %d, want %d", len(rec), p.nfields), nil
	case errors.As(err, &pe):
		return b, line, "malformed CSV: " + pe.Err.Error(), nil
	case err != nil:
		return b, 0, "", fmt.Errorf("read: %w", err)
	}
	b, reason = p.parse(rec)
	return b, line, reason, nil
}

func (p *csvBooks) field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// parse validates one record.
func (p *csvBooks) parse(rec []string) (bookRow, string) {
	var b bookRow
	get := func(i int, name string) (string, string) {
		v := p.field(rec, i)
		if !utf8.ValidString(v) {
			return "", "invalid UTF-8 in " + name
		}
		for _, r := range v {
			if unicode.IsControl(r) {
				return "", "control character in " + name
			}
		}
		return v, ""
	}
	var why string
	var title, orig, year, isbn13, isbn10, rating, count string
	if title, why = get(p.cols.title, "title"); why != "" {
		return b, why
	}
	if orig, why = get(p.cols.originalTitle, "original_title"); why != "" {
		return b, why
	}
	if b.authors, why = get(p.cols.authors, "authors"); why != "" {
		return b, why
	}
	if year, why = get(p.cols.year, "year"); why != "" {
		return b, why
	}
	if isbn13, why = get(p.cols.isbn13, "isbn13"); why != "" {
		return b, why
	}
	if isbn10, why = get(p.cols.isbn, "isbn"); why != "" {
		return b, why
	}
	if b.language, why = get(p.cols.language, "language"); why != "" {
		return b, why
	}
	if rating, why = get(p.cols.rating, "average rating"); why != "" {
		return b, why
	}
	if count, why = get(p.cols.count, "ratings count"); why != "" {
		return b, why
	}
	if title == "" {
		title = orig
	}
	if title == "" {
		return b, "empty title"
	}
	b.title = norm.NFC.String(title)
	b.authors = norm.NFC.String(b.authors)
	if n := utf8.RuneCountInString(b.title); n > MaxTitleLen {
		return b, fmt.Sprintf("title too long: %d characters (max %d)", n, MaxTitleLen)
	}
	if n := utf8.RuneCountInString(b.authors); n > MaxAuthorsLen {
		return b, fmt.Sprintf("authors too long: %d characters (max %d)", n, MaxAuthorsLen)
	}
	if n := utf8.RuneCountInString(b.language); n > maxLanguageLen {
		return b, fmt.Sprintf("language too long: %d characters (max %d)", n, maxLanguageLen)
	}
	if year != "" {
		y, ok := parseWhole(year)
		if !ok {
			return b, fmt.Sprintf("year %s is not a whole number", quoteShort(year))
		}
		if y < minYear || y > maxYear {
			return b, fmt.Sprintf("year %d is outside %d–%d", y, minYear, maxYear)
		}
		b.year = int(y) // 0 stays unknown: there is no year 0
	}
	if rating != "" {
		r, err := strconv.ParseFloat(rating, 64)
		if err != nil || math.IsNaN(r) || math.IsInf(r, 0) {
			return b, fmt.Sprintf("average rating %s is not a number", quoteShort(rating))
		}
		if r < 0 || r > 5 {
			return b, fmt.Sprintf("average rating %s is outside 0–5", quoteShort(rating))
		}
		b.rating, b.hasRating = r, true
	}
	if count != "" {
		n, ok := parseWhole(count)
		switch {
		case !ok:
			return b, fmt.Sprintf("ratings count %s is not a whole number", quoteShort(count))
		case n < 0:
			return b, fmt.Sprintf("negative ratings count %d", n)
		case n > maxRatingsCount:
			return b, fmt.Sprintf("ratings count %d is too large (max %d)", n, int64(maxRatingsCount))
		}
		b.count = n
	}
	b.isbn13 = recoverISBN13(isbn13, isbn10)
	b.key = dedupeKey(b.isbn13, b.title, b.authors)
	return b, ""
}

// quoteShort quotes a value for an error message, shortening long ones.
func quoteShort(s string) string {
	return strconv.Quote(truncateRunes(s, 40))
}

// parseWhole parses a whole number written as "2008" or "2008.0" (how
// pandas writes integer columns that have gaps).
func parseWhole(s string) (int64, bool) {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if strings.Trim(s[i+1:], "0") != "" {
			return 0, false
		}
		s = s[:i]
	}
	if s == "" || s == "-" || s == "+" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// dedupeKey is the ISBN-13 when known, else the folded "title|authors".
func dedupeKey(isbn13, title, authors string) string {
	if isbn13 != "" {
		return isbn13
	}
	return importKeyFold(title) + "|" + importKeyFold(authors)
}

var importStripMarks = transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

// importKeyFold lowercases s, strips accents and collapses white space, so
// "Les Misérables" and "les  miserables" get the same dedupe key.
func importKeyFold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		if t, _, err := transform.String(importStripMarks, s); err == nil {
			s = t
		}
	}
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// recoverISBN13 returns a valid ISBN-13 from the isbn13 and ISBN-10 columns,
// or "" when none can be trusted. goodbooks-10k wrote ISBN-13s as floats with
// 12 significant digits ("9.78043902348e+12"), so the check digit is lost
// and the 12th digit may have been rounded up; the ISBN-10 column, when
// valid, settles which number it was.
func recoverISBN13(isbn13, isbn10 string) string {
	from10 := isbn10To13(isbn10)
	cands := isbn13Candidates(isbn13)
	switch {
	case len(cands) == 0:
		return from10
	case from10 == "":
		if len(cands) == 1 {
			return cands[0]
		}
		return "" // ambiguous rounding and nothing to settle it
	}
	for _, c := range cands {
		if c == from10 {
			return c
		}
	}
	// The columns disagree (different editions): trust the ISBN-13 column
	// when it is unambiguous, else the valid ISBN-10.
	if len(cands) == 1 {
		return cands[0]
	}
	return from10
}

// isbn13Candidates returns the ISBN-13s the isbn13 column may stand for.
func isbn13Candidates(s string) []string {
	s = strings.NewReplacer("-", "", " ", "").Replace(s)
	if s == "" {
		return nil
	}
	if isDigits(s) {
		if len(s) == 13 && isbnPrefixOK(s) && isbn13Check(s[:12]) == s[12] {
			return []string{s}
		}
		if len(s) == 10 { // an ISBN-10 in the ISBN-13 column
			if t := isbn10To13(s); t != "" {
				return []string{t}
			}
		}
		return nil
	}
	if !strings.ContainsAny(s, ".eE") {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 9.78e12 || f >= 9.8e12 {
		return nil
	}
	v := int64(math.Round(f))
	if v%10 != 0 {
		// Written with all 13 digits after all.
		t := strconv.FormatInt(v, 10)
		if isbn13Check(t[:12]) == t[12] {
			return []string{t}
		}
		return nil
	}
	// v is the 13-digit number rounded (half to even) to 12 significant
	// digits: q*10+c with c < 5, or (q-1)*10+c with c > 5, c = 5 going to
	// the even one of q-1 and q.
	q := v / 10
	var out []string
	for _, p := range []int64{q, q - 1} {
		d := strconv.FormatInt(p, 10)
		if len(d) != 12 || !isbnPrefixOK(d) {
			continue
		}
		c := int64(isbn13Check(d) - '0')
		full := p*10 + c
		lo := full / 10 * 10 // round full to a multiple of 10, half to even
		r := full - lo
		rounded := lo
		if r > 5 || (r == 5 && (lo/10)%2 == 1) {
			rounded += 10
		}
		if rounded == v {
			out = append(out, strconv.FormatInt(full, 10))
		}
	}
	return out
}

func isbnPrefixOK(s string) bool {
	return strings.HasPrefix(s, "978") || strings.HasPrefix(s, "979")
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isbn13Check returns the check digit for the first 12 digits of an ISBN-13.
func isbn13Check(d12 string) byte {
	sum := 0
	for i := 0; i < 12; i++ {
		w := 1
		if i%2 == 1 {
			w = 3
		}
		sum += int(d12[i]-'0') * w
	}
	return byte('0' + (10-sum%10)%10)
}

// isbn10To13 converts a valid ISBN-10 (leading zeros may be missing, as
// spreadsheets drop them) to its ISBN-13, or returns "".
func isbn10To13(s string) string {
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
	if len(s) == 13 && isDigits(s) && isbnPrefixOK(s) && isbn13Check(s[:12]) == s[12] {
		return s
	}
	if len(s) < 7 || len(s) > 10 {
		return ""
	}
	s = strings.Repeat("0", 10-len(s)) + s
	if !isDigits(s[:9]) || !(isDigits(s[9:]) || s[9] == 'X') {
		return ""
	}
	sum := 0
	for i := 0; i < 10; i++ {
		v := 10
		if s[i] != 'X' {
			v = int(s[i] - '0')
		}
		sum += (10 - i) * v
	}
	if sum%11 != 0 {
		return ""
	}
	d := "978" + s[:9]
	return d + string(isbn13Check(d))
}
