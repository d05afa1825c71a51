package search

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/storetest"
)

// BenchmarkCatalogEdit measures what an admin's edit costs, search update
// included, over a synthetic catalog of SHELF_EDIT_BOOKS books (20,000
// unless set): on SQLite the edit's transaction and the vocabulary reload
// (the in-memory rebuild that follows in the background is reported as
// rebuild-ms); on PostgreSQL the edit and the index rebuilt before it
// returns.
//
//	SHELF_EDIT_BOOKS=100000 go test -run '^$' -bench CatalogEdit -benchtime 5x ./store/search
func BenchmarkCatalogEdit(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("SHELF_EDIT_BOOKS")); err == nil && v > 0 {
		n = v
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			ctx := context.Background()
			var db *store.DB
			if backend == "postgres" {
				db = storetest.OpenPostgres(b)
			} else {
				var err error
				if db, err = store.Open(ctx, filepath.Join(b.TempDir(), "shelf.db")); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { db.Close() })
			}
			c := catalog.New(db)
			start := time.Now()
			if _, err := c.ImportSynthetic(ctx, n, nil); err != nil {
				b.Fatal(err)
			}
			importTook := time.Since(start)
			s, err := New(ctx, db)
			if err != nil {
				b.Fatal(err)
			}
			stats, err := s.BuildIndex(ctx)
			if err != nil {
				b.Fatal(err)
			}
			c.SetChangeHooks(s.CatalogHooks())
			if _, err := db.Write.Exec(`INSERT INTO users (email, email_key, password_hash, created_at) VALUES ('a@example.com', 'a@example.com', 'x', '2026-01-01 00:00:00.000')`); err != nil {
				b.Fatal(err)
			}
			var admin int64
			if err := db.Read.QueryRow(`SELECT id FROM users`).Scan(&admin); err != nil {
				b.Fatal(err)
			}
			book, _, err := c.CreateBook(ctx, admin, catalog.BookInput{Title: "Quokka Atlas", Authors: "Ada Penrose"})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				title := "Quokka Atlas " + strconv.Itoa(i)
				if _, fe, err := c.UpdateBook(ctx, admin, book.ID, catalog.BookInput{Title: title, Authors: "Ada Penrose"}); err != nil || fe != nil {
					b.Fatal(fe, err)
				}
			}
			b.StopTimer()
			if r, err := s.Search(ctx, "quokka atlas "+strconv.Itoa(b.N-1), 1); err != nil || len(r.Hits) == 0 || r.Hits[0].ID != book.ID {
				b.Fatalf("the last edit is not found first: %v", err)
			}
			b.ReportMetric(float64(importTook.Milliseconds()), "import-ms")
			b.ReportMetric(float64(stats.Took.Milliseconds()), "rebuild-ms")
		})
	}
}
