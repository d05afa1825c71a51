package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"shelf/store/catalog"
)

// runImport runs "shelf import args..." and returns the exit code and output.
func runImport(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"import"}, args...), nil, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func writeImportFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func countImportedBooks(t *testing.T, dbPath string) int64 {
	t.Helper()
	ctx := context.Background()
	db, c, err := openCatalog(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := c.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportCommandCSV(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "shelf.db")
	csv := writeImportFile(t, "books.csv", "\ufeffBook Name,Author Name,Genre\n"+
		"The Silent Patient,Alex Michaelides,Thriller\n"+
		",Nobody,Fiction\n"+ // line 3
		"Where the Crawdads Sing,Delia Owens,Fiction\n"+
		"Too,Many,Fields,Here\n"+ // line 5
		"Educated,Tara Westover,Memoir\n")

	code, out, errOut := runImport(t, "-db", dbPath, csv)
	want := "added 3 books, skipped 0 duplicates, rejected 2 rows\nline 3: empty title\nline 5: wrong number of fields: got 4, want 3\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, stdout:\n%s\nwant:\n%s\nstderr: %s", code, out, want, errOut)
	}
	code, out, _ = runImport(t, "-db", dbPath, csv)
	if code != 0 || !strings.HasPrefix(out, "added 0 books, skipped 3 duplicates, rejected 2 rows\n") {
		t.Fatalf("re-import: exit %d, stdout:\n%s", code, out)
	}
	if n := countImportedBooks(t, dbPath); n != 3 {
		t.Errorf("%d books, want 3", n)
	}

	// The environment names the database too.
	var outb, errb bytes.Buffer
	code = run(context.Background(), []string{"import", csv}, []string{"SHELF_DB=" + dbPath}, nil, &outb, &errb)
	if code != 0 || !strings.Contains(outb.String(), "skipped 3 duplicates") {
		t.Errorf("SHELF_DB: exit %d, %s%s", code, outb.String(), errb.String())
	}
}

func TestImportCommandSynthetic(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "shelf.db")
	for i, want := range []int64{50, 100} {
		code, out, errOut := runImport(t, "-db", dbPath, "--synthetic", "50")
		if code != 0 || !strings.HasPrefix(out, "added 50 synthetic books in ") {
			t.Fatalf("run %d: exit %d, stdout %q, stderr %q", i+1, code, out, errOut)
		}
		if n := countImportedBooks(t, dbPath); n != want {
			t.Fatalf("run %d: %d books, want %d (a second run appends)", i+1, n, want)
		}
	}
}

func TestImportCommandErrors(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "shelf.db")
	unknown := writeImportFile(t, "unknown.csv", "name,writer\nEmma,Jane Austen\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"-db", dbPath}, "want one CSV file, got 0"},
		{"two files", []string{"-db", dbPath, unknown, unknown}, "want one CSV file, got 2"},
		{"file and synthetic", []string{"-db", dbPath, "--synthetic", "5", unknown}, "not both"},
		{"bad synthetic", []string{"-db", dbPath, "--synthetic", "lots"}, "want a positive number"},
		{"zero synthetic", []string{"-db", dbPath, "--synthetic", "0"}, "want a positive number"},
		{"unknown flag", []string{"-db", dbPath, "--nope"}, "flag provided but not defined: -nope"},
		{"missing file", []string{"-db", dbPath, filepath.Join(dir, "missing.csv")}, "no such file"},
		{"unknown header", []string{"-db", dbPath, unknown}, `unrecognized CSV header "name,writer": want goodbooks-10k`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runImport(t, tt.args...)
			if code != 1 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errOut, tt.want)
			}
			if strings.Count(errOut, "\n") != 1 || out != "" {
				t.Errorf("want a one-line error and no output; stdout %q, stderr %q", out, errOut)
			}
		})
	}
	if code, out, _ := runImport(t, "-h"); code != 0 || !strings.Contains(out, "--synthetic N") {
		t.Errorf("-h: exit %d, stdout %q", code, out)
	}
}

func TestImportBundledIfEmpty(t *testing.T) {
	ctx := context.Background()
	db, c, err := openCatalog(ctx, filepath.Join(t.TempDir(), "shelf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := c.Import(ctx, strings.NewReader("title,author\nMine,Me\n"), catalog.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if err := importBundledIfEmpty(ctx, c, log); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Count(ctx); n != 1 || logs.Len() != 0 {
		t.Fatalf("non-empty catalog: %d books, logged %q", n, logs.String())
	}

	// An empty catalog gets the bundled one: the end-to-end tests start
	// the server on an empty database and search it.
}

// The case: an unterminated quote on line 101 of 1,000 rows used to
// swallow the 900 good rows after it, reported as "rejected 1 row".
func TestImportCommandRecoversAfterBadQuote(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "shelf.db")
	var data strings.Builder
	data.WriteString("title,author\n")
	for i := 0; i < 1000; i++ {
		if i == 99 {
			data.WriteString("\"Never closed,Someone\n") // line 101
			continue
		}
		fmt.Fprintf(&data, "Book %d,Author %d\n", i, i%13)
	}
	code, out, errOut := runImport(t, "-db", dbPath, writeImportFile(t, "books.csv", data.String()))
	want := "added 999 books, skipped 0 duplicates, rejected 1 row\nline 101: malformed CSV: extraneous or missing \" in quoted-field\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, stdout:\n%s\nwant:\n%s\nstderr: %s", code, out, want, errOut)
	}
	if n := countImportedBooks(t, dbPath); n != 999 {
		t.Errorf("%d books, want 999", n)
	}
}
