package shelves

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/storetest"
)

// clock is a test's time: each reading is one second after the last.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

var testBooks = []struct {
	id             int64
	title, authors string
}{
	{1, "Cien años de soledad", "Gabriel García Márquez"},
	{2, "The Hobbit", "J.R.R. Tolkien"},
	{3, "Harry Potter and the Philosopher's Stone", "J.K. Rowling"},
	{4, "The Lord of the Rings", "J.R.R. Tolkien"},
	{5, "anna Karenina", "Leo Tolstoy"},
	{6, "Émile", "Jean-Jacques Rousseau"},
}

// fixture opens db with the test books and two readers, ann (1) and bob (2).
func fixture(t *testing.T, db *store.DB) *Store {
	t.Helper()
	for _, b := range testBooks {
		if _, err := db.Write.Exec(`INSERT INTO books (id, title, authors, dedupe_key) VALUES ($1, $2, $3, $4)`, b.id, b.title, b.authors, fmt.Sprint("k", b.id)); err != nil {
			t.Fatal(err)
		}
	}
	for _, email := range []string{"ann@example.org", "bob@example.org"} {
		if _, err := db.Write.Exec(`INSERT INTO users (email, email_key, password_hash, created_at) VALUES ($1, $1, 'x', '2026-01-01 00:00:00.000')`, email); err != nil {
			t.Fatal(err)
		}
	}
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return New(db, c.now)
}

const ann, bob = 1, 2

func TestParse(t *testing.T) {
	for _, s := range Shelves {
		if got, ok := ParseShelf(string(s)); !ok || got != s || s.Label() == string(s) {
			t.Errorf("ParseShelf(%q) = %q, %v; label %q", s, got, ok, s.Label())
		}
	}
	for _, bad := range []string{"", "Read", "reading ", "finished"} {
		if _, ok := ParseShelf(bad); ok {
			t.Errorf("ParseShelf(%q) accepted", bad)
		}
	}
	if o, ok := ParseSort(""); !ok || o != ByAdded {
		t.Errorf(`ParseSort("") = %q, %v`, o, ok)
	}
	if _, ok := ParseSort("year"); ok {
		t.Error(`ParseSort("year") accepted`)
	}
}

func TestEntries(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := fixture(t, db)
		ctx := context.Background()

		steps := []struct {
			name string
			do   func() (Entry, error)
			err  error
			want Entry // compared without times unless noted
		}{
			{"put", func() (Entry, error) { return s.Put(ctx, ann, 2, WantToRead) }, nil, Entry{BookID: 2, Shelf: WantToRead}},
			{"put unknown book", func() (Entry, error) { return s.Put(ctx, ann, 99, Read) }, ErrNoSuchBook, Entry{}},
			{"put bad shelf", func() (Entry, error) { return s.Put(ctx, ann, 2, "finished") }, ErrBadShelf, Entry{}},
			{"rate", func() (Entry, error) { return s.SetRating(ctx, ann, 2, 4) }, nil, Entry{BookID: 2, Shelf: WantToRead, Rating: 4}},
			{"rate 6", func() (Entry, error) { return s.SetRating(ctx, ann, 2, 6) }, ErrBadRating, Entry{}},
			{"rate -1", func() (Entry, error) { return s.SetRating(ctx, ann, 2, -1) }, ErrBadRating, Entry{}},
			{"rate unshelved", func() (Entry, error) { return s.SetRating(ctx, ann, 3, 2) }, ErrNotShelved, Entry{}},
			{"note", func() (Entry, error) { return s.SetNote(ctx, ann, 2, "  Lent to Bob.\r\nAsk\x00 back.  ") }, nil, Entry{BookID: 2, Shelf: WantToRead, Rating: 4, Note: "Lent to Bob.\nAsk back."}},
			{"note too long", func() (Entry, error) { return s.SetNote(ctx, ann, 2, strings.Repeat("é", MaxNoteRunes+1)) }, ErrNoteTooLong, Entry{}},
			{"note unshelved", func() (Entry, error) { return s.SetNote(ctx, ann, 3, "x") }, ErrNotShelved, Entry{}},
			{"move keeps rating and note", func() (Entry, error) { return s.Put(ctx, ann, 2, Reading) }, nil, Entry{BookID: 2, Shelf: Reading, Rating: 4, Note: "Lent to Bob.\nAsk back."}},
			{"longest note", func() (Entry, error) { return s.SetNote(ctx, ann, 2, strings.Repeat("é", MaxNoteRunes)) }, nil, Entry{BookID: 2, Shelf: Reading, Rating: 4, Note: strings.Repeat("é", MaxNoteRunes)}},
			{"clear rating", func() (Entry, error) { return s.SetRating(ctx, ann, 2, 0) }, nil, Entry{BookID: 2, Shelf: Reading, Note: strings.Repeat("é", MaxNoteRunes)}},
			{"clear note", func() (Entry, error) { return s.SetNote(ctx, ann, 2, " ") }, nil, Entry{BookID: 2, Shelf: Reading}},
			{"bob cannot rate ann's book", func() (Entry, error) { return s.SetRating(ctx, bob, 2, 1) }, ErrNotShelved, Entry{}},
		}
		var added time.Time
		for _, st := range steps {
			got, err := st.do()
			if !errors.Is(err, st.err) {
				t.Fatalf("%s: error %v, want %v", st.name, err, st.err)
			}
			if err != nil {
				var ve *ValidationError
				if errors.As(err, &ve) && ve.Message == "" {
					t.Errorf("%s: validation error without a message", st.name)
				}
				continue
			}
			if added.IsZero() {
				added = got.AddedAt
			}
			if !got.AddedAt.Equal(added) || got.UpdatedAt.Before(got.AddedAt) {
				t.Errorf("%s: added %v (first %v), updated %v", st.name, got.AddedAt, added, got.UpdatedAt)
			}
			got.AddedAt, got.UpdatedAt = time.Time{}, time.Time{}
			if got != st.want {
				t.Errorf("%s: %+v, want %+v", st.name, got, st.want)
			}
			stored, ok, err := s.Get(ctx, ann, 2)
			stored.AddedAt, stored.UpdatedAt = time.Time{}, time.Time{}
			if err != nil || !ok || stored != st.want {
				t.Errorf("%s: stored %+v, %v, %v", st.name, stored, ok, err)
			}
		}

		// Putting a book on the shelf it is on changes nothing.
		before, _, _ := s.Get(ctx, ann, 2)
		again, err := s.Put(ctx, ann, 2, Reading)
		if err != nil || !again.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("put again: updated %v, was %v (%v)", again.UpdatedAt, before.UpdatedAt, err)
		}
		if _, ok, err := s.Get(ctx, bob, 2); ok || err != nil {
			t.Errorf("bob sees ann's entry: %v, %v", ok, err)
		}
		if removed, err := s.Remove(ctx, bob, 2); removed || err != nil {
			t.Errorf("bob removed ann's entry: %v, %v", removed, err)
		}
		if removed, err := s.Remove(ctx, ann, 2); !removed || err != nil {
			t.Errorf("remove: %v, %v", removed, err)
		}
		if removed, err := s.Remove(ctx, ann, 2); removed || err != nil {
			t.Errorf("remove again: %v, %v", removed, err)
		}
		if _, ok, err := s.Get(ctx, ann, 2); ok || err != nil {
			t.Errorf("removed entry still there: %v, %v", ok, err)
		}
	})
}

func TestUnpublishedBook(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := fixture(t, db)
		if _, err := db.Write.Exec(`UPDATE catalog_state SET staged_from = 5`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(context.Background(), ann, 5, Read); !errors.Is(err, ErrNoSuchBook) {
			t.Errorf("put a staged book: %v", err)
		}
		if _, err := s.Import(context.Background(), ann, []Entry{{BookID: 6, Shelf: Read}}); !errors.Is(err, ErrNoSuchBook) {
			t.Errorf("import a staged book: %v", err)
		}
	})
}

func TestListAndCounts(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := fixture(t, db)
		ctx := context.Background()
		// Added in this order (one second apart), on these shelves, with these ratings.
		for _, e := range []struct {
			id     int64
			shelf  Shelf
			rating int
		}{{4, Read, 5}, {1, Read, 3}, {3, Reading, 0}, {6, WantToRead, 0}, {5, Read, 5}, {2, WantToRead, 1}} {
			if _, err := s.Put(ctx, ann, e.id, e.shelf); err != nil {
				t.Fatal(err)
			}
			if e.rating > 0 {
				if _, err := s.SetRating(ctx, ann, e.id, e.rating); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := s.Put(ctx, bob, 3, Read); err != nil {
			t.Fatal(err)
		}

		counts, err := s.Counts(ctx, ann)
		if want := map[Shelf]int{WantToRead: 2, Reading: 1, Read: 3}; err != nil || !maps(counts, want) {
			t.Errorf("counts %v, %v; want %v", counts, err, want)
		}
		counts, err = s.Counts(ctx, 3) // no such reader
		if want := map[Shelf]int{WantToRead: 0, Reading: 0, Read: 0}; err != nil || !maps(counts, want) {
			t.Errorf("counts of nobody %v, %v", counts, err)
		}

		for _, tc := range []struct {
			name  string
			o     ListOptions
			want  []int64
			total int
		}{
			{"added", ListOptions{}, []int64{2, 5, 6, 3, 1, 4}, 6},
			{"added explicitly", ListOptions{Sort: ByAdded}, []int64{2, 5, 6, 3, 1, 4}, 6},
			{"title", ListOptions{Sort: ByTitle}, []int64{5, 1, 6, 3, 2, 4}, 6}, // case and accents ignored
			{"author", ListOptions{Sort: ByAuthor}, []int64{1, 3, 2, 4, 6, 5}, 6},
			{"rating", ListOptions{Sort: ByRating}, []int64{5, 4, 1, 2, 6, 3}, 6}, // ties: newest first
			{"page 1", ListOptions{PerPage: 4}, []int64{2, 5, 6, 3}, 6},
			{"page 2", ListOptions{PerPage: 4, Page: 2}, []int64{1, 4}, 6},
			{"page 3", ListOptions{PerPage: 4, Page: 3}, []int64{}, 6},
			{"page 0", ListOptions{PerPage: 4, Page: 0}, []int64{2, 5, 6, 3}, 6},
			{"read", ListOptions{Shelf: Read}, []int64{5, 1, 4}, 3},
			{"read by title", ListOptions{Shelf: Read, Sort: ByTitle}, []int64{5, 1, 4}, 3},
			{"reading", ListOptions{Shelf: Reading}, []int64{3}, 1},
			{"want to read, paged", ListOptions{Shelf: WantToRead, PerPage: 1, Page: 2}, []int64{6}, 2},
			{"query", ListOptions{Query: "tolkien"}, []int64{2, 4}, 2},
			{"query, accents", ListOptions{Query: "EMILE"}, []int64{6}, 1},
			{"query, prefix, then a typo", ListOptions{Query: "tolk", Sort: ByTitle}, []int64{2, 4, 5}, 3}, // tols(toy)
			{"query on a shelf", ListOptions{Query: "tolkien", Shelf: Read}, []int64{4}, 1},
			{"query, typo", ListOptions{Query: "tolstoi"}, []int64{5}, 1},
			{"query, exact first", ListOptions{Query: "the", Sort: ByTitle}, []int64{3, 2, 4}, 3},
			{"query, nothing", ListOptions{Query: "dune"}, []int64{}, 0},
			{"query, punctuation only", ListOptions{Query: "?!"}, []int64{2, 5, 6, 3, 1, 4}, 6},
		} {
			items, total, err := s.List(ctx, ann, tc.o)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got := []int64{}
			for _, it := range items {
				got = append(got, it.BookID)
				if it.Book.ID != it.BookID || it.Book.Title == "" {
					t.Errorf("%s: item %+v without its book", tc.name, it)
				}
			}
			if !slices.Equal(got, tc.want) || total != tc.total {
				t.Errorf("%s: %v of %d, want %v of %d", tc.name, got, total, tc.want, tc.total)
			}
		}
		items, _, err := s.List(ctx, ann, ListOptions{Query: "tolk hob"})
		if err != nil || len(items) != 1 || !items[0].Hit.TitleParts[1].Mark || !items[0].Hit.AuthorParts[1].Mark {
			t.Errorf("highlighted %+v, %v", items, err)
		}
		if _, _, err := s.List(ctx, ann, ListOptions{Shelf: "finished"}); !errors.Is(err, ErrBadShelf) {
			t.Errorf("bad shelf: %v", err)
		}
		if _, _, err := s.List(ctx, ann, ListOptions{Sort: "year"}); err == nil {
			t.Error("bad sort accepted")
		}
		items, total, err := s.List(ctx, bob, ListOptions{})
		if err != nil || total != 1 || items[0].BookID != 3 || items[0].Shelf != Read {
			t.Errorf("bob's list %+v, %d, %v", items, total, err)
		}
	})
}

// ListPage shows the last page for a page past it, where List shows none.
func TestListPage(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := fixture(t, db)
		ctx := context.Background()
		for _, id := range []int64{4, 1, 3, 6, 5, 2} { // added in this order, listed newest first
			if _, err := s.Put(ctx, ann, id, WantToRead); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Put(ctx, ann, 3, Reading); err != nil { // moved, not added again
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name     string
			o        ListOptions
			want     []int64
			page     int
			pastEnd  bool
			wantSize int
		}{
			{"page 1", ListOptions{PerPage: 4, Page: 1}, []int64{2, 5, 6, 3}, 1, false, 6},
			{"page 2, the last", ListOptions{PerPage: 4, Page: 2}, []int64{1, 4}, 2, false, 6},
			{"page 3", ListOptions{PerPage: 4, Page: 3}, []int64{1, 4}, 2, true, 6},
			{"page 99999", ListOptions{PerPage: 4, Page: 99999}, []int64{1, 4}, 2, true, 6},
			{"page 0", ListOptions{PerPage: 4, Page: 0}, []int64{2, 5, 6, 3}, 1, false, 6},
			{"exactly two pages", ListOptions{PerPage: 3, Page: 3}, []int64{3, 1, 4}, 2, true, 6},
			{"the only page", ListOptions{Shelf: Reading, Page: 2}, []int64{3}, 1, true, 1},
			{"the only page, queried", ListOptions{Query: "tolkien", Page: 7}, []int64{2, 4}, 1, true, 2},
			{"nothing matches", ListOptions{Query: "dune", Page: 3}, []int64{}, 1, false, 0},
			{"an empty shelf", ListOptions{Shelf: Read, Page: 2}, []int64{}, 1, false, 0},
		} {
			p, err := s.ListPage(ctx, ann, tc.o)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got := []int64{}
			for _, it := range p.Items {
				got = append(got, it.BookID)
			}
			if !slices.Equal(got, tc.want) || p.Page != tc.page || p.PastEnd != tc.pastEnd || p.Total != tc.wantSize {
				t.Errorf("%s: %v, page %d of %d, past the end %v; want %v, page %d of %d, past the end %v",
					tc.name, got, p.Page, p.Total, p.PastEnd, tc.want, tc.page, tc.wantSize, tc.pastEnd)
			}
		}
		if _, err := s.ListPage(ctx, ann, ListOptions{Shelf: "finished"}); !errors.Is(err, ErrBadShelf) {
			t.Errorf("bad shelf: %v", err)
		}
	})
}

func maps(a, b map[Shelf]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestOnShelves(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := fixture(t, db)
		ctx := context.Background()
		for _, p := range []struct {
			user, book int64
			shelf      Shelf
		}{{ann, 1, Read}, {ann, 3, Reading}, {bob, 2, WantToRead}, {bob, 3, Read}} {
			if _, err := s.Put(ctx, p.user, p.book, p.shelf); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			user int64
			ids  []int64
			want map[int64]Shelf
		}{
			{ann, []int64{1, 2, 3, 99}, map[int64]Shelf{1: Read, 3: Reading}},
			{bob, []int64{1, 2, 3}, map[int64]Shelf{2: WantToRead, 3: Read}},
			{bob, nil, map[int64]Shelf{}},
			{3, []int64{1, 2, 3}, map[int64]Shelf{}},
		} {
			got, err := s.OnShelves(ctx, tc.user, tc.ids)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Errorf("user %d %v: %v, want %v", tc.user, tc.ids, got, tc.want)
			}
			for id, sh := range tc.want {
				if got[id].Shelf != sh || got[id].BookID != id {
					t.Errorf("user %d book %d: %+v, want %s", tc.user, id, got[id], sh)
				}
			}
		}
		// More ids than one IN list takes.
		many := make([]int64, 2*onShelvesBatch+3)
		for i := range many {
			many[i] = int64(i + 1)
		}
		if got, err := s.OnShelves(ctx, ann, many); err != nil || len(got) != 2 {
			t.Errorf("many ids: %v, %v", got, err)
		}
	})
}

func TestImport(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := fixture(t, db)
		ctx := context.Background()
		if _, err := s.Put(ctx, ann, 1, WantToRead); err != nil {
			t.Fatal(err)
		}
		day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
		entries := []Entry{
			{BookID: 1, Shelf: Read, Rating: 4, AddedAt: day(1)},
			{BookID: 2, Shelf: WantToRead, AddedAt: day(2)},
			{BookID: 3, Shelf: Reading, Rating: 2, Note: "  gift  ", AddedAt: day(3)},
			{BookID: 4, Shelf: Read}, // no date: now
		}
		for _, tc := range []struct {
			name    string
			entries []Entry
			changed int
			err     error
		}{
			{"first", entries, 4, nil},
			{"again", entries, 0, nil},
			{"one changed", []Entry{entries[0], {BookID: 2, Shelf: Read, AddedAt: day(2)}, entries[2]}, 1, nil},
			{"date changed", []Entry{{BookID: 1, Shelf: Read, Rating: 4, AddedAt: day(9)}}, 1, nil},
			{"no date keeps the stored one", []Entry{{BookID: 1, Shelf: Read, Rating: 4}}, 0, nil},
			{"unknown book: nothing applied", []Entry{{BookID: 5, Shelf: Read}, {BookID: 99, Shelf: Read}}, 0, ErrNoSuchBook},
			{"bad shelf", []Entry{{BookID: 5, Shelf: "owned"}}, 0, ErrBadShelf},
			{"bad rating", []Entry{{BookID: 5, Shelf: Read, Rating: 7}}, 0, ErrBadRating},
			{"long note", []Entry{{BookID: 5, Shelf: Read, Note: strings.Repeat("x", MaxNoteRunes+1)}}, 0, ErrNoteTooLong},
			{"empty", nil, 0, nil},
		} {
			changed, err := s.Import(ctx, ann, tc.entries)
			if !errors.Is(err, tc.err) || changed != tc.changed {
				t.Errorf("%s: changed %d, %v; want %d, %v", tc.name, changed, err, tc.changed, tc.err)
			}
		}
		if _, ok, _ := s.Get(ctx, ann, 5); ok {
			t.Error("a failed import left book 5 on the shelves")
		}
		e, _, err := s.Get(ctx, ann, 3)
		if err != nil || e.Note != "gift" || e.Rating != 2 || e.Shelf != Reading || !e.AddedAt.Equal(day(3)) {
			t.Errorf("imported %+v, %v", e, err)
		}
		e, _, _ = s.Get(ctx, ann, 1)
		if !e.AddedAt.Equal(day(9)) || e.Shelf != Read {
			t.Errorf("re-dated %+v", e)
		}
		if counts, _ := s.Counts(ctx, bob); counts[Read]+counts[Reading]+counts[WantToRead] != 0 {
			t.Errorf("ann's import reached bob: %v", counts)
		}
	})
}
