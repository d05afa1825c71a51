package catalog

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSyntheticIsDeterministic(t *testing.T) {
	ctx := context.Background()
	a, b := newTestCatalog(t), newTestCatalog(t)
	if n, err := a.ImportSynthetic(ctx, 300, nil); err != nil || n != 300 {
		t.Fatalf("import 300: %d, %v", n, err)
	}
	// The same 300 books in two runs: a second run appends, continuing
	// the numbering.
	var progress []int
	if n, err := b.ImportSynthetic(ctx, 100, func(done int) { progress = append(progress, done) }); err != nil || n != 100 {
		t.Fatalf("import 100: %d, %v", n, err)
	}
	if n, err := b.ImportSynthetic(ctx, 200, nil); err != nil || n != 200 {
		t.Fatalf("import 200: %d, %v", n, err)
	}
	if got, want := importedBooks(t, b), importedBooks(t, a); !reflect.DeepEqual(got, want) {
		t.Fatalf("100 + 200 synthetic books differ from 300")
	}
	if !reflect.DeepEqual(progress, []int{100}) {
		t.Errorf("progress = %v", progress)
	}
}

func TestSyntheticBooksLookReal(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t)
	const n = 2000
	if _, err := c.ImportSynthetic(ctx, n, nil); err != nil {
		t.Fatal(err)
	}
	v, err := syntheticVocabulary()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, w := range v.words {
		known[w] = true
	}
	for _, tmpl := range v.templates {
		for _, w := range tmpl {
			known[strings.TrimRight(w, ":,")] = true
		}
	}
	firsts, lasts := map[string]bool{}, map[string]bool{}
	for _, f := range v.first {
		firsts[f] = true
	}
	for _, l := range v.last {
		lasts[l] = true
	}

	books := importedBooks(t, c)
	if len(books) != n {
		t.Fatalf("%d books, want %d", len(books), n)
	}
	titles := map[string]bool{}
	var counts []int64
	var csv strings.Builder
	csv.WriteString("title,authors,original_publication_year,language_code,average_rating,ratings_count\n")
	for _, b := range books {
		titles[b.Title] = true
		counts = append(counts, b.RatingsCount)
		title := b.Title
		if i := strings.Index(title, " ("); i > 0 {
			title = title[:i]
		}
		for _, w := range strings.Fields(title) {
			if !known[strings.TrimRight(w, ":,")] {
				t.Errorf("title %q: %q is not a word from real titles", b.Title, w)
			}
		}
		for _, a := range strings.Split(b.Authors, ", ") {
			f := strings.Fields(a)
			if len(f) != 2 || !firsts[f[0]] || !lasts[f[1]] {
				t.Errorf("author %q is not a real first and last name", a)
			}
		}
		if b.Year == 0 || b.Year > 2100 || b.AverageRating < 1 || b.AverageRating > 5 || b.RatingsCount < 0 || b.ISBN13 != "" {
			t.Errorf("implausible book %+v", b)
		}
		csv.WriteString(strings.Join([]string{synthQuoteCSV(b.Title), synthQuoteCSV(b.Authors), synthItoa(b.Year), b.Language, synthFtoa(b.AverageRating), synthItoa(int(b.RatingsCount))}, ",") + "\n")
	}
	if len(titles) < n*9/10 {
		t.Errorf("only %d distinct titles in %d books", len(titles), n)
	}
	slices.Sort(counts)
	median, top := counts[n/2], counts[n-1]
	if median < 10 || median > 1000 || top < 100*median {
		t.Errorf("ratings counts: median %d, max %d; want a long tail", median, top)
	}
	// Every synthetic book would pass the CSV importer's checks.
	rep, err := newTestCatalog(t).Import(ctx, strings.NewReader(csv.String()), ImportOptions{})
	if err != nil || rep.Rejected != 0 {
		t.Fatalf("re-import: %v, %+v", err, rep.Errors)
	}
	t.Logf("e.g. %q by %s (%d), %d ratings", books[0].Title, books[0].Authors, books[0].Year, books[0].RatingsCount)
	assertImportTriggerIndexes(t, c)
}

func TestSyntheticRefusals(t *testing.T) {
	ctx := context.Background()
	c := newTestCatalog(t)
	if _, err := c.ImportSynthetic(ctx, 0, nil); err == nil {
		t.Error("0 books: no error")
	}
	if _, err := c.db.Write.Exec(`INSERT INTO books (id, title, authors, dedupe_key) VALUES ($1, 'Near the end', '', 'end')`, MaxBookID-5); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ImportSynthetic(ctx, 6, nil); !errors.Is(err, ErrCatalogFull) {
		t.Errorf("6 books past id %d: err = %v, want ErrCatalogFull", MaxBookID-5, err)
	}
	if n, err := c.ImportSynthetic(ctx, 5, nil); err != nil || n != 5 {
		t.Errorf("5 books up to MaxBookID: %d, %v", n, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.ImportSynthetic(cctx, 5, nil); err == nil {
		t.Error("cancelled: no error")
	}
	if n, _ := c.Count(ctx); n != 6 {
		t.Errorf("count = %d, want 6", n)
	}
}

func synthQuoteCSV(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func synthItoa(n int) string     { return strconv.Itoa(n) }
func synthFtoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
