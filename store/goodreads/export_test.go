package goodreads

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/shelves"
	"shelf/store/storetest"
)

func TestExportRoundTrip(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Write.Exec(`INSERT INTO books (id, title, authors, dedupe_key) VALUES (4, '=HYPERLINK("http://x")', '@Mallory, -Eve', 'formula')`); err != nil {
			t.Fatal(err)
		}
		f := newImportFixture(t, db)
		f.run(t, ann, smallLibrary)
		if _, err := f.shelves.Put(ctx, ann, 4, shelves.Reading); err != nil {
			t.Fatal(err)
		}
		if _, err := f.shelves.SetNote(ctx, ann, 4, "+1 for\nthis one"); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Export(ctx, f.shelves, ann, &buf); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, want := range []string{
			"Book Id,Title,Author,Additional Authors,ISBN,ISBN13,My Rating,Exclusive Shelf,Date Added,Private Notes\r\n",
			`1,Dune,Frank Herbert,,"=""0441172717""","=""9780441172719""",5,read,2020/01/02,Spice!` + "\r\n",
			`2,"Opal (Lux, #3)",Jennifer L. Armentrout,,"=""""","=""""",0,currently-reading,2021/02/03,` + "\r\n",
			`4,"'=HYPERLINK(""http://x"")",'@Mallory,'-Eve,"=""""","=""""",0,currently-reading,`,
			`"'+1 for` + "\r\n" + `this one"`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("export lacks %q:\n%s", want, out)
			}
		}

		// Into another account: the same shelves, ratings, notes and days.
		j := f.run(t, bob, out)
		if j.State != Done || j.Report.Added != 4 || j.Report.NotMatched != 0 || j.Report.LeftOut != 0 {
			t.Fatalf("import of the export: %+v %+v", j, j.Report)
		}
		list := func(user int64) []shelves.Item {
			items, _, err := f.shelves.List(ctx, user, shelves.ListOptions{Sort: shelves.ByTitle})
			if err != nil {
				t.Fatal(err)
			}
			return items
		}
		a, b := list(ann), list(bob)
		if len(a) != 4 || len(b) != 4 {
			t.Fatalf("ann %d, bob %d books", len(a), len(b))
		}
		for i := range a {
			x, y := a[i], b[i]
			day := func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
			if x.BookID != y.BookID || x.Shelf != y.Shelf || x.Rating != y.Rating || x.Note != y.Note || day(x.AddedAt) != day(y.AddedAt) {
				t.Errorf("ann %+v\n bob %+v", x.Entry, y.Entry)
			}
		}
		// And back into the first: nothing changes.
		if j := f.run(t, ann, out); j.Report.Changed != 0 || j.Report.Unchanged != 4 {
			t.Errorf("re-import into ann: %+v", j.Report)
		}
	})
}
