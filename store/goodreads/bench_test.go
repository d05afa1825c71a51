package goodreads

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"shelf/store/shelves"
)

// libraryOfBundled writes a Goodreads export of the bundled catalog's
// first n books, every other one without its ISBN (to be matched by title
// and author), with only the first author, as Goodreads writes it.
func libraryOfBundled(tb testing.TB, l CatalogLookup, n int) []byte {
	tb.Helper()
	rows, err := l.DB.Read.Query(`SELECT title, authors, coalesce(isbn13, '') FROM books ORDER BY id LIMIT $1`, n)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"Book Id", "Title", "Author", "ISBN13", "My Rating", "Exclusive Shelf", "Date Added"})
	i := 0
	for rows.Next() {
		var title, authors, isbn string
		if err := rows.Scan(&title, &authors, &isbn); err != nil {
			tb.Fatal(err)
		}
		if i%2 == 1 {
			isbn = ""
		}
		author, _, _ := strings.Cut(authors, ",")
		_ = w.Write([]string{fmt.Sprint(i), title, author, `="` + isbn + `"`, fmt.Sprint(i % 6), []string{"read", "to-read", "currently-reading"}[i%3], "2020/01/02"})
		i++
	}
	w.Flush()
	return buf.Bytes()
}

// A library as large as the upload allows, against the bundled catalog:
// go test -run '^$' -bench Library -benchtime 1x ./store/goodreads
func BenchmarkLibrary10k(b *testing.B) {
	l := bundledLookup(&testing.T{})
	data := libraryOfBundled(b, l, MaxRows)
	b.Logf("file: %d rows, %d KB", MaxRows, len(data)>>10)
	// A serving instance searches its in-memory index.
	if _, err := l.Search.BuildIndex(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		t0 := time.Now()
		lib, err := Parse(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		parsed := time.Since(t0)
		ms, err := MatchRows(ctx, l, lib.Rows, nil)
		if err != nil {
			b.Fatal(err)
		}
		matched := time.Since(t0) - parsed
		byISBN, byTitle, not := 0, 0, 0
		for _, m := range ms {
			switch m.By {
			case ByISBN:
				byISBN++
			case ByTitleAuthor:
				byTitle++
			default:
				not++
				b.Logf("not matched: line %d %q by %q: %s", m.Line, m.Title, m.Author, m.Reason)
			}
		}
		if _, err := l.DB.Write.Exec(`INSERT INTO users (email, email_key, password_hash, created_at) VALUES ('bench@example.org', 'bench@example.org', 'x', '2026-01-01 00:00:00.000') ON CONFLICT DO NOTHING`); err != nil {
			b.Fatal(err)
		}
		var uid int64
		if err := l.DB.Read.QueryRow(`SELECT id FROM users WHERE email = 'bench@example.org'`).Scan(&uid); err != nil {
			b.Fatal(err)
		}
		im := &Importer{Jobs: NewJobs(l.DB, nil), Catalog: l, Shelves: shelves.New(l.DB, nil), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		t1 := time.Now()
		rep, err := im.apply(ctx, uid, ms)
		if err != nil {
			b.Fatal(err)
		}
		applied := time.Since(t1)
		b.Logf("parse %v, match %v (%d by ISBN, %d by title and author, %d not matched), apply %v (%d changed)",
			parsed.Round(time.Millisecond), matched.Round(time.Millisecond), byISBN, byTitle, not, applied.Round(time.Millisecond), rep.Changed)
		if _, err := l.DB.Write.Exec(`DELETE FROM shelf_entries WHERE user_id = $1`, uid); err != nil {
			b.Fatal(err)
		}
	}
}

// go test -run '^$' -bench Parse ./store/goodreads
func BenchmarkParse10k(b *testing.B) {
	data := libraryOfBundled(b, bundledLookup(&testing.T{}), MaxRows)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
