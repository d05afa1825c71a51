package search

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/storetest"
)

// hitIDs searches s for q and returns the ids found.
func hitIDs(t *testing.T, s *Searcher, q string) []int64 {
	t.Helper()
	r, err := s.Search(context.Background(), q, 1)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	var ids []int64
	for _, h := range r.Hits {
		ids = append(ids, h.ID)
	}
	return ids
}

func found(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// waitFound waits up to limit until searching s for q finds id (or, with
// !want, no longer finds it).
func waitFound(t *testing.T, s *Searcher, q string, id int64, want bool, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for found(hitIDs(t, s, q), id) != want {
		if time.Now().After(deadline) {
			t.Fatalf("search %q: book %d found = %v after %v, want %v", q, id, !want, limit, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A book an admin adds or edits is found by the editing process's search
// as soon as CreateBook or UpdateBook returns, cached pages included, and
// by another process's within 2 s; on SQLite the in-memory index then
// catches up in the background and answers the same.
func TestEditsAreSearchableAtOnce(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			source := filepath.Join(t.TempDir(), "shelf.db")
			if backend == "postgres" {
				source = storetest.PostgresURL(t)
			}
			db, err := store.Open(ctx, source)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			c := catalog.New(db)
			if _, err := c.Import(ctx, strings.NewReader("title,author\nZebra Crossings,Paula Grey\nThe Quiet Atlas,Ann Moor\n"), catalog.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Write.Exec(`INSERT INTO users (email, email_key, password_hash, created_at) VALUES ('a@example.com', 'a@example.com', 'x', '2026-01-01 00:00:00.000')`); err != nil {
				t.Fatal(err)
			}
			var admin int64
			if err := db.Read.QueryRow(`SELECT id FROM users`).Scan(&admin); err != nil {
				t.Fatal(err)
			}

			editor, other := startFollower(t, source), startFollower(t, source)
			c.SetChangeHooks(editor.s.CatalogHooks())
			for _, q := range []string{"zebra", "quokka", "atlas"} { // fill the result caches
				hitIDs(t, editor.s, q)
				hitIDs(t, other.s, q)
			}

			b, fe, err := c.CreateBook(ctx, admin, catalog.BookInput{Title: "Quokka Zebra Atlas", Authors: "Ada Penrose"})
			if err != nil || fe != nil {
				t.Fatalf("CreateBook: %v %v", fe, err)
			}
			for _, q := range []string{"quokka", "zebra", "penrose", "quokka zebra at"} {
				if !found(hitIDs(t, editor.s, q), b.ID) {
					t.Errorf("search %q right after CreateBook misses the book", q)
				}
			}
			waitFound(t, other.s, "quokka", b.ID, true, 2*time.Second)

			if _, fe, err := c.UpdateBook(ctx, admin, b.ID, catalog.BookInput{Title: "Wombat Almanac", Authors: "Ada Penrose"}); err != nil || fe != nil {
				t.Fatalf("UpdateBook: %v %v", fe, err)
			}
			if found(hitIDs(t, editor.s, "quokka"), b.ID) || found(hitIDs(t, editor.s, "zebra"), b.ID) {
				t.Error("the old title still finds the book right after UpdateBook")
			}
			if !found(hitIDs(t, editor.s, "wombat"), b.ID) {
				t.Error("the new title misses the book right after UpdateBook")
			}
			waitFound(t, other.s, "wombat", b.ID, true, 2*time.Second)
			waitFound(t, other.s, "quokka", b.ID, false, 2*time.Second)

			if backend == "sqlite" {
				// Follow rebuilds the editor's in-memory index, which
				// then answers the same.
				deadline := time.Now().Add(5 * time.Second)
				for _, ix := editor.s.searchState(); ix == nil; _, ix = editor.s.searchState() {
					if time.Now().After(deadline) {
						t.Fatal("the in-memory index was not rebuilt after the edit")
					}
					time.Sleep(10 * time.Millisecond)
				}
				if !found(hitIDs(t, editor.s, "wombat"), b.ID) || found(hitIDs(t, editor.s, "quokka"), b.ID) {
					t.Error("the rebuilt in-memory index disagrees")
				}
				// The vocabulary kept by edits equals one rebuilt in full.
				want := termsTable(t, db)
				if err := editor.s.RefreshTerms(ctx); err != nil {
					t.Fatal(err)
				}
				if got := termsTable(t, db); got != want {
					t.Errorf("search_terms after edits:\n%s\nrebuilt:\n%s", want, got)
				}
			}
		})
	}
}

func termsTable(t *testing.T, db *store.DB) string {
	t.Helper()
	rows, err := db.Read.Query(`SELECT term, docs FROM search_terms ORDER BY term`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var term string
		var docs int
		if err := rows.Scan(&term, &docs); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d\n", term, docs)
	}
	return b.String()
}
