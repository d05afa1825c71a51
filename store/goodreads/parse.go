// Package goodreads reads a Goodreads library export (the CSV that
// Goodreads' "Export Library" writes), matches its books to the catalog,
// and writes a reader's shelves back out in the same format.
package goodreads

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"shelf/store/catalog"
	"shelf/store/shelves"
)

// Limits on what Parse reads. A library of 10,000 books fits in well under
// MaxFileBytes; anything larger is refused as a whole, before any row is
// applied.
const (
	MaxFileBytes  = 2 << 20 // the whole file
	MaxRows       = 10000   // data rows
	MaxRecordSize = 64 << 10
	// maxRecordLines bounds how many physical lines one quoted field may
	// span; past it the opening line is reported as broken and reading
	// goes on from the line after it.
	maxRecordLines = 50
	maxTitleLen    = 500
	maxAuthorLen   = 1000
	MaxNoteLen     = shelves.MaxNoteRunes
	// MaxProblems is how many rejected rows a Library lists; Rejected
	// counts them all.
	MaxProblems = 500
)

// exclusiveShelves maps a Goodreads export's Exclusive Shelf to a shelf.
var exclusiveShelves = map[string]shelves.Shelf{
	"to-read":           shelves.WantToRead,
	"currently-reading": shelves.Reading,
	"read":              shelves.Read,
}

// ExportShelfName is the Exclusive Shelf Goodreads names a shelf by.
func ExportShelfName(shelf shelves.Shelf) string {
	for k, v := range exclusiveShelves {
		if v == shelf {
			return k
		}
	}
	return string(shelf)
}

var (
	// ErrNotExport means the file is not a Goodreads library export at
	// all: not text, or without the columns one always has.
	ErrNotExport = errors.New("not a Goodreads library export")
	// ErrTooLarge means the file is over MaxFileBytes.
	ErrTooLarge = errors.New("file too large")
	// ErrTooManyRows means the file has over MaxRows rows.
	ErrTooManyRows = errors.New("too many rows")
)

// Row is one book of the export, validated.
type Row struct {
	Line    int    // the row's first line in the file (the header is line 1)
	BookID  string // Goodreads' Book Id, as written
	Title   string
	Author  string
	ISBN13  string // from ISBN13, else ISBN converted; "" when neither is a valid ISBN
	Rating  int    // 0 unrated, 1..5
	Shelf   shelves.Shelf
	Added   time.Time
	Note    string // Private Notes
	Unknown string // a raw ISBN that was given but is not valid, for reports
}

// Problem is one row left out and why.
type Problem struct {
	Line   int
	Title  string // what the row names, when it could be read
	Reason string
}

// Library is what Parse read.
type Library struct {
	Rows     []Row
	Rejected int       // rows left out
	Problems []Problem // the first MaxProblems of them, in file order
}

func (l *Library) reject(line int, title, reason string) {
	l.Rejected++
	if len(l.Problems) < MaxProblems {
		l.Problems = append(l.Problems, Problem{Line: line, Title: title, Reason: reason})
	}
}

type columns struct {
	bookID, title, author, isbn, isbn13, rating, shelf, added, note int
}

// Parse reads a Goodreads library export. The header names the columns,
// in any order; Title, Author and Exclusive Shelf must be among them, and
// unknown columns are ignored. A row that cannot be read or used is
// reported in Library.Problems with its line and reason and left out: it
// never stops the rest. Only a file that is not an export at all
// (ErrNotExport), too large (ErrTooLarge, ErrTooManyRows) or unreadable
// fails.
func Parse(r io.Reader) (*Library, error) {
	lim := &io.LimitedReader{R: r, N: MaxFileBytes + 1}
	rd := &records{src: bufio.NewReaderSize(lim, 64<<10)}
	header, _, err := rd.next()
	if err != nil {
		if lim.N <= 0 {
			return nil, fmt.Errorf("%w: over %d MB", ErrTooLarge, MaxFileBytes>>20)
		}
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the file is empty", ErrNotExport)
		}
		var bad *badRecord
		if errors.As(err, &bad) {
			return nil, fmt.Errorf("%w: its first line is not a CSV header (%s)", ErrNotExport, bad.reason)
		}
		return nil, err
	}
	cols, err := readHeader(header)
	if err != nil {
		return nil, err
	}
	lib := &Library{}
	rows := 0
	for {
		rec, line, err := rd.next()
		if errors.Is(err, io.EOF) {
			break
		}
		var bad *badRecord
		if errors.As(err, &bad) {
			rows++
			lib.reject(line, "", bad.reason)
		} else if err != nil {
			return nil, err
		} else {
			rows++
			row, reason := cols.row(rec)
			row.Line = line
			if reason != "" {
				lib.reject(line, row.Title, reason)
			} else {
				lib.Rows = append(lib.Rows, row)
			}
		}
		if rows > MaxRows {
			return nil, fmt.Errorf("%w: over %d", ErrTooManyRows, MaxRows)
		}
	}
	if lim.N <= 0 {
		return nil, fmt.Errorf("%w: over %d MB", ErrTooLarge, MaxFileBytes>>20)
	}
	return lib, nil
}

func readHeader(header []string) (columns, error) {
	cols := columns{-1, -1, -1, -1, -1, -1, -1, -1, -1}
	names := map[string]*int{
		"book id": &cols.bookID, "title": &cols.title, "author": &cols.author,
		"isbn": &cols.isbn, "isbn13": &cols.isbn13, "my rating": &cols.rating,
		"exclusive shelf": &cols.shelf, "date added": &cols.added, "private notes": &cols.note,
	}
	for i, h := range header {
		if !utf8.ValidString(h) || strings.ContainsRune(h, 0) {
			return cols, fmt.Errorf("%w: the file is not text", ErrNotExport)
		}
		key := strings.ToLower(strings.Join(strings.Fields(h), " "))
		if p, ok := names[key]; ok {
			if *p >= 0 {
				return cols, fmt.Errorf("%w: two %q columns", ErrNotExport, h)
			}
			*p = i
		}
	}
	var missing []string
	for _, c := range []struct {
		name string
		i    int
	}{{"Title", cols.title}, {"Author", cols.author}, {"Exclusive Shelf", cols.shelf}} {
		if c.i < 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return cols, fmt.Errorf("%w: no %s column (an export's header starts \"Book Id,Title,Author,…\")", ErrNotExport, strings.Join(missing, " or "))
	}
	return cols, nil
}

func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// row validates one record; reason says why it cannot be used.
func (c columns) row(rec []string) (Row, string) {
	var r Row
	for _, v := range rec {
		if !utf8.ValidString(v) {
			return r, "not valid UTF-8 text"
		}
	}
	r.Title = cleanText(uncell(field(rec, c.title)))
	r.Author = cleanText(uncell(field(rec, c.author)))
	r.BookID = unformula(field(rec, c.bookID))
	if n := utf8.RuneCountInString(r.Title); n > maxTitleLen {
		r.Title = truncate(r.Title, 60)
		return r, fmt.Sprintf("title too long (%d characters, at most %d)", n, maxTitleLen)
	}
	if n := utf8.RuneCountInString(r.Author); n > maxAuthorLen {
		return r, fmt.Sprintf("author too long (%d characters, at most %d)", n, maxAuthorLen)
	}
	isbn13, isbn10 := digitsOnly(unformula(field(rec, c.isbn13))), digitsOnly(unformula(field(rec, c.isbn)))
	r.ISBN13 = toISBN13(isbn13)
	if r.ISBN13 == "" {
		r.ISBN13 = toISBN13(isbn10)
	}
	if r.ISBN13 == "" && (isbn13 != "" || isbn10 != "") {
		r.Unknown = isbn13
		if r.Unknown == "" {
			r.Unknown = isbn10
		}
	}
	if r.Title == "" && r.ISBN13 == "" {
		return r, "no title and no ISBN"
	}
	switch v := unformula(field(rec, c.rating)); v {
	case "", "0":
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 5 {
			return r, fmt.Sprintf("My Rating %s is not 0 to 5", quote(v))
		}
		r.Rating = n
	}
	shelf := strings.ToLower(field(rec, c.shelf))
	switch s, ok := exclusiveShelves[shelf]; {
	case ok:
		r.Shelf = s
	case shelf == "":
		return r, "no Exclusive Shelf"
	default:
		return r, fmt.Sprintf("custom exclusive shelf %s: Shelf has only to-read, currently-reading and read", quote(shelf))
	}
	if v := field(rec, c.added); v != "" {
		t, ok := parseDate(v)
		if !ok {
			return r, fmt.Sprintf("Date Added %s is not a date (want 2015/03/24)", quote(v))
		}
		r.Added = t
	}
	r.Note = uncell(strings.TrimSpace(field(rec, c.note)))
	if n := utf8.RuneCountInString(r.Note); n > MaxNoteLen {
		return r, fmt.Sprintf("Private Notes too long (%d characters, at most %d)", n, MaxNoteLen)
	}
	return r, ""
}

// unformula undoes the spreadsheet-formula wrapping Goodreads puts around
// ISBNs: ="0446585025" is 0446585025 and ="" is empty.
func unformula(v string) string {
	if len(v) >= 3 && strings.HasPrefix(v, `="`) && strings.HasSuffix(v, `"`) {
		return strings.TrimSpace(v[2 : len(v)-1])
	}
	return v
}

// cleanText collapses runs of white space and drops control characters
// ("William  Davis" is "William Davis").
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

var isbnSeparators = strings.NewReplacer("-", "", " ", "")

func digitsOnly(s string) string {
	return strings.ToUpper(isbnSeparators.Replace(s))
}

func parseDate(v string) (time.Time, bool) {
	for _, layout := range []string{"2006/01/02", "2006-01-02", "2006/1/2"} {
		if t, err := time.Parse(layout, v); err == nil {
			if t.Year() < 1900 || t.Year() > 2200 {
				return time.Time{}, false
			}
			return t, true
		}
	}
	return time.Time{}, false
}

func quote(s string) string { return strconv.Quote(truncate(s, 40)) }

func truncate(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i] + "…"
		}
		n--
	}
	return s
}

// toISBN13 returns s as a valid ISBN-13 (an ISBN-10 converted), or "":
// the catalog's own rule.
func toISBN13(s string) string {
	if s == "" {
		return ""
	}
	isbn, problem := catalog.ParseISBN(s)
	if problem != "" {
		return ""
	}
	return isbn
}

// badRecord is a record that cannot be read as CSV.
type badRecord struct{ reason string }

func (b *badRecord) Error() string { return b.reason }

// records reads CSV records one at a time. A quoted field may run over
// several lines (reviews do), but at most maxRecordLines and MaxRecordSize:
// an unclosed quote then costs its own line, not the rest of the file.
type records struct {
	src     *bufio.Reader
	lineNo  int      // physical lines read
	pending [][]byte // lines read ahead, not yet used
	text    []byte   // the current record's lines
	feed    lineFeed // what cr reads: the current record, then io.EOF
	cr      *csv.Reader
}

// lineFeed gives a csv.Reader one record's text and then io.EOF, so one
// reader (and its buffer) serves every record.
type lineFeed struct{ rest []byte }

func (f *lineFeed) Read(p []byte) (int, error) {
	if len(f.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.rest)
	f.rest = f.rest[n:]
	return n, nil
}

func (rd *records) line() ([]byte, error) {
	if len(rd.pending) > 0 {
		l := rd.pending[0]
		rd.pending = rd.pending[1:]
		return l, nil
	}
	l, err := rd.src.ReadBytes('\n')
	if len(l) == 0 && err != nil {
		return nil, err
	}
	if len(l) > MaxRecordSize {
		l = l[:MaxRecordSize+1] // reported as too long by next
	}
	return l, nil
}

// next returns the next non-blank record and the line it starts on. A
// *badRecord error leaves out that record only.
func (rd *records) next() ([]string, int, error) {
	for {
		first, err := rd.line()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, rd.lineNo + 1, io.EOF
			}
			return nil, 0, err
		}
		rd.lineNo++
		start := rd.lineNo
		if start == 1 {
			first = bytes.TrimPrefix(first, []byte("\ufeff"))
		}
		if len(bytes.TrimSpace(first)) == 0 {
			continue
		}
		text := append(rd.text[:0], first...)
		var more [][]byte
		for bytes.Count(text, []byte{'"'})%2 == 1 {
			if len(text) > MaxRecordSize {
				break
			}
			if len(more)+1 >= maxRecordLines {
				// Give the lines back: only the first is broken.
				rd.pending = append(more, rd.pending...)
				return nil, start, &badRecord{"unclosed quote"}
			}
			l, err := rd.line()
			if err != nil {
				if errors.Is(err, io.EOF) {
					rd.pending = append(more, rd.pending...)
					return nil, start, &badRecord{"unclosed quote"}
				}
				return nil, 0, err
			}
			more = append(more, l)
			text = append(text, l...)
		}
		if len(text) > MaxRecordSize {
			if len(more) > 0 {
				rd.pending = append(more, rd.pending...)
				return nil, start, &badRecord{"unclosed quote"}
			}
			return nil, start, &badRecord{fmt.Sprintf("row longer than %d KB", MaxRecordSize>>10)}
		}
		rd.text = text
		rec, err := rd.parseRecord(text)
		if err != nil && len(more) > 0 {
			// The quote that opened a field over several lines was a
			// stray one: only its own line is lost.
			rd.pending = append(more, rd.pending...)
			return nil, start, &badRecord{"unclosed quote"}
		}
		if err != nil {
			return nil, start, err
		}
		rd.lineNo += len(more)
		return rec, start, nil
	}
}

// parseRecord parses text as exactly one CSV record.
func (rd *records) parseRecord(text []byte) ([]string, error) {
	if rd.cr == nil {
		rd.cr = csv.NewReader(&rd.feed)
		rd.cr.FieldsPerRecord = -1
	}
	rd.feed.rest = text
	rec, err := rd.cr.Read()
	if err == nil {
		if _, err2 := rd.cr.Read(); !errors.Is(err2, io.EOF) {
			err = errors.New("more than one row on the line")
		}
	}
	if err != nil {
		rd.cr = nil // it may hold what is left of text
		if pe, ok := errors.AsType[*csv.ParseError](err); ok {
			err = pe.Err
		}
		return nil, &badRecord{"malformed CSV: " + err.Error()}
	}
	return rec, nil
}
