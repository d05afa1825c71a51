package goodreads

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"shelf/store/shelves"
)

// ExportHeader is the header Export writes: Goodreads' own column names,
// those Shelf has values for.
var ExportHeader = []string{"Book Id", "Title", "Author", "Additional Authors", "ISBN", "ISBN13", "My Rating",
	"Exclusive Shelf", "Date Added", "Private Notes"}

// ExportWriter writes a reader's shelves as a Goodreads library export,
// which Parse reads back: ISBNs wrapped as ="…" as Goodreads wraps them,
// dates as 2015/03/24, the Exclusive Shelf named as Goodreads names it.
// Book Id is Shelf's id of the book.
type ExportWriter struct{ w *csv.Writer }

// NewExportWriter writes the header to w.
func NewExportWriter(w io.Writer) (*ExportWriter, error) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &ExportWriter{w: cw}, cw.Write(ExportHeader)
}

// Write writes one book.
func (x *ExportWriter) Write(it shelves.Item) error {
	authors := strings.Split(it.Book.Authors, ",")
	for i := range authors {
		authors[i] = strings.TrimSpace(authors[i])
	}
	isbn10 := ""
	if s := it.Book.ISBN13; len(s) == 13 && strings.HasPrefix(s, "978") {
		isbn10 = isbn13To10(s)
	}
	return x.w.Write([]string{
		strconv.FormatInt(it.Book.ID, 10),
		cell(it.Book.Title),
		cell(authors[0]),
		cell(strings.Join(authors[1:], ", ")),
		`="` + isbn10 + `"`,
		`="` + it.Book.ISBN13 + `"`,
		strconv.Itoa(it.Rating),
		ExportShelfName(it.Shelf),
		it.AddedAt.UTC().Format("2006/01/02"),
		cell(it.Note),
	})
}

// Flush writes what is buffered and reports any error so far.
func (x *ExportWriter) Flush() error {
	x.w.Flush()
	return x.w.Error()
}

// cell keeps a text from being run as a formula by a spreadsheet that
// opens the file: one starting with = + - @ or a tab or carriage return
// gets a leading apostrophe, which spreadsheets show as text and Parse
// takes off again.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// uncell undoes cell.
func uncell(s string) string {
	if len(s) > 1 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

// isbn13To10 returns the ISBN-10 of a 978 ISBN-13.
func isbn13To10(s string) string {
	d := s[3:12]
	sum := 0
	for i := 0; i < 9; i++ {
		sum += (10 - i) * int(d[i]-'0')
	}
	c := (11 - sum%11) % 11
	if c == 10 {
		return d + "X"
	}
	return d + string(rune('0'+c))
}

// Export writes all of the reader's shelves to w, oldest first.
func Export(ctx context.Context, st *shelves.Store, userID int64, w io.Writer) error {
	x, err := NewExportWriter(w)
	if err != nil {
		return err
	}
	all, err := st.All(ctx, userID)
	if err != nil {
		return err
	}
	for _, it := range all {
		if err := x.Write(it); err != nil {
			return err
		}
	}
	return x.Flush()
}
